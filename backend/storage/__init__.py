"""Persistence of the backend (latency history)."""
