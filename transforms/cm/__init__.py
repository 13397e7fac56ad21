"""Common mistakes (cm)."""
