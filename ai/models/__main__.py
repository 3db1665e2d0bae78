"""``python -m ai.models``: list the catalog, write demo weights, pull real weights."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from ai.contracts.enrichment_catalog import routing_table
from ai.models.progress import bar_printer, json_printer
from ai.models.pull import PullError, pull
from ai.runtime.catalog import CatalogEntry, load_catalog
from ai.runtime.settings import RuntimeSettings

# `pull` of a hub model needs only the hub client (the backend's image runs it with no
# model stack); `list` and `make-demo` import the families, hence torch, when they run.


def _select(names: list[str]) -> list[CatalogEntry]:
    catalog = load_catalog()
    unknown = [n for n in names if n not in catalog]
    if unknown:
        raise SystemExit(f"error: unknown model(s) {', '.join(unknown)}; known: {', '.join(sorted(catalog))}")
    return [catalog[n] for n in names] if names else list(catalog.values())


def cmd_list(args: argparse.Namespace, settings: RuntimeSettings) -> int:
    from ai.runtime.families import get_family
    from ai.runtime.resolve import resolve_weights

    rows = [("NAME", "SERVICE", "ROLE", "FAMILY", "PRIORITY", "VRAM_MB", "WEIGHTS", "WHERE")]
    roles = routing_table()  # where ENRICHMENT_<KEY>_SERVICE puts each enrichment model now
    for entry in _select(args.names):
        found = resolve_weights(entry, settings.ai_models_path, settings.hf_home)
        if get_family(entry.family) is None:
            state = "no-adapter"
        elif not found.available:
            state = "missing"
        else:
            state = "demo" if found.demo else "real"
        rows.append(
            (
                entry.name,
                entry.service,
                roles.get(entry.name, "-"),
                entry.family,
                entry.priority,
                f"{entry.vram_mb:.0f}",
                state,
                str(found.path) if found.path else entry.source,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"\nmodel store: {settings.model_zoo_path}  (AI_MODELS_PATH={settings.ai_models_path})")
    return 0


def cmd_make_demo(args: argparse.Namespace, settings: RuntimeSettings) -> int:
    from ai.models.demo import DemoError, write_demo_weights
    from ai.runtime.families import get_family

    dest = Path(args.dest) if args.dest else settings.ai_models_path
    entries = _select(args.names)
    if not args.names:  # all models whose family this build has
        entries = [e for e in entries if get_family(e.family) is not None]
    failures = 0
    for i, entry in enumerate(entries, 1):
        print(f"[{i}/{len(entries)}] {entry.name} ({entry.family}) ...", end=" ", flush=True)
        try:
            folder = write_demo_weights(entry, dest, force=args.force)
        except DemoError as exc:
            print(f"skipped: {exc}")
            failures += 1
            continue
        print(f"demo weights in {folder}")
    return 1 if failures and args.names else 0


def _stop_on_sigterm() -> None:
    """A stopped pull (the backend shutting down its job) cleans up as for Ctrl-C."""

    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)


def cmd_pull(args: argparse.Namespace, settings: RuntimeSettings) -> int:
    _stop_on_sigterm()
    dest = Path(args.dest) if args.dest else settings.ai_models_path
    status = 0
    for entry in _select(args.names):
        progress = {"bar": bar_printer, "json": json_printer}.get(args.progress)
        if args.progress != "json":
            print(f"pulling {entry.name} from {entry.source} ...", flush=True)
        try:
            folder = pull(entry, dest, settings.hf_home, progress() if progress else None)
        except PullError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
            if not exc.offline:
                continue
            print(
                "hint: this machine may be offline; pull on a machine with internet and copy the model store "
                f"({dest}, and the Hugging Face cache for hf: sources) here",
                file=sys.stderr,
            )
            continue
        if args.progress == "bar":
            print(file=sys.stderr)
        if args.progress == "json":
            print(json.dumps({"model": entry.name, "path": str(folder)}), flush=True)
        else:
            print(f"{entry.name}: weights in {folder}")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ai.models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="catalog with weight availability (real, demo, missing)")
    listing.add_argument("names", nargs="*")
    listing.set_defaults(func=cmd_list)
    demo = sub.add_parser("make-demo", help="write tiny random demo weights in each family's real format")
    demo.add_argument("names", nargs="*", help="models (default: every model this build can run)")
    demo.add_argument("--dest", help="models root; writes DEST/model-zoo/<name>/ (default: AI_MODELS_PATH)")
    demo.add_argument("--force", action="store_true", help="rewrite existing demo weights")
    demo.set_defaults(func=cmd_make_demo)
    fetch = sub.add_parser("pull", help="download real weights into the model store (needs internet)")
    fetch.add_argument("names", nargs="+")
    fetch.add_argument("--dest", help="models root (default: AI_MODELS_PATH); hf: sources go to HF_HOME/hub")
    fetch.add_argument(
        "--progress", choices=("bar", "json", "none"), default="bar", help="bar on stderr, or JSON lines on stdout"
    )
    fetch.set_defaults(func=cmd_pull)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return args.func(args, RuntimeSettings())


if __name__ == "__main__":
    raise SystemExit(main())
