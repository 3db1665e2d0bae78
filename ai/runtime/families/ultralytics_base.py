"""Shared loading and running for Ultralytics YOLO checkpoints (detect and pose).

The ``.pt`` file is the source of truth; on CPU it is exported once to ONNX (the
fast CPU backend), on CUDA with TensorRT to an FP16 engine whose batch dimension
fits the model's ``max_batch_size``, both cached. A static ONNX graph (batch 1) runs
a batch image by image inside Ultralytics: on the CPU a batch saves per-call work,
not forward-pass work (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image
from pydantic import Field

from ai.contracts.images import Box
from ai.runtime.backends import cached_export, choose_backend, has_module
from ai.runtime.catalog import CatalogEntry
from ai.runtime.device import DeviceInfo
from ai.runtime.families import FamilyOptions, ModelAdapter, first_match
from ai.runtime.families.tasks import DetectInput, Detection
from ai.runtime.offline import prepare_model_libraries

logger = logging.getLogger(__name__)

WEIGHT_PATTERNS = ("*.pt", "weights/best.pt", "*/*.pt", "*.onnx", "*.engine")


def import_yolo() -> Any:
    """Ultralytics' YOLO class, imported offline and with torchvision working."""
    prepare_model_libraries()
    from ultralytics import YOLO

    logging.getLogger("ultralytics").setLevel(logging.WARNING)  # exports are chatty; we log the outcome
    return YOLO


def demo_labels(entry: CatalogEntry) -> list[str]:
    """The class names demo weights get; ``["coco-80"]`` means the COCO list real
    checkpoints carry (from Ultralytics' own dataset file, so no copy to drift)."""
    if entry.labels != ["coco-80"]:
        return entry.labels
    import ultralytics
    import yaml

    coco = Path(ultralytics.__file__).parent / "cfg" / "datasets" / "coco.yaml"
    names = yaml.safe_load(coco.read_text(encoding="utf-8"))["names"]
    return [names[i] for i in sorted(names)]


class UltralyticsOptions(FamilyOptions):
    input_size: int = Field(640, ge=32, le=2048, multiple_of=32, description="Square input side, pixels")
    iou: float = Field(0.7, gt=0, le=1, description="NMS IoU threshold")


class UltralyticsAdapter(ModelAdapter):
    task: ClassVar[str]
    demo_config: ClassVar[str]
    options_type = UltralyticsOptions
    options: UltralyticsOptions

    @property
    def imgsz(self) -> int:
        return self.options.input_size

    @classmethod
    def find_weights(cls, folder: Path) -> Path | None:
        return first_match(folder, WEIGHT_PATTERNS)

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        yolo_cls = import_yolo()
        model = yolo_cls(cls.demo_config)
        labels = demo_labels(entry)
        if labels:
            from ultralytics.nn.tasks import DetectionModel

            model.model = DetectionModel(cls.demo_config, nc=len(labels), verbose=False)
            model.model.names = dict(enumerate(labels))
        _calibrate_demo_head(model.model)
        folder.mkdir(parents=True, exist_ok=True)
        model.save(str(folder / f"{entry.name}.pt"))

    @classmethod
    def prepare(cls, device: DeviceInfo) -> None:
        import_yolo()
        if not device.is_cuda and has_module("onnxruntime"):
            import onnxruntime  # noqa: F401

    def load(self) -> None:
        yolo_cls = import_yolo()
        exportable = self.weights.suffix == ".pt"
        backend, reason = choose_backend(
            self.backend_options.backend, self.device, self.backend_options.use_tensorrt, exportable=exportable
        )
        path = self.weights
        if backend == "onnxruntime":
            path = self._export_onnx()
        elif backend == "tensorrt":
            path = self._export_tensorrt()
        if self.weights.suffix in {".onnx", ".engine"}:
            backend = "onnxruntime" if self.weights.suffix == ".onnx" else "tensorrt"
        self.backend = backend
        self.backend_reason = reason
        self.model = yolo_cls(str(path), task=self.task)
        if backend == "pytorch":
            self.model.to(self.device.torch_device)
        self._lock = threading.Lock()
        # Ultralytics builds its predictor (and the ONNX Runtime session or TensorRT
        # context) on the first call: do it now, inside the load and its memory reading.
        self.predict([Image.new("RGB", (self.imgsz, self.imgsz))], conf=0.5)
        if backend == "onnxruntime" and not self.device.is_cuda and not self.backend_options.onnxruntime_spinning:
            self._stop_onnxruntime_spinning(path)
        logger.info("%s runs on %s (%s)", self.entry.name, backend, reason)

    def _stop_onnxruntime_spinning(self, path: Path) -> None:
        """Reopen the ONNX Runtime session with spinning off.

        By default its pool threads busy-wait after every run, taking CPU from the
        other models and services on the machine for no work: on 2 CPUs a pose call
        used ~145 ms of CPU for ~100 ms of work, and pose next to re-ID managed half the
        pose calls per second. Without spinning one call is ~5% slower when alone.
        Ultralytics takes no session options, so the session it opened is replaced
        (on the CPU only: a CUDA session's provider options are Ultralytics' own).
        """
        import onnxruntime

        backend = getattr(getattr(self.model.predictor, "model", None), "backend", None)
        session = getattr(backend, "session", None)
        if not isinstance(session, onnxruntime.InferenceSession):
            logger.warning("%s: no ONNX Runtime session found to turn spinning off in", self.entry.name)
            return
        options = onnxruntime.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        backend.session = onnxruntime.InferenceSession(str(path), options, providers=session.get_providers())

    def _export_onnx(self, dynamic: bool = False, end2end: bool = False) -> Path:
        """The cached ONNX export; ``dynamic``: any batch size in one run; ``end2end``:
        an NMS-free head exports its one-to-one rows (``nms=False``), others are unchanged."""
        yolo_cls = import_yolo()
        flags = {"dynamic": True} if dynamic else {}
        if end2end:
            flags["nms"] = False

        def export(copy: Path) -> Path:
            exported = yolo_cls(str(copy)).export(
                format="onnx", imgsz=self.imgsz, simplify=True, verbose=False, **flags
            )
            return Path(exported)

        cache = self.backend_options.cache_dir / "onnx"
        key = [f"{self.imgsz}", *(["dyn"] if dynamic else []), *(["e2e"] if end2end else [])]
        return cached_export(self.weights, cache, key, ".onnx", export)

    def _export_tensorrt(self, end2end: bool = False) -> Path:
        """An FP16 engine; with batching on, its batch dimension is dynamic up to the
        model's ``max_batch_size`` (a static engine would run a batch image by image)."""
        yolo_cls = import_yolo()
        import tensorrt

        batch = self.backend_options.max_batch_size
        gpu = torch.cuda.get_device_name(self.device.index).replace(" ", "_")
        key = [f"{self.imgsz}", "fp16", f"b{batch}", gpu, f"trt{tensorrt.__version__}", *(["e2e"] if end2end else [])]

        def export(copy: Path) -> Path:
            exported = yolo_cls(str(copy)).export(
                format="engine",
                imgsz=self.imgsz,
                half=True,
                dynamic=batch > 1,
                batch=batch,
                device=self.device.index,
                verbose=False,
                **({"nms": False} if end2end else {}),
            )
            return Path(exported)

        return cached_export(self.weights, self.backend_options.tensorrt_cache_dir, key, ".engine", export)

    def run_batch(self, inputs: list[DetectInput]) -> list[list[Detection]]:
        """One predict over every image, at the lowest threshold and highest cap asked;
        each item then keeps what its own threshold and cap allow. A lower threshold
        only adds boxes below the others' scores, which NMS cannot let suppress them,
        so each item gets exactly what it would alone."""
        conf = min(item.confidence for item in inputs)
        max_det = max(item.max_det for item in inputs)
        images = [item.image for item in inputs]
        # An engine accepts at most the batch it was built for; a frame may bring more crops.
        step = self.backend_options.max_batch_size if self.backend == "tensorrt" else len(images)
        found = [d for i in range(0, len(images), step) for d in self.predict(images[i : i + step], conf, max_det)]
        return [
            [d for d in detections if d.confidence >= item.confidence][: item.max_det]
            for item, detections in zip(inputs, found, strict=True)
        ]

    def predict(self, images: list[Image.Image], conf: float, max_det: int = 300) -> list[list[Detection]]:
        """Detections per image, in the image's pixel coordinates, best first."""
        device = (
            self.device.torch_device
            if self.backend == "pytorch"
            else (self.device.index if self.backend == "tensorrt" else "cpu")
        )
        with self._lock:  # Ultralytics predictors keep per-call state: one call at a time
            results = self.model.predict(
                images,
                conf=conf,
                iou=self.options.iou,
                max_det=max_det,
                imgsz=self.imgsz,
                device=device,
                verbose=False,
            )
        return [self._parse(result) for result in results]

    @staticmethod
    def _parse(result: Any) -> list[Detection]:
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return []
        xyxy = boxes.xyxy.detach().cpu().float().tolist()
        confs = boxes.conf.detach().cpu().float().tolist()
        classes = boxes.cls.detach().cpu().int().tolist()
        points = result.keypoints.data.detach().cpu().float().tolist() if result.keypoints is not None else None
        detections = []
        for i, (corners, confidence, class_id) in enumerate(zip(xyxy, confs, classes, strict=True)):
            if corners[2] - corners[0] <= 0 or corners[3] - corners[1] <= 0:
                continue  # a box wholly outside the image, clamped to nothing
            keypoints = [tuple(p) if len(p) == 3 else (p[0], p[1], 1.0) for p in points[i]] if points else []
            detections.append(
                Detection(
                    label=str(result.names[class_id]),
                    class_id=class_id,
                    confidence=confidence,
                    box=Box(*corners),
                    keypoints=keypoints,
                )
            )
        return sorted(detections, key=lambda d: -d.confidence)


CALIBRATION_QUANTILE = 0.998  # anchors above this fire at ~0.3 on the calibration photo
CALIBRATION_SCORES = (0.3, 0.8)  # score at that quantile, and at the best anchor


def _final_groups(model: torch.nn.Module, branch: str) -> list[list[torch.nn.Conv2d]]:
    """Last convolutions of the head's ``cls_head`` or ``box_head`` branches, one list per
    head (an NMS-free head such as YOLO26's has a one-to-many and a one-to-one head)."""
    head = model.model[-1]
    legacy = {"cls_head": "cv3", "box_head": "cv2"}[branch]
    groups = [getattr(head, "one2many", None), getattr(head, "one2one", None)]
    heads = [g[branch] for g in groups if isinstance(g, dict) and g.get(branch) is not None]
    return [[layer[-1] for layer in branch_head] for branch_head in (heads or [getattr(head, legacy)])]


def _calibration_image() -> torch.Tensor:
    import ultralytics

    photo = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    image = Image.open(photo).convert("RGB") if photo.exists() else Image.linear_gradient("L").convert("RGB")
    array = np.asarray(image.resize((640, 640)), dtype=np.float32) / 255.0
    return torch.from_numpy(array.transpose(2, 0, 1))[None]


def _calibrate_demo_head(model: torch.nn.Module) -> None:
    """Demo weights only: make a random YOLO behave like a trained one on a photo.

    PyTorch's default init makes activations vanish through ~20 layers, so every anchor
    scores the same and every one reaches NMS (seconds of work, no real boxes). With
    variance-preserving convolutions the features depend on the image; the box layer
    is reset to near-uniform distance bins (boxes a few strides wide); the class layer
    is then scaled so that on a real photo only the top ~0.2% of anchors fire (~0.3)
    and the best reaches ~0.8: a handful of detections, as from real weights.
    """
    torch.manual_seed(0)
    for module in model.modules():
        # Frozen convolutions are fixed maths, not weights (the DFL decoder's bin indices).
        if isinstance(module, torch.nn.Conv2d) and module.weight.requires_grad:
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.ones_(module.weight)
            torch.nn.init.zeros_(module.bias)
    with torch.no_grad():
        # Near-uniform distance bins: boxes of a few strides around each anchor, never empty.
        for final in (f for group in _final_groups(model, "box_head") for f in group):
            final.weight.normal_(0.0, 0.01)
            final.bias.fill_(1.0)
    model.eval()
    for finals in _final_groups(model, "cls_head"):  # each head answers alone: calibrate each
        _calibrate_scores(model, finals)


def calibration_affine(model: torch.nn.Module, heads: list[torch.nn.Module]) -> tuple[float, float, float]:
    """(scale, shift, low) mapping the heads' logits on the calibration photo so that the
    top ~0.2% of anchors score ~0.3 and the best ~0.8: new = scale * (old - shift) + low."""
    logits: list[torch.Tensor] = []
    hooks = [h.register_forward_hook(lambda _m, _i, out: logits.append(out.detach().flatten())) for h in heads]
    with torch.no_grad():
        model(_calibration_image())
    for hook in hooks:
        hook.remove()
    values = torch.cat(logits)
    quantile, best = torch.quantile(values, CALIBRATION_QUANTILE).item(), values.max().item()
    low, high = (math.log(p / (1.0 - p)) for p in CALIBRATION_SCORES)
    return (high - low) / max(best - quantile, 1e-9), quantile, low


def _calibrate_scores(model: torch.nn.Module, finals: list[torch.nn.Conv2d]) -> None:
    with torch.no_grad():  # Ultralytics gives each stride its own training prior; measure without it
        for final in finals:
            final.bias.zero_()
    scale, quantile, low = calibration_affine(model, list(finals))
    with torch.no_grad():
        for final in finals:
            final.weight.mul_(scale)
            final.bias.fill_(low - scale * quantile)
