"""Settings come from environment variables, typed and validated."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ai.runtime.device import select_device
from ai.runtime.settings import RuntimeSettings


def test_budget_mb_wins_over_gb_and_gb_is_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VRAM_BUDGET_GB", "1.5")
    assert RuntimeSettings().budget_mb == 1536
    monkeypatch.setenv("VRAM_BUDGET_MB", "900")
    assert RuntimeSettings().budget_mb == 900


def test_preload_list_and_keep_alive_overrides_parse_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRELOAD_MODELS", " pose_estimator, threat_detector ,,")
    monkeypatch.setenv("MODEL_KEEP_ALIVE_OVERRIDES", "threat_detector=-1, depth_estimator=30")
    monkeypatch.setenv("MODEL_KEEP_ALIVE_SECONDS", "120")
    settings = RuntimeSettings()
    assert settings.preload_models == ["pose_estimator", "threat_detector"]
    assert settings.keep_alive_for("threat_detector") == -1
    assert settings.keep_alive_for("depth_estimator", 600) == 30
    assert settings.keep_alive_for("pet_classifier", 600) == 600
    assert settings.keep_alive_for("pet_classifier") == 120


def test_invalid_values_are_refused_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "not-a-port")
    with pytest.raises(ValidationError) as err:
        RuntimeSettings()
    assert "PORT" in str(err.value)


def test_device_selection_falls_back_to_cpu_and_rejects_nonsense() -> None:
    assert select_device("cpu").torch_device == "cpu"
    assert select_device("auto").kind in {"cpu", "cuda"}
    with pytest.raises(ValueError, match="DEVICE must be"):
        select_device("tpu")
