"""The backend: enrichment routing client, the Model Zoo API and latency history."""
