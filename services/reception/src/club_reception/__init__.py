"""The club's reception service."""
