"""What every club service shares (docs/service-shape.md, docs/reliability.md): nothing
service-specific lives here."""
