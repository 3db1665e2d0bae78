"""Family ``rapidocr`` on the real PP-OCRv4 weights that ship in ``rapidocr-onnxruntime``:
rendered plates read back exactly, whole or through detection, two-line text in reading
order, blank input reads nothing, a batch equals single runs; and the weights are found in
the installed package, never as demo weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from ai.models.demo import DemoError, write_demo_weights
from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import CatalogEntry, CatalogError, load_catalog
from ai.runtime.device import select_device
from ai.runtime.families.rapidocr import RapidOcr, reading_order
from ai.runtime.families.tasks import TextLine
from ai.runtime.resolve import resolve_weights
from tests.support.plates import font_file, plate

pytest.importorskip("rapidocr_onnxruntime", reason="rapidocr-onnxruntime (real PP-OCR weights) is not installed")

PLATES = ["KX51 ABC", "7ABC123", "AB12 CDE"]


def two_lines(first: str, second: str, size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, size[0] - 1, size[1] - 1], outline="black", width=4)
    font = ImageFont.truetype(str(font_file()), 52)
    draw.text((24, 14), first, "black", font)
    draw.text((24, size[1] // 2 + 6), second, "black", font)
    return image


def bare(text: str) -> str:
    """The recogniser may keep or drop the gap between a plate's groups: compare without spaces."""
    return text.replace(" ", "")


def entry(**options: object) -> CatalogEntry:
    return load_catalog()["plate_ocr"].model_copy(update={"options": options})


@pytest.fixture(scope="module")
def adapter_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., RapidOcr]:
    tmp = tmp_path_factory.mktemp("rapidocr")
    weights = resolve_weights(entry(), tmp / "models").path
    assert weights is not None
    loaded: dict[tuple, RapidOcr] = {}

    def make(**options: object) -> RapidOcr:
        key = tuple(sorted(options.items()))
        if key not in loaded:
            backend = BackendOptions(cache_dir=tmp / "cache", tensorrt_cache_dir=tmp / "trt", cpu_threads=1)
            loaded[key] = RapidOcr(entry(**options), weights, select_device("cpu"), backend)
            loaded[key].load()
        return loaded[key]

    return make


def inside(line: TextLine, image: Image.Image) -> bool:
    return all(0 <= x <= image.width and 0 <= y <= image.height for x, y in line.quad)


def test_weights_resolve_to_the_installed_package_not_demo(tmp_path: Path) -> None:
    found = resolve_weights(entry(), tmp_path / "models")
    assert (found.origin, found.demo) == ("package", False)
    assert found.path is not None and found.path.name == "models"
    assert found.path.parent.name == "rapidocr_onnxruntime"
    assert {p.name for p in found.path.glob("*.onnx")} >= {"ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx"}


def test_a_missing_package_names_the_pip_install(tmp_path: Path) -> None:
    missing = entry().model_copy(update={"source": "package:no-such-ocr-distribution"})
    found = resolve_weights(missing, tmp_path / "models")
    assert (found.available, found.origin) == (False, "missing")
    assert "pip install no-such-ocr-distribution" in (found.message or "")


def test_demo_weights_are_refused_because_real_ones_ship(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="ship in the Python package rapidocr-onnxruntime"):
        write_demo_weights(entry(), tmp_path)
    assert not (tmp_path / "model-zoo" / "plate_ocr").exists()


def test_options_outside_the_family_are_a_catalog_error() -> None:
    with pytest.raises(CatalogError, match="detect_text"):
        RapidOcr.options_of(entry(detect_text="sometimes"))
    assert RapidOcr.options_of(entry()).model_dump() == {
        "detect_text": "auto",
        "min_confidence": 0.5,
        "whole_line_aspect": 2.0,
    }


@pytest.mark.parametrize("mode", ["auto", "always", "never"])
@pytest.mark.parametrize("text", PLATES)
def test_a_rendered_plate_reads_back_exactly(adapter_for: Callable[..., RapidOcr], mode: str, text: str) -> None:
    image = plate(text)
    lines = adapter_for(detect_text=mode).run_batch([image])[0]
    assert bare("".join(line.text for line in lines)) == bare(text)
    assert all(line.confidence > 0.9 for line in lines)
    assert all(inside(line, image) for line in lines)


def test_a_whole_read_spans_the_crop_and_detection_finds_the_text(adapter_for: Callable[..., RapidOcr]) -> None:
    image = plate("7ABC123")
    (whole,) = adapter_for(detect_text="never").run_batch([image])[0]
    assert whole.quad == ((0, 0), (360, 0), (360, 90), (0, 90))
    (found,) = adapter_for(detect_text="always").run_batch([image])[0]
    (x1, y1), (x2, _), (_, y3), _ = found.quad  # clockwise from top left, inside the border
    assert 4 < x1 < 60 and 300 < x2 < 356 and 4 < y1 < 30 and 60 < y3 < 86


@pytest.mark.parametrize("size", [(300, 160), (480, 160)])  # detected for its shape; read whole, then checked
def test_two_lines_come_in_reading_order(adapter_for: Callable[..., RapidOcr], size: tuple[int, int]) -> None:
    image = two_lines("AB12", "CDE 345", size)
    lines = adapter_for().run_batch([image])[0]
    assert [bare(line.text) for line in lines] == ["AB12", "CDE345"]
    assert lines[0].quad[3][1] <= lines[1].quad[0][1]  # the first line's bottom above the second's top
    assert all(inside(line, image) for line in lines)


def test_upside_down_wide_text_is_recovered_by_detection(adapter_for: Callable[..., RapidOcr]) -> None:
    lines = adapter_for().run_batch([plate("KX51 ABC").rotate(180)])[0]
    assert bare("".join(line.text for line in lines)) == "KX51ABC"


@pytest.mark.parametrize("mode", ["auto", "always", "never"])
def test_blank_images_read_nothing(adapter_for: Callable[..., RapidOcr], mode: str) -> None:
    blanks = [Image.new("RGB", (360, 90), "white"), Image.new("RGB", (120, 120), (90, 90, 90))]
    assert adapter_for(detect_text=mode).run_batch(blanks) == [[], []]


def test_lines_below_min_confidence_are_dropped(adapter_for: Callable[..., RapidOcr]) -> None:
    image = plate("KX51 ABC")  # read whole at about 0.95
    (line,) = adapter_for(detect_text="never").run_batch([image])[0]
    assert 0.5 < line.confidence < 0.999
    assert adapter_for(detect_text="never", min_confidence=0.999).run_batch([image]) == [[]]


def test_a_batch_equals_single_runs(adapter_for: Callable[..., RapidOcr]) -> None:
    adapter = adapter_for()
    batch = [plate(PLATES[0]), two_lines("AB12", "CDE 345", (300, 160)), Image.new("RGB", (360, 90)), plate(PLATES[1])]
    singles = [adapter.run_batch([image])[0] for image in batch]
    assert adapter.run_batch(batch) == singles
    adapter.read_together = True  # the CUDA way: the whole reads in one recogniser call
    try:
        together = adapter.run_batch(batch)
    finally:
        adapter.read_together = False
    assert [[line.text for line in lines] for lines in together] == [[line.text for line in lines] for lines in singles]
    for mine, theirs in zip(together, singles, strict=True):
        assert [line.confidence for line in mine] == pytest.approx([line.confidence for line in theirs], abs=1e-3)


def test_sessions_use_the_thread_count_and_do_not_spin(adapter_for: Callable[..., RapidOcr]) -> None:
    from rapidocr_onnxruntime.utils.infer_engine import OrtInferSession

    engine = adapter_for().engine
    for session in (engine.text_det.infer, engine.text_cls.infer, engine.text_rec.session):
        options = session.session.get_session_options()
        assert options.intra_op_num_threads == 1
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert OrtInferSession.__dict__["_init_sess_opts"].__func__.__name__ == "_init_sess_opts"  # patch undone


def test_reading_order_groups_rows_at_any_scale_and_joins_close_words() -> None:
    def line(text: str, x: float, y: float, height: float = 400, confidence: float = 0.9) -> TextLine:
        return TextLine(text, confidence, ((x, y), (x + 100, y), (x + 100, y + height), (x, y + height)))

    # Rows 400 px tall whose words start up to 60 px apart vertically: one row each, the
    # words far apart (800 px) kept apart, the close ones (50 px) one line.
    shuffled = [
        line("D", 900, 660),
        line("B", 900, 0),
        line("C", 0, 600),
        line("A", 0, 60),
        line("E", 1050, 650, confidence=0.7),
    ]
    ordered = reading_order(shuffled)
    assert [ln.text for ln in ordered] == ["A", "B", "C", "D E"]
    assert ordered[-1].confidence == 0.7
    assert ordered[-1].quad == ((900, 660), (1150, 650), (1150, 1050), (900, 1060))
