"""Family ``rapidocr``: PP-OCRv4 text reading through the ``rapidocr-onnxruntime`` package.

The package ships the real weights (text detector, recogniser and the 180-degree
direction classifier, ONNX) and runs them on ONNX Runtime, so there is nothing to pull
or export. The usual input is a licence-plate crop: a wide, short crop is one line of
text, and recognition alone reads it in about 20 ms where detection first costs 5-10
times that (the rule is in :class:`RapidOcrOptions`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import Field

from ai.runtime.catalog import CatalogEntry
from ai.runtime.device import DeviceInfo
from ai.runtime.families import FamilyOptions, ModelAdapter, first_match, register_family
from ai.runtime.families.tasks import Task, TextLine

logger = logging.getLogger(__name__)

MODEL_PATTERNS = {"det": ("*det*.onnx",), "rec": ("*rec*.onnx",), "cls": ("*cls*.onnx",)}
# The detector's input is scaled so its shorter side is at least this: the package's 736
# blows a 90-pixel plate up eightfold, which took ~0.9 s and split words into pieces,
# while 320 read the same plates whole in ~130 ms (measured on rendered plates).
DETECT_MIN_SIDE = 320

# In auto, a whole read below this is checked by detection: a two-line text in a wide
# crop reads whole as one confident-looking wrong line (0.86 for "AB12" over "CDE 345"),
# while one-line plates read whole at 0.93-0.99 (rendered plates, 15 to 260 px high).
SURE_WHOLE_READ = 0.9

Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]

_construct_lock = threading.Lock()


class RapidOcrOptions(FamilyOptions):
    """``detect_text``: "always" finds text lines first (detector, direction classifier,
    recogniser per line); "never" reads each input whole as one line (recogniser only;
    its quad is the whole input); "auto" reads a crop whole when it is at least
    ``whole_line_aspect`` times as wide as high (a one-line plate) and runs detection on
    anything else. A whole read under ``SURE_WHOLE_READ`` (or empty) is checked by
    detection too, and the more confident reading wins (a detection's confidence being
    its least confident line): that recovers two-line and upside-down text in a wide
    crop. ``min_confidence``: lines read below it are dropped, in every mode."""

    detect_text: Literal["auto", "always", "never"] = "auto"
    min_confidence: float = Field(0.5, ge=0.0, le=1.0)
    whole_line_aspect: float = Field(2.0, gt=0.0)


@register_family
class RapidOcr(ModelAdapter):
    family = "rapidocr"
    tasks = frozenset({Task.READ_TEXT})
    options_type = RapidOcrOptions
    backend = "onnxruntime"

    options: RapidOcrOptions
    engine: Any
    read_together: bool  # whole-crop reads of a batch in one recogniser call

    @classmethod
    def find_weights(cls, folder: Path) -> Path | None:
        """The folder holding the detector, recogniser and classifier ONNX files: ``folder``
        itself (a model-zoo copy) or its ``models/`` (the installed package)."""
        for candidate in (folder, folder / "models"):
            if candidate.is_dir() and all(first_match(candidate, p) for p in MODEL_PATTERNS.values()):
                return candidate
        return None

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        from ai.models.demo import ships_in_package

        raise ships_in_package(entry)

    @classmethod
    def prepare(cls, device: DeviceInfo) -> None:
        import rapidocr_onnxruntime  # noqa: F401

    def load(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        folder = self.weights if self.weights.is_dir() else self.weights.parent
        paths = {}
        for part, patterns in MODEL_PATTERNS.items():
            found = first_match(folder, patterns)
            if found is None:
                raise FileNotFoundError(f"no {part} model ({', '.join(patterns)}) in {folder}")
            paths[part] = found
        use_cuda = self.device.is_cuda and _cuda_provider()
        threads = self.backend_options.cpu_threads
        with _construct_lock, _session_options(self.backend_options.onnxruntime_spinning):
            self.engine = RapidOCR(
                text_score=0.0,  # min_confidence is applied here, to whole reads and detected lines alike
                intra_op_num_threads=threads if threads > 0 else -1,
                inter_op_num_threads=1,
                det_model_path=str(paths["det"]),
                cls_model_path=str(paths["cls"]),
                rec_model_path=str(paths["rec"]),
                det_use_cuda=use_cuda,
                cls_use_cuda=use_cuda,
                rec_use_cuda=use_cuda,
                det_limit_side_len=DETECT_MIN_SIDE,
            )
        self.backend_reason = "CUDA execution provider" if use_cuda else "CPU"
        self.read_together = use_cuda
        self.run_batch([Image.new("RGB", (160, 40), "white"), Image.new("RGB", (64, 64), "white")])  # allocate
        logger.info("%s: PP-OCR on ONNX Runtime (%s), weights in %s", self.entry.name, self.backend_reason, folder)

    def run_batch(self, inputs: list[Image.Image]) -> list[list[TextLine]]:
        """Whole-crop reads: on CUDA the batch's crops go to the recogniser in one call
        (the package sorts them by aspect and pads each chunk of 6 to its widest); on the
        CPU one call per crop, as a list of 4 or 8 plates took 30% longer than single
        calls (measured, one thread). Inputs that need detection run through the
        package's pipeline one by one: one detector pass per image, as their sizes differ.
        Two inference threads may run this at once: the ONNX sessions are thread-safe and
        the package keeps no per-call state (it is called without per-call options)."""
        images = [_bgr(item) for item in inputs]
        mode = self.options.detect_text
        whole = [i for i, image in enumerate(images) if mode == "never" or (mode == "auto" and self._wide(image))]
        results: list[list[TextLine] | None] = [None] * len(images)
        doubtful: dict[int, TextLine | None] = {}  # auto: whole reads that detection must confirm
        for i, line in zip(whole, self._read_whole([images[i] for i in whole]), strict=True):
            if mode == "never" or (line is not None and line.confidence >= SURE_WHOLE_READ):
                results[i] = [line] if line is not None else []
            else:
                doubtful[i] = line
        for i, image in enumerate(images):
            if results[i] is None:
                results[i] = _more_confident(self._detect_and_read(image), doubtful.get(i))
        return results  # type: ignore[return-value]

    def _read_whole(self, crops: list[np.ndarray]) -> list[TextLine | None]:
        if not crops:
            return []
        if self.read_together:
            reads = self.engine.text_rec(crops)[0]
        else:
            reads = [self.engine.text_rec([crop])[0][0] for crop in crops]
        return [self._line(text, score, _frame(crop)) for crop, (text, score, *_) in zip(crops, reads, strict=True)]

    def _wide(self, image: np.ndarray) -> bool:
        height, width = image.shape[:2]
        return width >= self.options.whole_line_aspect * height

    def _detect_and_read(self, image: np.ndarray) -> list[TextLine]:
        found, _ = self.engine(image, use_det=True, use_cls=True, use_rec=True)
        lines = []
        for box, text, score in found or []:
            line = self._line(text, score, _quad(box))
            if line is not None:
                lines.append(line)
        return reading_order(lines)

    def _line(self, text: str, score: float, quad: Quad) -> TextLine | None:
        text = text.strip()
        if not text or score < self.options.min_confidence:
            return None
        return TextLine(text=text, confidence=float(score), quad=quad)


def _more_confident(detected: list[TextLine], whole: TextLine | None) -> list[TextLine]:
    """The detected lines, unless the whole read is surer than their least sure line."""
    if whole is not None and (not detected or whole.confidence > min(line.confidence for line in detected)):
        return [whole]
    return detected


def reading_order(lines: list[TextLine]) -> list[TextLine]:
    """Top to bottom, left to right, words of one line joined. A line joins a row when its
    vertical span overlaps the row's first line by more than half the smaller height,
    whatever the image's scale; in a row, pieces closer than their height are one line
    (the detector splits a plate's groups, "CDE" and "345", at a wide gap)."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: _span(ln)[0]):
        top, bottom = _span(line)
        for row in rows:
            row_top, row_bottom = _span(row[0])
            overlap = min(bottom, row_bottom) - max(top, row_top)
            if overlap > 0.5 * min(bottom - top, row_bottom - row_top):
                row.append(line)
                break
        else:
            rows.append([line])
    ordered = []
    for row in rows:
        row.sort(key=lambda ln: min(x for x, _ in ln.quad))
        current = row[0]
        for line in row[1:]:
            gap = min(x for x, _ in line.quad) - max(x for x, _ in current.quad)
            if gap < min(_height(current), _height(line)):
                current = _joined(current, line)
            else:
                ordered.append(current)
                current = line
        ordered.append(current)
    return ordered


def _joined(left: TextLine, right: TextLine) -> TextLine:
    """Two pieces of one line: the outer corners of both, the less sure confidence."""
    quad = (left.quad[0], right.quad[1], right.quad[2], left.quad[3])
    return TextLine(f"{left.text} {right.text}", min(left.confidence, right.confidence), quad)


def _height(line: TextLine) -> float:
    top, bottom = _span(line)
    return bottom - top


def _span(line: TextLine) -> tuple[float, float]:
    ys = [y for _, y in line.quad]
    return min(ys), max(ys)


def _bgr(image: Image.Image) -> np.ndarray:
    """The package's models take BGR, as OpenCV reads files."""
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def _frame(image: np.ndarray) -> Quad:
    height, width = image.shape[:2]
    return ((0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height)))


def _quad(box: list[list[float]]) -> Quad:
    """The detector's box is already clockwise from top left, in input pixels."""
    (x1, y1), (x2, y2), (x3, y3), (x4, y4) = box
    return ((float(x1), float(y1)), (float(x2), float(y2)), (float(x3), float(y3)), (float(x4), float(y4)))


def _cuda_provider() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


@contextmanager
def _session_options(spinning: bool) -> Iterator[None]:
    """The package's config has no switch for ONNX Runtime's spinning, and its idle pool
    threads busy-wait after every run by default, taking CPU from the other models
    (docs/runtime.md). Its sessions are built by one static method, so while the engine is
    constructed (under a lock) that method's options get the spinning entry added."""
    from rapidocr_onnxruntime.utils.infer_engine import OrtInferSession

    original: Callable[[dict[str, Any]], Any] | None = OrtInferSession.__dict__.get("_init_sess_opts")
    if not isinstance(original, staticmethod):
        logger.warning("rapidocr_onnxruntime changed how it builds sessions; ONNX Runtime spinning left at its default")
        yield
        return
    build = original.__func__

    def with_spinning(config: dict[str, Any]) -> Any:
        options = build(config)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        return options

    OrtInferSession._init_sess_opts = staticmethod(with_spinning)
    try:
        yield
    finally:
        OrtInferSession._init_sess_opts = original
