"""Family ``torchreid``: person re-identification backbones (OSNet) from torchreid.

Input is a person crop resized to the options' input size (256x128 by default);
output an L2-normalised feature vector (512-d for OSNet x0.25). Weights are a
torchreid state dict (``.pth``); classifier layers that do not match are skipped, as
torchreid itself does.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from pydantic import Field

from ai.runtime.catalog import CatalogEntry
from ai.runtime.device import DeviceInfo
from ai.runtime.families import FamilyOptions, ModelAdapter, first_match, register_family
from ai.runtime.families.tasks import Task
from ai.runtime.offline import prepare_model_libraries

logger = logging.getLogger(__name__)

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _models() -> Any:
    prepare_model_libraries()
    # torchreid prints and warns on import about its optional Cython evaluation code
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchreid.reid import models
    return models


class TorchreidOptions(FamilyOptions):
    input_height: int = Field(256, ge=16, le=1024)
    input_width: int = Field(128, ge=16, le=1024)


def preprocess(images: list[Image.Image], height: int = 256, width: int = 128) -> torch.Tensor:
    batch = []
    for image in images:
        resized = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
        array = (np.asarray(resized, dtype=np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        batch.append(torch.from_numpy(array.transpose(2, 0, 1)))
    return torch.stack(batch)


@register_family
class TorchreidAdapter(ModelAdapter):
    family = "torchreid"
    tasks = frozenset({Task.EMBED})
    options_type = TorchreidOptions
    options: TorchreidOptions

    @classmethod
    def find_weights(cls, folder: Path) -> Path | None:
        return first_match(folder, ("*.pth", "*.pth.tar", "*.pt"))

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        model = _models().build_model(entry.source_ref, num_classes=1000, pretrained=False)
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), folder / f"{entry.source_ref}.pth")

    @classmethod
    def prepare(cls, device: DeviceInfo) -> None:
        _models()

    def load(self) -> None:
        models = _models()
        from torchreid.reid.utils import load_pretrained_weights

        model = models.build_model(self.entry.source_ref, num_classes=1, pretrained=False)
        with contextlib.redirect_stdout(io.StringIO()):
            load_pretrained_weights(model, str(self.weights))
        self.model = model.eval().to(self.device.torch_device)

    def run_batch(self, inputs: list[Image.Image]) -> list[np.ndarray]:
        """One L2-normalised feature vector per image."""
        batch = preprocess(inputs, self.options.input_height, self.options.input_width).to(self.device.torch_device)
        with torch.inference_mode():
            features = self.model(batch)
        features = torch.nn.functional.normalize(features.float(), dim=1)
        return list(features.cpu().numpy())
