"""A stand-in enrichment service for fault injection: answers what a test tells it to
and counts what it received. Real HTTP, so the client's network code is what is tested."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Script:
    """What the stub answers: ``respond(n)`` gives (status, body, headers) for call n."""

    respond: Callable[[int], tuple[int, dict[str, Any], dict[str, str]]]
    delay_s: float = 0.0
    calls: list[str] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list, repr=False)
    readies: int = 0
    ready_status: int = 200


def error_body(code: str, message: str = "scripted") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": "stub", "details": {}}}


def stub_app(script: Script, api_key: str | None = None) -> FastAPI:
    """``api_key``: every request must carry ``Authorization: Bearer <api_key>``, else 401
    UNAUTHORIZED (the envelope the fleet's services answer). ``GET /ready`` answers
    ``script.ready_status``."""
    app = FastAPI()

    @app.middleware("http")
    async def authorize(request: Request, call_next):  # type: ignore[no-untyped-def]
        script.auth.append(request.headers.get("authorization"))
        if api_key is not None and request.headers.get("authorization") != f"Bearer {api_key}":
            missing = "authorization" not in request.headers
            message = "missing API key" if missing else "invalid API key"
            return JSONResponse(error_body("UNAUTHORIZED", message), status_code=401)
        return await call_next(request)

    @app.get("/ready")
    async def ready() -> JSONResponse:
        script.readies += 1
        ready = script.ready_status == 200
        return JSONResponse({"status": "ready" if ready else "not ready"}, status_code=script.ready_status)

    @app.post("/{path:path}")
    async def any_post(path: str, request: Request) -> JSONResponse:
        script.calls.append(f"/{path}")
        await request.body()
        if script.delay_s:
            await asyncio.sleep(script.delay_s)
        status, body, headers = script.respond(len(script.calls))
        return JSONResponse(body, status_code=status, headers=headers)

    return app


DropMode = Literal["reset", "close", "headers_then_reset"]


class DroppingServer:
    """A raw socket server that reads each HTTP request whole and then breaks the
    connection, as a service killed mid-request does: ``reset`` answers nothing and
    resets (the client reads ECONNRESET: ``httpx.ReadError``), ``close`` closes cleanly
    without an answer (``httpx.RemoteProtocolError``), ``headers_then_reset`` sends a
    200's headers and part of the body, then resets (``httpx.ReadError`` mid-body)."""

    def __init__(self, mode: DropMode) -> None:
        self.mode = mode
        self.requests: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._drop, args=(conn,), daemon=True).start()

    def _drop(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
            self.requests.append(head.split(b"\r\n")[0].decode())
            if self.mode == "headers_then_reset":
                conn.sendall(
                    b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"detections": ['
                )
            if self.mode != "close":  # linger 0: close() sends RST instead of FIN
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def start(self) -> DroppingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> DroppingServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def frame_answer(detections: dict[str, str], models: list[str]) -> dict[str, Any]:
    """A valid ``/enrich`` frame answer: every detection (id: type) ran ``models``
    (fields left null; the backend counts a model as run by ``models_used``)."""
    return {
        "detections": [
            {
                "detection_id": detection_id,
                "detection_type": detection_type,
                "models_used": models,
                "model_times_ms": dict.fromkeys(models, 1.0),
                "inference_time_ms": 1.0,
            }
            for detection_id, detection_type in detections.items()
        ],
        "models_used": models,
        "inference_time_ms": 1.0,
    }
