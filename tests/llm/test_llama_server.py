"""The OpenAI Python client against the real llama-server on the demo GGUF: the API the
backend's risk client uses in production (chat, streaming, JSON-schema output)."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

SCHEMA = {
    "type": "object",
    "properties": {
        "risk_score": {"type": "integer", "minimum": 0, "maximum": 100},
        "risk_level": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
        "reasoning": {"type": "string", "maxLength": 40},
    },
    "required": ["risk_score", "risk_level", "reasoning"],
    "additionalProperties": False,
}
MESSAGES = [
    {"role": "system", "content": "You score the risk of a camera event as JSON."},
    {"role": "user", "content": "A person at the door at night."},
]


@pytest.fixture
def client(llama_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{llama_server}/v1", api_key="unused", max_retries=0, timeout=120)


def test_health_answers_ok(llama_server: str) -> None:
    assert httpx.get(f"{llama_server}/health").json() == {"status": "ok"}


def test_chat_completion(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="nemotron", messages=MESSAGES, max_tokens=8, seed=1)
    assert answer.choices[0].message.role == "assistant"
    assert isinstance(answer.choices[0].message.content, str)
    assert answer.usage is not None and answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0


def test_streaming_chat_completion(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="nemotron", messages=MESSAGES, max_tokens=8, stream=True))
    assert len(chunks) > 1
    assert chunks[-1].choices[0].finish_reason in ("length", "stop")


def test_json_schema_response_parses_and_fits_the_schema(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="nemotron",
        messages=MESSAGES,
        max_tokens=200,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "risk", "strict": True, "schema": SCHEMA}},
    )
    data = json.loads(answer.choices[0].message.content or "")
    assert set(data) == {"risk_score", "risk_level", "reasoning"}
    assert 0 <= data["risk_score"] <= 100 and data["risk_level"] in ("low", "medium", "high", "critical")
