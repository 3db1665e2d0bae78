"""``python -m ai.launch``: run the fleet as local processes (no Docker needed).

Reads ``.env`` when present, writes demo weights for models that have no weights
(real weights are never touched), starts each service with its own port and role (the
LLM through ``python -m ai.llm``), waits until each answers ``/health``, prints where
everything is, feeds the sample photos through ``/api/analyze`` and prints the events,
and stops them all on Ctrl+C. ``--check`` also sends one request to each service and exits.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ai.demo_feed import feed, say

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / ".data"
HEALTH_TIMEOUT_S = 180.0


@dataclass
class Service:
    name: str
    module: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a .env file (comments, blanks and ``export`` ignored)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.split(" #", 1)[0].strip().strip("'\"")
        values[key.strip()] = value
    return values


def gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        return 0


def plan_services(env: Mapping[str, str]) -> list[Service]:
    """The fleet's processes with their ports and devices (launcher variables in .env.example)."""
    gpus = gpu_count()
    light_device = env.get("ENRICHMENT_LIGHT_DEVICE") or ("cuda:1" if gpus >= 2 else "auto")
    heavy_device = env.get("ENRICHMENT_HEAVY_DEVICE") or "auto"
    light_port = int(env.get("ENRICHMENT_LIGHT_PORT", "8096"))
    heavy_port = int(env.get("ENRICHMENT_HEAVY_PORT", "8094"))
    backend_port = int(env.get("BACKEND_PORT", "8000"))
    detector_port = int(env.get("DETECTOR_PORT", "8095"))
    detector_device = env.get("DETECTOR_DEVICE") or "auto"
    florence_port = int(env.get("FLORENCE_PORT", "8092"))
    clip_port = int(env.get("CLIP_PORT", "8093"))
    llm_port = int(env.get("LLM_PORT", "8091"))
    # The model services are only reached by the backend, over loopback; the backend
    # listens where LAUNCH_BACKEND_HOST says (loopback unless the operator opens it).
    local = {"HOST": "127.0.0.1"}
    backend_env = {
        "HOST": env.get("LAUNCH_BACKEND_HOST", "127.0.0.1"),
        "PORT": str(backend_port),
        "ENRICHMENT_LIGHT_URL": f"http://127.0.0.1:{light_port}",
        "ENRICHMENT_URL": f"http://127.0.0.1:{heavy_port}",
        "DETECTOR_URL": f"http://127.0.0.1:{detector_port}",
        "FLORENCE_URL": f"http://127.0.0.1:{florence_port}",
        "CLIP_URL": f"http://127.0.0.1:{clip_port}",
        "LLM_URL": f"http://127.0.0.1:{llm_port}",
        "DATA_DIR": env.get("DATA_DIR", str(DEFAULT_DATA / "backend")),
    }
    detector_env = {
        **local,
        "PORT": str(detector_port),
        "DEVICE": detector_device,
        "DETECTOR_DATA_DIR": env.get("DETECTOR_DATA_DIR", str(DEFAULT_DATA / "detector")),
    }
    return [
        Service("llm", "ai.llm", llm_port, {**local, "PORT": str(llm_port), **llm_context(env)}),
        Service("detector", "ai.detector", detector_port, detector_env),
        Service(
            "florence",
            "ai.florence",
            florence_port,
            {**local, "PORT": str(florence_port), "DEVICE": env.get("FLORENCE_DEVICE") or "auto"},
        ),
        Service(
            "clip",
            "ai.clip",
            clip_port,
            {**local, "PORT": str(clip_port), "DEVICE": env.get("CLIP_DEVICE") or ("cuda:1" if gpus >= 2 else "auto")},
        ),
        Service(
            "enrichment-light",
            "ai.enrichment",
            light_port,
            {**local, "ENRICHMENT_ROLE": "light", "PORT": str(light_port), "DEVICE": light_device},
        ),
        Service(
            "enrichment-heavy",
            "ai.enrichment",
            heavy_port,
            {**local, "ENRICHMENT_ROLE": "heavy", "PORT": str(heavy_port), "DEVICE": heavy_device},
        ),
        Service("backend", "backend", backend_port, backend_env),
    ]


# Demo GGUF prompts run at about one token per character (its vocabulary is tiny); a
# frame's prompt needs more context than a real model's 4096 would give each slot.
DEMO_CTX_SIZE = 16384


def llm_context(env: Mapping[str, str]) -> dict[str, str]:
    """``CTX_SIZE`` for the LLM: raised to DEMO_CTX_SIZE when it serves the demo GGUF."""
    models = Path(env.get("AI_MODELS_PATH", str(DEFAULT_DATA / "models")))
    demo = not env.get("MODEL_PATH") and (models / "model-zoo" / "nemotron" / "DEMO_WEIGHTS.json").exists()
    configured = int(env.get("CTX_SIZE") or 0)
    if demo and configured < DEMO_CTX_SIZE:
        return {"CTX_SIZE": str(DEMO_CTX_SIZE)}
    return {"CTX_SIZE": str(configured)} if configured else {}


def llm_missing(services: list[Service], env: Mapping[str, str]) -> str | None:
    """Why the LLM cannot start (no llama-server built), or None."""
    from ai.llm.build import default_binary, works

    binary = Path(env.get("LLAMA_SERVER_BIN") or default_binary()).expanduser()
    if any(s.name == "llm" for s in services) and not works(binary):
        return f"no llama-server at {binary}: `make llama-server` builds it once (make run does)"
    return None


def ensure_demo_weights(models_path: Path) -> None:
    """Demo weights for every model this build can run that has no weights yet."""
    from ai.models.demo import DemoError, write_demo_weights
    from ai.runtime.catalog import load_catalog
    from ai.runtime.families import get_family
    from ai.runtime.resolve import resolve_weights

    missing = [
        entry
        for entry in load_catalog().values()
        if get_family(entry.family) is not None
        and not (entry.model_extra or {}).get("optional")  # served only when its own path is set
        and not resolve_weights(entry, models_path).available
    ]
    for i, entry in enumerate(missing, 1):
        print(f"[launch] demo weights {i}/{len(missing)}: {entry.name}", flush=True)
        try:
            write_demo_weights(entry, models_path)
        except DemoError as exc:
            print(f"[launch] skipped {entry.name}: {exc}", flush=True)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pump(service: Service) -> None:
    assert service.process is not None and service.process.stdout is not None
    for line in service.process.stdout:
        say(f"[{service.name}] {line.rstrip()}")


def start(service: Service, base_env: Mapping[str, str]) -> None:
    env = {**base_env, **service.env, "PYTHONUNBUFFERED": "1"}
    service.process = subprocess.Popen(
        [sys.executable, "-m", service.module],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    threading.Thread(target=_pump, args=(service,), daemon=True).start()


def wait_healthy(services: list[Service]) -> dict[str, dict[str, object]]:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    health: dict[str, dict[str, object]] = {}
    while len(health) < len(services):
        for service in services:
            if service.name in health:
                continue
            if service.process is not None and service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited with code {service.process.returncode}; see its log above")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = httpx.get(f"{service.url}/health", timeout=2)
                if answer.status_code == 200:  # llama-server answers 503 while its model loads
                    health[service.name] = answer.json()
        if time.monotonic() > deadline:
            waiting = [s.name for s in services if s.name not in health]
            raise RuntimeError(f"no /health from {', '.join(waiting)} after {HEALTH_TIMEOUT_S:.0f}s")
        time.sleep(0.3)
    return health


def stop(services: list[Service]) -> None:
    for service in services:
        if service.process is not None and service.process.poll() is None:
            service.process.terminate()
    for service in services:
        if service.process is not None:
            try:
                service.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                service.process.kill()


def summary(services: list[Service], health: dict[str, dict[str, object]]) -> str:
    lines = ["", "fleet is up:"]
    for service in services:
        info = health[service.name]
        demo = [name for name, flag in dict(info.get("demo_weights", {})).items() if flag]  # type: ignore[arg-type]
        note = f"  (demo weights: {', '.join(demo)})" if demo else ""
        api = f"OpenAI API {service.url}/v1" if service.name == "llm" else f"docs {service.url}/docs"
        lines.append(f"  {service.name:<18} {service.url}  {info.get('status')}  {api}{note}")
    url = {s.name: s.url for s in services}
    backend = next(s for s in services if s.name == "backend")
    sample = ROOT / "docs" / "sample.jpg"
    lines += [
        "",
        "try it: the objects in a frame, a caption, a zero-shot label, then one detection through the backend:",
        f"  curl -s {url['detector']}/detect -F file=@{sample}",
        f"  curl -s {url['florence']}/caption -F file=@{sample}",
        f'  printf \'{{"image": "%s", "labels": ["person", "car", "dog"]}}\' "$(base64 -w0 {sample})" \\',
        f"    | curl -s {url['clip']}/classify -H 'content-type: application/json' -d @-",
        f'  printf \'{{"image": "%s", "bbox": [50, 200, 300, 900], "detection_type": "person"}}\' '
        f'"$(base64 -w0 {sample})" \\',
        f"    | curl -s {backend.url}/api/enrich -H 'content-type: application/json' -d @-",
        f"  curl -s {backend.url}/api/system/model-zoo/status",
        f"  curl -s {backend.url}/api/analyze -F file=@{sample} -F camera_id=front-door   # a frame to a risk event",
        f"  curl -s {backend.url}/api/caption -F file=@{sample}                          # the homelab API",
        f"  curl -s {backend.url}/api/embed -H 'content-type: application/json' -d '{{\"texts\": [\"a dog\"]}}'",
        "",
        f"admin page (models, memory, latency, downloads, events): {backend.url}/admin",
    ]
    return "\n".join(lines)


def check(services: list[Service]) -> None:
    """A frame through detector, Florence-2 and CLIP, then one detection through the
    backend and both roles (CI uses it to prove `make run`)."""
    backend = next(s for s in services if s.name == "backend")
    detector = next(s for s in services if s.name == "detector")
    image = base64.b64encode((ROOT / "docs" / "sample.jpg").read_bytes()).decode()
    found = httpx.post(f"{detector.url}/detect", json={"image": image, "camera_id": "check"}, timeout=300)
    found.raise_for_status()
    objects = [f"{d['class']} {d['confidence']:.2f}" for d in found.json()["detections"]]
    say(f"[launch] check: /detect {found.json()['version']}: {', '.join(objects) or 'nothing'}")
    florence = next(s for s in services if s.name == "florence")
    caption = httpx.post(f"{florence.url}/caption", json={"image": image}, timeout=300)
    caption.raise_for_status()
    say(f"[launch] check: /caption {caption.json()['task']}: {caption.json()['caption']!r}")
    clip = next(s for s in services if s.name == "clip")
    labels = httpx.post(f"{clip.url}/classify", json={"image": image, "labels": ["person", "car", "dog"]}, timeout=300)
    labels.raise_for_status()
    say(f"[launch] check: /classify {labels.json()['top_label']} {labels.json()['top_score']:.2f}")
    detection = {"image": image, "bbox": [50, 200, 300, 900], "detection_type": "person", "detection_id": "check"}
    response = httpx.post(f"{backend.url}/api/enrich", json=detection, timeout=300)
    response.raise_for_status()
    body = response.json()
    say(f"[launch] check: /api/enrich {body['status']}, ran {body['models_used']}")
    say(body["context"])
    if body["status"] != "FULL":
        raise RuntimeError(f"the check detection was not enriched in full: {body['errors']}")


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    """Treat SIGTERM like Ctrl+C, so the children are stopped on the way out."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ai.launch", description=__doc__)
    parser.add_argument("--env-file", default=str(ROOT / ".env"))
    parser.add_argument("--no-demo", action="store_true", help="do not write demo weights for missing models")
    parser.add_argument("--check", action="store_true", help="start, analyse the samples, send checks, stop")
    parser.add_argument("--no-feed", action="store_true", help="do not analyse the sample photos at start")
    args = parser.parse_args(argv)

    env = {**read_env_file(Path(args.env_file)), **os.environ}
    env.setdefault("AI_MODELS_PATH", str(DEFAULT_DATA / "models"))
    env.setdefault("CACHE_DIR", str(DEFAULT_DATA / "cache"))
    services = plan_services(env)
    busy = [f"{s.name} port {s.port}" for s in services if not port_free(s.port)]
    if busy:
        print(
            f"[launch] error: in use: {', '.join(busy)}; stop what holds it or set its *_PORT in .env", file=sys.stderr
        )
        return 1
    if not args.no_demo:
        ensure_demo_weights(Path(env["AI_MODELS_PATH"]))
    missing = llm_missing(services, env)
    if missing:
        print(f"[launch] warning: the LLM is left out ({missing}); risk analyses will fail", file=sys.stderr)
        services = [s for s in services if s.name != "llm"]
    for service in services:
        if service.name == "llm":
            service.env.update(llm_context(env))  # the demo GGUF may have just been written

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        for service in services:
            start(service, env)
        health = wait_healthy(services)
        say(summary(services, health))
        if not args.no_feed:
            try:
                events = feed(next(s for s in services if s.name == "backend").url, env.get("LAUNCH_API_KEY"))
            except httpx.HTTPError as exc:  # the fleet stays up: the samples are a demo, not the service
                if args.check:
                    raise RuntimeError(f"the sample frames could not be analysed: {exc}") from exc
                print(f"[launch] warning: the sample frames could not be analysed: {exc}", file=sys.stderr)
                events = []
            if args.check and not any(e["risk_score"] is not None and e["stored"] for e in events):
                raise RuntimeError("no sample frame became a stored event with a risk score")
        if args.check:
            check(services)
            return 0
        say("\nthe fleet keeps running; Ctrl+C stops everything.")
        while all(s.process is not None and s.process.poll() is None for s in services):
            time.sleep(0.5)
        print("[launch] a service exited; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(f"[launch] error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop(services)


if __name__ == "__main__":
    raise SystemExit(main())
