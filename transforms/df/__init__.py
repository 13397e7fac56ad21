"""Dockerfile basics (df-001 … df-005)."""
