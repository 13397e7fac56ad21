"""Networking (nw)."""
