"""CLIP service (port 8093): embeddings, zero-shot classification, anomaly scores."""
