"""The torchvision compatibility shim: applied only when native ops fail, and correct."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from ai.runtime.torchvision_compat import greedy_nms, native_ops_loadable


def _reference_nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float) -> list[int]:
    """Textbook greedy NMS, one box at a time."""

    def iou(a: torch.Tensor, b: torch.Tensor) -> float:
        w = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
        h = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
        inter = w * h
        union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
        return inter / union if union > 0 else 0.0

    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    kept: list[int] = []
    for i in order:
        if all(iou(boxes[i], boxes[k]) <= threshold for k in kept):
            kept.append(i)
    return kept


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_greedy_nms_matches_textbook_greedy_nms(threshold: float) -> None:
    generator = torch.Generator().manual_seed(3)
    corners = torch.rand(300, 2, generator=generator) * 200
    sizes = torch.rand(300, 2, generator=generator) * 60 + 1
    boxes = torch.cat([corners, corners + sizes], dim=1)
    scores = torch.rand(300, generator=generator)
    assert greedy_nms(boxes, scores, threshold).tolist() == _reference_nms(boxes, scores, threshold)


def test_greedy_nms_edge_cases() -> None:
    empty = greedy_nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert empty.dtype == torch.long and empty.numel() == 0
    same = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]])
    assert greedy_nms(same, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]


def test_native_ops_detection_follows_the_library_loader() -> None:
    def fails(_path: str) -> None:
        raise OSError("undefined symbol: cudaLaunchKernel")

    assert native_ops_loadable(load_library=lambda _path: None) is True
    assert native_ops_loadable(load_library=fails) is False


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_shim_makes_torchvision_ops_work_when_native_ops_fail() -> None:
    out = _run(
        """
        from ai.runtime.torchvision_compat import ensure_torchvision, native_ops_loadable, shim_applied
        native = native_ops_loadable()
        ensure_torchvision()
        import torch, torchvision
        from torchvision.ops import batched_nms, nms, roi_align
        boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]])
        scores = torch.tensor([0.9, 0.8, 0.7])
        print(native, shim_applied(), torchvision.extension._has_ops())
        print(nms(boxes, scores, 0.5).tolist())
        print(batched_nms(boxes, scores, torch.tensor([0, 1, 0]), 0.5).tolist())
        feats = torch.arange(16.0).reshape(1, 1, 4, 4)
        print(roi_align(feats, [torch.tensor([[0.0, 0.0, 3.0, 3.0]])], output_size=1, aligned=True).item())
        """
    )
    native, applied, has_ops = out.splitlines()[0].split()
    assert applied == str(native == "False"), "the shim must be applied exactly when native ops fail"
    assert has_ops == "True"
    assert out.splitlines()[1] == "[0, 2]"
    assert out.splitlines()[2] == "[0, 1, 2]"
    # On the linear image f(x, y) = 4y + x the pooled value is f at the box centre,
    # shifted by half a pixel when aligned=True: f(1, 1) = 5.
    assert float(out.splitlines()[3]) == pytest.approx(5.0)


def test_shim_is_not_applied_when_native_ops_load() -> None:
    out = _run(
        """
        from ai.runtime import torchvision_compat as tc
        try:
            tc.ensure_torchvision(load_library=lambda path: None)
        except Exception as exc:  # here the real library did not load, so the import fails
            print("import-failed", type(exc).__name__)
        print("applied", tc.shim_applied())
        """
    )
    assert "applied False" in out


def test_concurrent_first_use_from_many_threads_is_safe() -> None:
    out = _run(
        """
        import threading
        from ai.runtime.torchvision_compat import ensure_torchvision
        errors = []
        def go():
            try:
                ensure_torchvision()
                import torchvision.ops
            except Exception as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=go) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print("errors", errors)
        """
    )
    assert "errors []" in out
