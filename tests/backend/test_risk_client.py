"""The risk client: a valid answer is taken as it is; a malformed or inconsistent one is
asked for once more with what was wrong, and then stored as a failed analysis, never
raised. Against a scripted OpenAI-style server (the behaviour under test is the
client's), and against the real llama-server on the demo GGUF."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ai.contracts.risk import level_for
from backend.metrics import BackendMetrics
from backend.risk.client import CHAT_PATH, RiskClient
from backend.risk.prompt import FrameFacts, SeenObject
from backend.settings import BackendSettings
from tests.support.server import LiveServer

FACTS = FrameFacts(
    camera_id="porch",
    timestamp=1796167800.0,
    image_size=(1280, 720),
    objects=[SeenObject("det_0", "person", 0.91, (100, 80, 60, 200))],
    enrichment=["Enrichment of person det_0 (FULL):\n- Weapons: none detected"],
    caption="a person standing at a front door",
    entities=[],
    missing=[],
)
VALID = {
    "risk_score": 42,
    "risk_level": "medium",
    "reasoning": "A stranger at the door at night.",
    "factors": ["night"],
}


def completion(content: str, finish: str = "stop") -> dict[str, Any]:
    return {
        "model": "nemotron",
        "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 300, "completion_tokens": 40, "total_tokens": 340},
    }


class ScriptedLlm:
    """Answers call n with ``answers[n]`` (status, body); keeps every request body."""

    def __init__(self, answers: list[tuple[int, dict[str, Any]]]) -> None:
        self.answers = answers
        self.requests: list[dict[str, Any]] = []
        self.app = FastAPI()

        @self.app.post(CHAT_PATH)
        async def chat(request: Request) -> JSONResponse:
            self.requests.append(json.loads(await request.body()))
            status, body = self.answers[min(len(self.requests), len(self.answers)) - 1]
            return JSONResponse(body, status_code=status)


@pytest.fixture
def scripted() -> Iterator[Callable[[list[tuple[int, dict[str, Any]]]], tuple[ScriptedLlm, RiskClient]]]:
    servers: list[LiveServer] = []

    def start(answers: list[tuple[int, dict[str, Any]]]) -> tuple[ScriptedLlm, RiskClient]:
        llm = ScriptedLlm(answers)
        server = LiveServer(llm.app).start()
        servers.append(server)
        settings = BackendSettings(LLM_URL=server.url, ENRICHMENT_RETRY_ATTEMPTS=1, ENRICHMENT_READY_PROBE_SECONDS=0)
        return llm, RiskClient(settings, BackendMetrics())

    yield start
    for server in servers:
        server.stop()


async def test_a_valid_answer_is_taken_with_its_usage(scripted) -> None:  # type: ignore[no-untyped-def]
    llm, client = scripted([(200, completion(json.dumps(VALID)))])
    outcome = await client.assess(FACTS)
    assert outcome.outcome == "ok" and outcome.attempts == 1
    assert outcome.assessment is not None and outcome.assessment.model_dump() == VALID
    assert (outcome.prompt_tokens, outcome.completion_tokens) == (300, 40)
    request = llm.requests[0]
    assert request["response_format"]["type"] == "json_schema" and request["model"] == "nemotron"
    assert "Camera: porch" in request["messages"][1]["content"]
    await client.close()


@pytest.mark.parametrize(
    ("first", "problem"),
    [
        ("not json at all", "not JSON"),
        (json.dumps({**VALID, "risk_score": 140}), "risk_score"),
        (json.dumps({**VALID, "risk_level": "critical"}), "risk_level 'critical' needs a risk_score of 85-100"),
        (json.dumps({k: v for k, v in VALID.items() if k != "reasoning"}), "reasoning"),
    ],
)
async def test_a_bad_answer_is_repaired_once_with_what_was_wrong(scripted, first: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    llm, client = scripted([(200, completion(first)), (200, completion(json.dumps(VALID)))])
    outcome = await client.assess(FACTS)
    assert outcome.outcome == "repaired" and outcome.attempts == 2
    assert outcome.assessment is not None and outcome.assessment.risk_score == 42
    assert outcome.prompt_tokens == 600, "both completions are counted"
    repair = llm.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": first}
    assert problem in repair[-1]["content"]
    await client.close()


async def test_two_bad_answers_are_a_failed_analysis_not_an_exception(scripted) -> None:  # type: ignore[no-untyped-def]
    llm, client = scripted([(200, completion('{"risk_score": 5')), (200, completion("{}", finish="length"))])
    outcome = await client.assess(FACTS)
    assert outcome.assessment is None and outcome.outcome == "failed" and outcome.attempts == 2
    assert outcome.error_code == "INVALID_ANSWER" and "cut off at the token limit" in (outcome.error or "")
    assert len(llm.requests) == 2 and outcome.answers == ['{"risk_score": 5', "{}"]
    await client.close()


async def test_an_answer_of_the_wrong_types_is_repaired_not_raised(scripted) -> None:  # type: ignore[no-untyped-def]
    odd = completion(json.dumps(VALID))
    odd["choices"][0]["message"]["content"] = [{"type": "text", "text": "{}"}]
    odd["usage"] = {"prompt_tokens": "many", "completion_tokens": None}
    odd["model"] = {"name": "x"}
    llm, client = scripted([(200, odd), (200, completion(json.dumps(VALID)))])
    outcome = await client.assess(FACTS)
    assert outcome.outcome == "repaired" and outcome.prompt_tokens == 300
    assert "not a string" in llm.requests[1]["messages"][-1]["content"]
    await client.close()


async def test_a_server_that_cannot_parse_its_model_gets_one_more_try(scripted) -> None:  # type: ignore[no-untyped-def]
    error = {"error": {"code": 500, "message": "The model produced output that does not match", "type": "server"}}
    llm, client = scripted([(500, error), (200, completion(json.dumps(VALID)))])
    outcome = await client.assess(FACTS)
    assert outcome.outcome == "repaired" and len(llm.requests) == 2
    await client.close()


async def test_a_refusal_is_a_failed_analysis_with_the_servers_reason(scripted) -> None:  # type: ignore[no-untyped-def]
    error = {"error": {"code": 400, "message": "request exceeds the available context size", "type": "invalid"}}
    llm, client = scripted([(400, error)])
    outcome = await client.assess(FACTS)
    assert outcome.assessment is None and outcome.attempts == 1 and len(llm.requests) == 1
    assert "context size" in (outcome.error or "")
    await client.close()


async def test_an_unreachable_llm_is_a_failed_analysis() -> None:
    settings = BackendSettings(LLM_URL="http://127.0.0.1:9", ENRICHMENT_RETRY_ATTEMPTS=1)
    client = RiskClient(settings, BackendMetrics())
    started = time.monotonic()
    outcome = await client.assess(FACTS)
    assert outcome.assessment is None and outcome.error_code == "SERVICE_UNREACHABLE"
    assert time.monotonic() - started < 10
    await client.close()


async def test_the_real_llama_server_answers_a_valid_assessment(llama_server: str) -> None:
    """The grammar llama-server builds from the schema pairs each level with its score band."""
    client = RiskClient(BackendSettings(LLM_URL=llama_server), BackendMetrics())
    for _ in range(3):
        outcome = await client.assess(FACTS)
        assert outcome.assessment is not None, outcome.error
        assert outcome.assessment.risk_level == level_for(outcome.assessment.risk_score)
        assert outcome.prompt_tokens > 0 and outcome.latency_ms > 0
    await client.close()
