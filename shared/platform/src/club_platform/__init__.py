"""What every club service shares (BLUEPRINT §2, §4): nothing service-specific lives here."""
