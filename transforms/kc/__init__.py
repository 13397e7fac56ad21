"""ConfigMaps and secrets (kc)."""
