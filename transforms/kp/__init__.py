"""Pods and deployments (kp)."""
