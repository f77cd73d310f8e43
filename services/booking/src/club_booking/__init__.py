"""The club's booking service."""
