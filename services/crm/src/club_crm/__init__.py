"""The club's crm service."""
