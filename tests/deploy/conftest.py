"""The whole fleet on loopback, for the monitoring test's live /metrics."""

from tests.pipeline.conftest import (  # noqa: F401  (fixtures)
    demo_models,
    detector_models,
    fleet,
    llama_server,
    llm_models,
)
