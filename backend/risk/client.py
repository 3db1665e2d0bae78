"""The LLM as the backend calls it for a risk assessment: OpenAI-style chat completions
on the llama.cpp server with a JSON-schema ``response_format``, the answer validated
with the shared contract, one repair retry for an answer that does not fit, and then a
failed analysis (never an exception). Transport, retries and the breaker are the shared
ones (``backend.service_clients``); the server's ``/health`` is its readiness."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from ai.contracts.risk import RiskAssessment, risk_json_schema
from backend.enrichment_client.errors import EnrichmentCallError
from backend.metrics import BackendMetrics
from backend.risk.prompt import FrameFacts, repair_messages, risk_messages
from backend.service_clients import TypedClient
from backend.settings import BackendSettings
from backend.storage.recorder import LatencyRecorder

CHAT_PATH = "/v1/chat/completions"
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "risk_assessment", "strict": True, "schema": risk_json_schema()},
}


@dataclass
class RiskOutcome:
    """How one analysis went: the assessment, or why there is none."""

    assessment: RiskAssessment | None
    error: str | None = None
    error_code: str | None = None
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    model: str | None = None
    answers: list[str] = field(default_factory=list)  # the refused answers' texts (each cut at 2000)

    @property
    def outcome(self) -> str:
        if self.assessment is None:
            return "failed"
        return "repaired" if self.attempts > 1 else "ok"


class AnswerProblem(ValueError):
    """The model answered, but not with a usable assessment."""


def parse_answer(body: dict[str, Any]) -> tuple[str, RiskAssessment | AnswerProblem]:
    """The answer's text, and the assessment it holds or what is wrong with it."""
    try:
        choice = body["choices"][0]
        text = choice["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        return "", AnswerProblem("the server's answer has no choices[0].message.content")
    if not isinstance(text, str):
        return str(text)[:2000], AnswerProblem("choices[0].message.content is not a string")
    if choice.get("finish_reason") == "length":
        return text, AnswerProblem("the answer was cut off at the token limit before the JSON closed")
    try:
        data = json.loads(text)
    except ValueError as exc:
        return text, AnswerProblem(f"not JSON ({exc})")
    try:
        return text, RiskAssessment.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors()[:4])
        return text, AnswerProblem(problems)


class RiskClient(TypedClient):
    def __init__(
        self,
        settings: BackendSettings,
        metrics: BackendMetrics,
        recorder: LatencyRecorder | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            "llm",
            settings.llm_url,
            settings.llm_api_key,
            settings,
            metrics,
            transport,
            read_timeout_s=settings.llm_read_timeout_s,
            deadline_s=settings.llm_deadline_s,
            ready_path="/health",
        )
        self.settings = settings
        self.metrics = metrics
        self.recorder = recorder

    async def assess(self, facts: FrameFacts) -> RiskOutcome:
        """At most two completions: the question, and once more with what was wrong."""
        started = time.perf_counter()
        outcome = RiskOutcome(assessment=None)
        messages = risk_messages(facts)
        for attempt in (1, 2):
            outcome.attempts = attempt
            try:
                body = await self._post(CHAT_PATH, self._request(messages))
            except EnrichmentCallError as exc:
                outcome.error, outcome.error_code = exc.message, exc.code
                if exc.status == 500 and attempt == 1:
                    # llama-server answers 500 when it cannot parse what the model wrote
                    # back into a message: the model's fault, so it gets its second try.
                    continue
                break
            self._count_usage(outcome, body)
            model = body.get("model")
            outcome.model = str(model)[:200] if model else outcome.model
            text, result = parse_answer(body)
            if isinstance(result, RiskAssessment):
                outcome.assessment = result
                break
            outcome.answers.append(text[:2000])
            outcome.error, outcome.error_code = str(result), "INVALID_ANSWER"
            messages = repair_messages(messages, text, str(result))
        if outcome.assessment is not None:
            outcome.error = outcome.error_code = None
        outcome.latency_ms = round((time.perf_counter() - started) * 1000.0, 2)
        self.metrics.risk_analyses.labels(outcome=outcome.outcome).inc()
        if self.recorder is not None:
            self.recorder.record(
                self.settings.llm_model, "llm", CHAT_PATH, outcome.latency_ms, outcome.assessment is not None
            )
        return outcome

    def _request(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "model": self.settings.llm_model,
            "messages": messages,
            "response_format": RESPONSE_FORMAT,
            "max_tokens": self.settings.llm_max_tokens,
            "temperature": self.settings.llm_temperature,
            "stream": False,
        }

    def _count_usage(self, outcome: RiskOutcome, body: dict[str, Any]) -> None:
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        prompt, completion = _tokens(usage.get("prompt_tokens")), _tokens(usage.get("completion_tokens"))
        outcome.prompt_tokens += prompt
        outcome.completion_tokens += completion
        self.metrics.llm_tokens.labels(kind="prompt").inc(prompt)
        self.metrics.llm_tokens.labels(kind="completion").inc(completion)


def _tokens(value: object) -> int:
    """A token count as the server reported it; anything that is not a count is 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
