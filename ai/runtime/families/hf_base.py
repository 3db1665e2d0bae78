"""What the transformers families share: the checkpoint folder, lazy imports, loading a
processor and a model class onto the device."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ai.runtime.device import DeviceInfo
from ai.runtime.families import ModelAdapter
from ai.runtime.offline import prepare_model_libraries


def import_transformers() -> Any:
    prepare_model_libraries()
    import transformers

    transformers.utils.logging.disable_progress_bar()
    return transformers


def byte_level_symbols() -> dict[int, str]:
    """Byte -> the printable stand-in byte-level BPE (GPT-2, CLIP, BART) writes it as;
    insertion order is the vocabulary order of those tokenizers (printable bytes first)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    symbols = {b: chr(b) for b in printable}
    for extra, b in enumerate(b for b in range(256) if b not in symbols):
        symbols[b] = chr(256 + extra)
    return symbols


def hf_folder(folder: Path) -> Path | None:
    """A transformers checkpoint folder: config.json plus weights."""
    if (folder / "config.json").exists() and (
        any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin"))
    ):
        return folder
    return None


class TransformersAdapter(ModelAdapter):
    """Loads ``AutoImageProcessor`` plus the family's ``auto_model`` class from a folder."""

    auto_model: ClassVar[str]

    @classmethod
    def find_weights(cls, folder: Path) -> Path | None:
        return hf_folder(folder)

    @classmethod
    def prepare(cls, device: DeviceInfo) -> None:
        getattr(import_transformers(), cls.auto_model)  # resolves transformers' lazy module

    def load(self) -> None:
        tf = import_transformers()
        self.processor = tf.AutoImageProcessor.from_pretrained(self.weights, local_files_only=True)
        model = getattr(tf, self.auto_model).from_pretrained(self.weights, local_files_only=True)
        self.model = model.eval().to(self.device.torch_device)
