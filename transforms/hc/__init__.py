"""Health checks (hc)."""
