"""Image optimization (io)."""
