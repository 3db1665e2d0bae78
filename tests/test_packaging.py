"""The backend stands without the model stack: it imports none of it, and its
installation does not require it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_STACK = ("torch", "torchvision", "ultralytics", "transformers", "torchreid", "onnxruntime", "cv2")


def test_importing_the_backend_loads_none_of_the_model_stack(tmp_path: Path) -> None:
    probe = (
        "import sys, backend.app, backend.__main__; "
        "from backend.app import create_backend_app; create_backend_app(); "
        f"print(','.join(m for m in {MODEL_STACK!r} if m in sys.modules))"
    )
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"the backend imported {result.stdout.strip()}"


def test_the_model_stack_is_an_extra_not_a_base_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = " ".join(project["dependencies"]).lower()
    for package in ("torch", "torchvision", "ultralytics", "transformers", "torchreid", "onnxruntime"):
        assert package not in base, f"{package} is a base dependency; the backend would carry it"
    models = " ".join(project["optional-dependencies"]["models"]).lower()
    assert "torch==2.13.0" in models and "ultralytics" in models
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "models" in makefile.split('-e ".[', 1)[1].split("]", 1)[0], "make test must install the model stack"
