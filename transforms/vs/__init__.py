"""Volumes and storage (vs)."""
