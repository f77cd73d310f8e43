"""The booking rules, pure: no I/O, no database sessions, no Kafka (STYLE rule 1)."""
