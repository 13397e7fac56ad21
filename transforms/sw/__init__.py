"""Docker Swarm (sw)."""
