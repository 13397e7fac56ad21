"""Services and ingress (ks)."""
