"""The CLIP service over real HTTP on demo weights: every endpoint's documented shape,
the arithmetic the answers promise, the text cache, batching and bad input."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ai.clip.service import ClipService
from tests.support.images import b64, jpeg_bytes, png_bytes

IMAGE = b64(jpeg_bytes(320, 240, "navy"))
OTHER = b64(png_bytes(200, 100, "yellow"))
DIMENSION = 64  # the demo CLIP's projection


@pytest.fixture(scope="module")
def clip(clip_models: Path) -> Iterator[str]:
    from tests.support.model_servers import model_server

    with model_server(ClipService, clip_models, CLIP_ANOMALY_THRESHOLD="0.25") as url:
        yield url


def post(url: str, path: str, **body: object) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=60)


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    found = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_embed_is_l2_normalised_and_reports_its_dimension(clip: str) -> None:
    answer = post(clip, "/embed", image=IMAGE).json()
    assert answer["embedding_dimension"] == len(answer["embedding"]) == DIMENSION
    assert math.isclose(math.fsum(v * v for v in answer["embedding"]), 1.0, abs_tol=1e-4)
    assert answer["model"] and answer["inference_time_ms"] > 0


def test_same_image_same_embedding_and_a_different_image_differs(clip: str) -> None:
    first = post(clip, "/embed", image=IMAGE).json()["embedding"]
    again = post(clip, "/embed", image=IMAGE).json()["embedding"]
    other = post(clip, "/embed", image=OTHER).json()["embedding"]
    assert first == again
    assert first != other


def test_embed_text_vectors_share_the_image_space(clip: str) -> None:
    answer = post(clip, "/embed-text", texts=["a dog", "a parked car"]).json()
    assert answer["embedding_dimension"] == DIMENSION and len(answer["embeddings"]) == 2
    for vector in answer["embeddings"]:
        assert math.isclose(math.fsum(v * v for v in vector), 1.0, abs_tol=1e-4)
    # /similarity is the dot product of the two unit vectors
    image = post(clip, "/embed", image=IMAGE).json()["embedding"]
    expected = math.fsum(a * b for a, b in zip(image, answer["embeddings"][0], strict=True))
    similarity = post(clip, "/similarity", image=IMAGE, text="a dog").json()["similarity"]
    assert similarity == pytest.approx(expected, abs=1e-4)


def test_classify_probabilities_sum_to_one_in_label_order(clip: str) -> None:
    labels = ["person", "car", "dog", "package"]
    answer = post(clip, "/classify", image=IMAGE, labels=labels).json()
    assert list(answer["scores"]) == labels
    assert math.isclose(sum(answer["scores"].values()), 1.0, abs_tol=1e-4)
    assert answer["top_label"] == max(answer["scores"], key=answer["scores"].get)
    assert answer["top_score"] == max(answer["scores"].values())
    one_template = post(clip, "/classify", image=IMAGE, labels=labels, prompt_template="a {} at the door").json()
    assert math.isclose(sum(one_template["scores"].values()), 1.0, abs_tol=1e-4)
    assert one_template["scores"] != answer["scores"]  # the template is used


def test_batch_similarity_keeps_order_and_matches_single_calls(clip: str) -> None:
    texts = ["a red car", "a person at night", "an empty driveway"]
    answer = post(clip, "/batch-similarity", image=IMAGE, texts=texts).json()
    assert [s["text"] for s in answer["similarities"]] == texts
    singles = [post(clip, "/similarity", image=IMAGE, text=t).json()["similarity"] for t in texts]
    assert [s["similarity"] for s in answer["similarities"]] == pytest.approx(singles, abs=1e-4)


def test_batch_similarity_refuses_more_than_100_texts(clip: str) -> None:
    response = post(clip, "/batch-similarity", image=IMAGE, texts=[f"text {i}" for i in range(101)])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_REQUEST"


def test_anomaly_of_an_image_against_its_own_embedding_is_near_zero(clip: str) -> None:
    baseline = post(clip, "/embed", image=IMAGE).json()["embedding"]
    same = post(clip, "/anomaly-score", image=IMAGE, baseline_embedding=baseline).json()
    assert same["anomaly_score"] == pytest.approx(0.0, abs=1e-3)
    assert same["is_anomaly"] is False and same["threshold"] == 0.25
    assert same["embedding_dimension"] == DIMENSION
    flipped = post(clip, "/anomaly-score", image=IMAGE, baseline_embedding=[-v for v in baseline]).json()
    assert flipped["anomaly_score"] == pytest.approx(2.0, abs=1e-3) and flipped["is_anomaly"] is True


def test_anomaly_baseline_of_the_wrong_dimension_names_both(clip: str) -> None:
    response = post(clip, "/anomaly-score", image=IMAGE, baseline_embedding=[0.1] * 768)
    assert response.status_code == 422
    error = response.json()["error"]
    assert "768" in error["message"] and str(DIMENSION) in error["message"]
    assert error["details"] == {"baseline_dimension": 768, "model_dimension": DIMENSION}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/anomaly-score", {"image": IMAGE, "baseline_embedding": [0.0] * DIMENSION}),
        ("/anomaly-score", {"image": IMAGE, "baseline_embedding": []}),
        ("/classify", {"image": IMAGE, "labels": ["cat"]}),
        ("/classify", {"image": IMAGE, "labels": ["cat", "cat"]}),
        ("/classify", {"image": IMAGE, "labels": ["cat", "dog"], "prompt_template": "no slot"}),
        ("/embed-text", {"texts": []}),
        ("/embed-text", {"texts": ["x"], "image": IMAGE}),
        ("/similarity", {"image": IMAGE}),
        ("/embed", {"image": b64(b"not an image")}),
    ],
)
def test_bad_input_is_a_clear_envelope(clip: str, path: str, body: dict) -> None:
    response = post(clip, path, **body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["message"]
    assert post(clip, "/embed", image=IMAGE).status_code == 200  # still serving


def test_repeated_labels_come_from_the_text_cache(clip: str) -> None:
    hits = metric(clip, "clip_text_cache_hits_total")
    misses = metric(clip, "clip_text_cache_misses_total")
    first = post(clip, "/embed-text", texts=["a raccoon on the porch", "a bicycle"]).json()
    again = post(clip, "/embed-text", texts=["a bicycle", "a raccoon on the porch"]).json()
    assert (first["cached"], again["cached"]) == (0, 2)
    assert again["embeddings"] == first["embeddings"][::-1]
    assert again["inference_time_ms"] == 0.0  # no forward pass
    assert metric(clip, "clip_text_cache_hits_total") - hits == 2
    assert metric(clip, "clip_text_cache_misses_total") - misses == 2


async def test_concurrent_embeds_share_forward_passes(clip: str) -> None:
    before = metric(clip, 'clip_model_batch_size_count{model="clip"}')
    async with httpx.AsyncClient(timeout=60) as client:
        responses = await asyncio.gather(*(client.post(f"{clip}/embed", json={"image": IMAGE}) for _ in range(16)))
    assert all(r.status_code == 200 for r in responses)
    first = responses[0].json()["embedding"]
    for response in responses:  # batched or not, the same image gives the same vector (to float rounding)
        assert response.json()["embedding"] == pytest.approx(first, abs=1e-4)
    passes = metric(clip, 'clip_model_batch_size_count{model="clip"}') - before
    assert passes < 16, "every request ran its own forward pass"
