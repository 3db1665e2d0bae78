"""Make torchvision importable when its compiled ops cannot load.

The registry's torchvision wheel is a CUDA build; beside the CPU build of torch its
``_C`` library fails to load and ``import torchvision`` dies on
``operator torchvision::nms does not exist``. That also breaks Ultralytics' NMS and
transformers' image processors. When (and only when) the native library cannot be
loaded, this module defines the ``torchvision::`` operator schemas, registers CPU
kernels for ``nms`` and ``roi_align`` written in plain torch, and reports the ops
as present. A GPU box with matching wheels loads the real library and is untouched.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

# Schemas as torchvision's C++ extension declares them (csrc/ops/*.cpp).
OP_SCHEMAS: tuple[str, ...] = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor",
    "_roi_align_backward(Tensor grad, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width, SymInt batch_size, SymInt channels, SymInt height, SymInt width, "
    "int sampling_ratio, bool aligned) -> Tensor",
    "qroi_align(Tensor input, Tensor rois, float input_scale, int input_zero_point, "
    "float rois_scale, int rois_zero_point, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor",
    "ps_roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width, int sampling_ratio) -> (Tensor, Tensor)",
    "_ps_roi_align_backward(Tensor grad, Tensor rois, Tensor channel_mapping, float spatial_scale, "
    "SymInt pooled_height, SymInt pooled_width, int sampling_ratio, SymInt batch_size, "
    "SymInt channels, SymInt height, SymInt width) -> Tensor",
    "roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width) -> (Tensor, Tensor)",
    "_roi_pool_backward(Tensor grad, Tensor rois, Tensor argmax, float spatial_scale, "
    "SymInt pooled_height, SymInt pooled_width, SymInt batch_size, SymInt channels, "
    "SymInt height, SymInt width) -> Tensor",
    "ps_roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width) -> (Tensor, Tensor)",
    "_ps_roi_pool_backward(Tensor grad, Tensor rois, Tensor channel_mapping, float spatial_scale, "
    "SymInt pooled_height, SymInt pooled_width, SymInt batch_size, SymInt channels, "
    "SymInt height, SymInt width) -> Tensor",
    "deform_conv2d(Tensor input, Tensor weight, Tensor offset, Tensor mask, Tensor bias, "
    "SymInt stride_h, SymInt stride_w, SymInt pad_h, SymInt pad_w, SymInt dilation_h, "
    "SymInt dilation_w, SymInt groups, SymInt offset_groups, bool use_mask) -> Tensor",
    "_deform_conv2d_backward(Tensor grad, Tensor input, Tensor weight, Tensor offset, "
    "Tensor mask, Tensor bias, SymInt stride_h, SymInt stride_w, SymInt pad_h, SymInt pad_w, "
    "SymInt dilation_h, SymInt dilation_w, SymInt groups, SymInt offset_groups, bool use_mask) "
    "-> (Tensor, Tensor, Tensor, Tensor, Tensor)",
    "box_iou_rotated(Tensor boxes1, Tensor boxes2) -> Tensor",
    "_cuda_version() -> int",
)

_state: dict[str, object] = {"applied": False, "library": None}
_lock = threading.Lock()  # loader threads of several managers may arrive together


def greedy_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression with torchvision's semantics.

    Returns the indices of kept boxes, by decreasing score. Each round keeps the best
    remaining box and drops the rest that overlap it by more than ``iou_threshold``,
    so the Python loop runs once per kept box, not once per box.
    """
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    boxes = boxes.float()
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    order = torch.argsort(scores, descending=True, stable=True)
    keep: list[torch.Tensor] = []
    while order.numel() > 0:
        best = order[0]
        keep.append(best)
        rest = order[1:]
        if rest.numel() == 0:
            break
        inter_w = (torch.minimum(x2[best], x2[rest]) - torch.maximum(x1[best], x1[rest])).clamp(min=0)
        inter_h = (torch.minimum(y2[best], y2[rest]) - torch.maximum(y1[best], y1[rest])).clamp(min=0)
        inter = inter_w * inter_h
        iou = inter / (areas[best] + areas[rest] - inter).clamp(min=torch.finfo(torch.float32).tiny)
        order = rest[iou <= iou_threshold]
    return torch.stack(keep)


def _roi_align_cpu(
    input: torch.Tensor,
    rois: torch.Tensor,
    spatial_scale: float,
    pooled_height: int,
    pooled_width: int,
    sampling_ratio: int,
    aligned: bool,
) -> torch.Tensor:
    # torchvision ships a pure-torch roi_align; import it lazily (it needs torchvision).
    from torchvision.ops.roi_align import _roi_align

    return _roi_align(input, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio, aligned)


def _unsupported(op: str) -> Callable[..., torch.Tensor]:
    def kernel(*_args: object, **_kwargs: object) -> torch.Tensor:
        raise NotImplementedError(
            f"torchvision::{op} has no CPU kernel in the compatibility layer; install a "
            "torchvision build that matches torch to use it"
        )

    return kernel


def native_ops_loadable(load_library: Callable[[str], None] | None = None) -> bool:
    """Whether torchvision's compiled ``_C`` library loads beside this torch."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    folder = Path(next(iter(spec.submodule_search_locations)))
    candidates = sorted(folder.glob("_C*.so")) + sorted(folder.glob("_C*.pyd"))
    if not candidates:
        return False
    loader = load_library or torch.ops.load_library
    try:
        loader(str(candidates[0]))
    except (OSError, RuntimeError, ImportError):
        return False
    return True


def _register_shim() -> None:
    lib = torch.library.Library("torchvision", "DEF")
    for schema in OP_SCHEMAS:
        lib.define(schema)
    lib.impl("nms", greedy_nms, "CPU")
    lib.impl("roi_align", _roi_align_cpu, "CPU")
    lib.impl("_cuda_version", lambda: -1, "CompositeExplicitAutograd")
    for schema in OP_SCHEMAS:
        op = schema.split("(", 1)[0]
        if op not in {"nms", "roi_align", "_cuda_version"}:
            lib.impl(op, _unsupported(op), "CPU")
    _state["library"] = lib  # the registrations live as long as this object


def ensure_torchvision(load_library: Callable[[str], None] | None = None) -> bool:
    """Import torchvision, applying the CPU shim first if its native ops fail to load.

    Returns True when the shim was applied. Idempotent and thread-safe; call it before
    every import of a library that uses torchvision.
    """
    with _lock:
        return _ensure(load_library)


def _ensure(load_library: Callable[[str], None] | None) -> bool:
    if _state["applied"]:
        return True
    if "torchvision" in sys.modules and hasattr(sys.modules["torchvision"], "ops"):
        return False
    if native_ops_loadable(load_library):
        import torchvision

        return False
    # A failed import leaves half-initialised modules behind; start clean.
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    _register_shim()
    import torchvision.extension

    torchvision.extension._has_ops = lambda: True
    import torchvision

    _state["applied"] = True
    logger.info("torchvision native ops unavailable; using the pure-torch CPU kernels for nms/roi_align")
    return True


def shim_applied() -> bool:
    """Whether this process runs torchvision on the compatibility kernels."""
    return bool(_state["applied"])
