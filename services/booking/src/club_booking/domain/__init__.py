"""The booking rules, pure: no I/O, no database sessions, no Kafka (docs/service-shape.md)."""
