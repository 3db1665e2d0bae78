"""Start ``llama-server`` the way the fleet runs it, wait for ``/health``, forward signals.

The command line is built from :class:`LlmSettings` (``MODEL_PATH``, ``GPU_LAYERS``,
``CTX_SIZE``, ``PORT``, ...) exactly as the upstream container is configured in
production, so local runs and tests exercise the same server with the same options:
``--jinja`` (the model's own chat template, which ``response_format`` JSON schemas need)
and ``--metrics`` (Prometheus at ``/metrics``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from ai.llm.build import default_binary, works
from ai.llm.settings import LlmSettings

MODEL = "nemotron"


class LaunchError(RuntimeError):
    """A problem an operator fixes (a missing binary or model), said in one line."""


def model_file(settings: LlmSettings) -> Path:
    """``MODEL_PATH``, else the catalog row's weights in the model store."""
    from ai.runtime.catalog import load_catalog
    from ai.runtime.model_env import model_env
    from ai.runtime.resolve import resolve_weights

    if settings.model_path is not None:
        if not settings.model_path.is_file():
            raise LaunchError(f"MODEL_PATH={settings.model_path} is not a file (a .gguf model is needed)")
        return settings.model_path
    entry = load_catalog()[MODEL]
    found = resolve_weights(entry, settings.ai_models_path, None, model_env(entry).model_path)
    if found.path is None:
        raise LaunchError(
            f"no GGUF model: set MODEL_PATH, or put one in {settings.ai_models_path}/model-zoo/{MODEL}/ "
            f"(python -m ai.models pull {MODEL}; demo weights: python -m ai.models make-demo {MODEL})"
        )
    return found.path


def server_binary(settings: LlmSettings) -> Path:
    binary = settings.server_bin or default_binary()
    if not works(binary):
        raise LaunchError(f"no working llama-server at {binary}: build it once with `make llama-server`")
    return binary


def command(settings: LlmSettings) -> list[str]:
    args = [
        str(server_binary(settings)),
        "--model", str(model_file(settings)),
        "--alias", settings.alias,
        "--host", settings.host,
        "--port", str(settings.port),
        "--ctx-size", str(settings.ctx_size),
        "--n-gpu-layers", str(settings.gpu_layers),
        "--parallel", str(settings.parallel),
        "--jinja",
        "--metrics",
        "--offline",  # never fetch anything at run time
        "--log-verbosity", str(settings.log_verbosity),
    ]  # fmt: skip
    if settings.threads:
        args += ["--threads", str(settings.threads)]
    return args


def child_env(settings: LlmSettings) -> dict[str, str]:
    """The server's environment: the API key goes here (llama-server reads LLAMA_API_KEY),
    never on the command line, where any local user could read it."""
    env = dict(os.environ)
    env.pop("LLAMA_API_KEY", None)
    if settings.api_key is not None and settings.api_key.get_secret_value():
        env["LLAMA_API_KEY"] = settings.api_key.get_secret_value()
    return env


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Until ``/health`` answers 200 (it answers 503 while the model loads)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise LaunchError(f"llama-server exited with status {process.returncode} before it was healthy")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise LaunchError(f"llama-server did not become healthy within {timeout_s:.0f} s")
        time.sleep(0.2)


@contextlib.contextmanager
def running(settings: LlmSettings) -> Iterator[str]:
    """``llama-server`` started and healthy; its URL. Stopped on the way out."""
    process = subprocess.Popen(command(settings), env=child_env(settings))
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"http://{host}:{settings.port}"
    try:
        wait_healthy(url, process, settings.health_timeout_s)
        yield url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> int:
    settings = LlmSettings()
    try:
        process = subprocess.Popen(command(settings), env=child_env(settings))
    except LaunchError as exc:
        print(f"[llm] error: {exc}", file=sys.stderr)
        return 2

    def forward(signum: int, _frame: object) -> None:
        if process.poll() is None:
            process.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    try:
        wait_healthy(f"http://{host}:{settings.port}", process, settings.health_timeout_s)
        print(f"[llm] llama-server healthy on port {settings.port}", flush=True)
    except LaunchError as exc:
        print(f"[llm] error: {exc}", file=sys.stderr)
        if process.poll() is None:
            process.terminate()
        process.wait()
        return 1
    return process.wait()
