"""Security (sc)."""
