"""Reception's rules, pure: no I/O, no database sessions, no Kafka. Each module is unit-tested
alone (tests/unit)."""
