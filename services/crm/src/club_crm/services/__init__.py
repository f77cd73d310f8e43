"""Use cases of the crm service, one module per aggregate: each opens no transaction itself
but runs inside the caller's (an HTTP request's or a consumed event's), loads, applies the
domain rule, saves and `publish()`es in that same transaction."""
