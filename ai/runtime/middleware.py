"""Pure-ASGI middleware: request id, body limit, access log, request metrics, and the
last-resort 500 envelope (so no stack trace ever reaches a client)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from fastapi import HTTPException
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ai.runtime.context import RequestInfo, reset_request, set_request
from ai.runtime.envelope import error_bytes
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.logs import escape
from ai.runtime.metrics import RequestMetrics

access_log = logging.getLogger("ai.access")
logger = logging.getLogger(__name__)

PROBE_PATHS = frozenset({"/health", "/ready", "/metrics"})
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def body_too_large(limit: int) -> ServiceError:
    return ServiceError(
        ErrorCode.PAYLOAD_TOO_LARGE, f"request body exceeds MAX_REQUEST_BYTES={limit}", details={"max_bytes": limit}
    )


class BodyTooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI's body parsing re-raises it as is."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=body_too_large(limit).message)


class RequestContextMiddleware:
    """Wraps every HTTP request of a service."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        supplied = headers.get("x-request-id", "")
        info = RequestInfo(request_id=supplied if _SAFE_ID.match(supplied) else uuid.uuid4().hex)
        token = set_request(info)
        started = time.perf_counter()
        status = {"code": 500, "started": False}
        self.metrics.in_flight.inc()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
                MutableHeaders(scope=message)["X-Request-ID"] = info.request_id
            await send(message)

        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                await self._send_error(send_with_id, body_too_large(self.max_body_bytes))
                return
            await self.app(scope, self._limited(receive), send_with_id)
        except Exception as exc:
            if isinstance(exc, ServiceError) and not status["started"]:
                await self._send_error(send_with_id, exc)
            else:
                logger.exception("unhandled error in %s %s", escape(scope.get("method")), escape(scope.get("path")))
                if not status["started"]:
                    await self._send_error(
                        send_with_id,
                        ServiceError(
                            ErrorCode.INTERNAL,
                            f"internal error; the service log has the details under request id {info.request_id}",
                        ),
                    )
        finally:
            for finish in info.on_finish:
                finish()
            self.metrics.in_flight.dec()
            self._record(scope, info, status["code"], time.perf_counter() - started)
            reset_request(token)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return receive_limited

    @staticmethod
    async def _send_error(send: Send, error: ServiceError) -> None:
        body = error_bytes(error)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in error.headers().items()]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, info: RequestInfo, status: int, seconds: float) -> None:
        path = scope.get("path", "")
        route: Any = scope.get("route")
        endpoint = getattr(route, "path", None) or "unmatched"
        peer = scope.get("client")
        client_ip = info.client or (peer[0] if peer else "-")
        line = (
            f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} | {escape(info.request_id)} | {escape(client_ip)} | "
            f"{escape(scope.get('method', '-'))} {escape(path)} | {status} | {seconds * 1000:.1f} | "
            f"{escape(info.model or '-')}"
        )
        if path in PROBE_PATHS:
            access_log.debug(line)
            return
        access_log.info(line)
        self.metrics.requests.labels(endpoint=endpoint, status=str(status)).inc()
        self.metrics.latency.labels(endpoint=endpoint).observe(seconds)
