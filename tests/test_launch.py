"""The README's run command: the launcher starts the fleet on demo weights and serves."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from ai.launch import read_env_file
from tests.support.server import free_port


def test_launcher_writes_demo_weights_starts_the_fleet_and_analyses_the_sample_frames(tmp_path: Path) -> None:
    """The whole fleet, the LLM on llama-server included, from one command: the sample
    photos become stored events (the table), and each service answers its check."""
    env = {
        **os.environ,
        "AI_MODELS_PATH": str(tmp_path / "models"),
        "CACHE_DIR": str(tmp_path / "cache"),
        "ENRICHMENT_LIGHT_PORT": str(free_port()),
        "ENRICHMENT_HEAVY_PORT": str(free_port()),
        "BACKEND_PORT": str(free_port()),
        "DETECTOR_PORT": str(free_port()),
        "FLORENCE_PORT": str(free_port()),
        "CLIP_PORT": str(free_port()),
        "LLM_PORT": str(free_port()),
        "DATA_DIR": str(tmp_path / "backend"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "ai.launch", "--check", "--env-file", str(tmp_path / "absent.env")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "fleet is up" in result.stdout
    assert "[launch] warning: the LLM is left out" not in result.stderr
    table = result.stdout.split("[demo] analysing", 1)[1].split("[demo] one event in full", 1)[0]
    rows = [line for line in table.splitlines() if re.match(r"(front-door|driveway|street|garden) +\| ", line)]
    assert [row.split(" | ")[0].strip() for row in rows] == ["front-door", "driveway", "street", "garden"]
    assert all("failed" not in row.split(" | ")[3] for row in rows), table
    assert "seen before" in rows[-1], "the garden camera sees the front door's photo again"
    assert "check: /api/enrich FULL" in result.stdout
    assert "check: /caption <CAPTION>" in result.stdout
    assert "check: /classify " in result.stdout
    assert "Enrichment of person check (FULL):" in result.stdout
    assert (tmp_path / "backend" / "backend.db").exists()
    for model in ("pose_estimator", "yolo26", "florence", "clip", "nemotron"):
        assert (tmp_path / "models" / "model-zoo" / model / "DEMO_WEIGHTS.json").exists()


def test_launcher_refuses_a_busy_port_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        env = {
            **os.environ,
            "ENRICHMENT_LIGHT_PORT": str(busy.getsockname()[1]),
            "ENRICHMENT_HEAVY_PORT": str(free_port()),
            "BACKEND_PORT": str(free_port()),
            "AI_MODELS_PATH": str(tmp_path),
        }
        result = subprocess.run(
            [sys.executable, "-m", "ai.launch", "--no-demo", "--env-file", "/nonexistent"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    assert "in use" in result.stderr and "enrichment-light" in result.stderr
    assert "backend" not in result.stderr.split("in use")[1], "only the busy port is named"


def test_env_file_parsing(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# comment\nexport A=1\nB = 'two' # note\n\nC=\nnot a line\n", encoding="utf-8")
    assert read_env_file(path) == {"A": "1", "B": "two", "C": ""}
