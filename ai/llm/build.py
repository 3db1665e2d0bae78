"""``python -m ai.llm.build``: build the upstream ``llama-server`` once, from source.

No prebuilt binary can be downloaded offline-friendly, but the ``llama-cpp-python``
source distribution on the package registry vendors the whole llama.cpp tree. This
fetches it with pip (the registry the machine already uses), extracts only
``vendor/llama.cpp``, configures it with CMake (no curl, no OpenSSL, no tests or
examples, static) and builds the ``llama-server`` target alone: one ~15 MB binary, about
7 minutes on 2 CPUs. The binary is kept outside the checkout (``LLAMA_SERVER_BIN``, or
``~/.cache/ai-fleet/llama-server/<version>/``) and reused: a second run returns at once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

# The llama-cpp-python release whose vendored llama.cpp is built (its server's API is the
# one the backend's LLM client is tested against).
LLAMA_CPP_PYTHON = "0.3.36"
BINARY = "llama-server"


def default_binary() -> Path:
    configured = os.environ.get("LLAMA_SERVER_BIN")
    if configured:
        return Path(configured).expanduser()
    # A built tool, not a cache of the services (CACHE_DIR): one per machine and version.
    return Path.home() / ".cache" / "ai-fleet" / "llama-server" / LLAMA_CPP_PYTHON / BINARY


def works(binary: Path) -> bool:
    """The binary exists and answers ``--version`` (a half-copied file does not)."""
    if not binary.is_file():
        return False
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def step(message: str) -> None:
    print(f"[llama-server] {message}", flush=True)


def fetch_source(work: Path) -> Path:
    """The sdist from the package registry, unpacked to its vendored llama.cpp tree."""
    step(f"fetching the llama-cpp-python {LLAMA_CPP_PYTHON} source distribution (vendors llama.cpp)")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            "--quiet", "-d", str(work), f"llama-cpp-python=={LLAMA_CPP_PYTHON}",
        ],
        check=True,
    )  # fmt: skip
    archive = next(work.glob("llama_cpp_python-*.tar.gz"))
    prefix = f"{archive.name.removesuffix('.tar.gz')}/vendor/llama.cpp/"
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        tar.extractall(work, members=members, filter="data")
    return work / prefix


def configure_and_build(source: Path, jobs: int, cuda: bool) -> Path:
    build = source / "build"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    flags = [
        "-DCMAKE_BUILD_TYPE=Release",
        "-DLLAMA_CURL=OFF",
        "-DLLAMA_OPENSSL=OFF",
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF",
        "-DLLAMA_BUILD_SERVER=ON",
        "-DBUILD_SHARED_LIBS=OFF",
        f"-DGGML_CUDA={'ON' if cuda else 'OFF'}",
    ]
    step("configuring with CMake")
    subprocess.run(["cmake", "-S", str(source), "-B", str(build), *generator, *flags], check=True)
    step(f"building the {BINARY} target with {jobs} job(s) (about 7 minutes on 2 CPUs)")
    subprocess.run(["cmake", "--build", str(build), "--target", BINARY, "-j", str(jobs)], check=True)
    return build / "bin" / BINARY


def build(dest: Path, jobs: int, cuda: bool = False, force: bool = False) -> Path:
    """``dest`` holding a working ``llama-server``; built only when it does not."""
    if works(dest) and not force:
        step(f"present: {dest}")
        return dest
    missing = [tool for tool in ("cmake", "c++") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"[llama-server] error: building needs {' and '.join(missing)} (e.g. apt install cmake g++)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="llama-build-") as tmp:
        binary = configure_and_build(fetch_source(Path(tmp)), jobs, cuda)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.with_name(f".{dest.name}.tmp")
        shutil.copy2(binary, staging)
        staging.replace(dest)  # never a half-written binary at the final path
    step(f"built {dest} in {time.monotonic() - started:.0f} s")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ai.llm.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=None, help="where the binary goes (default: LLAMA_SERVER_BIN)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--cuda", action="store_true", help="build with CUDA (needs the CUDA toolkit)")
    parser.add_argument("--force", action="store_true", help="rebuild even when a working binary is present")
    args = parser.parse_args(argv)
    build(args.dest or default_binary(), args.jobs, args.cuda, args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
