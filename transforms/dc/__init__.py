"""Docker Compose (dc)."""
