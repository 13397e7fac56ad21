"""Environment and config (ec)."""
