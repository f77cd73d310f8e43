"""The club's hr service."""
