"""Family ``toy_embed``: a real (tiny) torch model in its own file format, for runtime
tests: a linear map of an image's mean colour, L2-normalised. Each forward pass costs
``pass_ms`` whatever the batch size, as on a GPU, so concurrent requests find the model
busy; an image smaller than ``min_side`` makes the pass raise, as a real model does on
an input it cannot take."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pydantic import Field

from ai.runtime.catalog import CatalogEntry
from ai.runtime.device import DeviceInfo
from ai.runtime.families import FamilyOptions, ModelAdapter, first_match, register_family
from ai.runtime.families.tasks import Task


class ToyEmbedOptions(FamilyOptions):
    min_side: int = Field(1, ge=1)
    pass_ms: float = Field(0.0, ge=0, le=5000)


@register_family
class ToyEmbed(ModelAdapter):
    family = "toy_embed"
    tasks = frozenset({Task.EMBED})
    options_type = ToyEmbedOptions
    options: ToyEmbedOptions

    @classmethod
    def find_weights(cls, folder: Path) -> Path | None:
        return first_match(folder, ("*.pt",))

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        torch.manual_seed(0)
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(torch.nn.Linear(3, 4).state_dict(), folder / "toy.pt")

    @classmethod
    def prepare(cls, device: DeviceInfo) -> None:
        """Nothing to import beyond torch."""

    def load(self) -> None:
        model = torch.nn.Linear(3, 4)
        model.load_state_dict(torch.load(self.weights, weights_only=True))
        self.model = model.eval()

    def run_batch(self, inputs: list[Image.Image]) -> list[np.ndarray]:
        for image in inputs:
            if min(image.size) < self.options.min_side:
                raise ValueError(f"an image of {image.size} is below the model's minimum side {self.options.min_side}")
        colours = torch.tensor(np.stack([np.asarray(i, dtype=np.float32).mean(axis=(0, 1)) / 255.0 for i in inputs]))
        time.sleep(self.options.pass_ms / 1000.0)
        with torch.inference_mode():
            vectors = torch.nn.functional.normalize(self.model(colours), dim=1)
        return list(vectors.numpy())
