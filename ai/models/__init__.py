"""Operator tools for model weights: ``python -m ai.models list|make-demo|pull``."""
