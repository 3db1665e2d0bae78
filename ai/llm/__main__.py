"""``python -m ai.llm``: start the upstream llama.cpp server (port 8091) with the
specification's variables, wait until it answers ``/health``, forward signals to it and
exit with its status. A thin launcher: every request is served by ``llama-server``."""

from __future__ import annotations

from ai.llm.server import main

if __name__ == "__main__":
    raise SystemExit(main())
