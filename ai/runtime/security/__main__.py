"""``python -m ai.runtime.security``: create, revoke and list API keys in a keys file.

A new key is printed once and never stored; the file keeps only its SHA-256 hash.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from ai.runtime.errors import StartupError
from ai.runtime.security.keys import ApiKey, hash_key, new_key, parse_scopes, read_keys_file, timestamp, write_keys_file


def _load(path: Path) -> list[ApiKey]:
    return read_keys_file(path) if path.exists() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ai.runtime.security", description=__doc__)
    parser.add_argument(
        "--file",
        type=Path,
        default=Path(os.environ.get("API_KEYS_FILE", "api_keys.json")),
        help="keys file (default: $API_KEYS_FILE, else ./api_keys.json)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key; prints it once")
    create.add_argument("name")
    create.add_argument("--scopes", default="read,infer", help="read, infer, admin (comma-separated)")
    create.add_argument("--rate-limit-per-minute", type=float, default=None)
    revoke = commands.add_parser("revoke", help="revoke a key by name (it is kept, marked revoked)")
    revoke.add_argument("name")
    commands.add_parser("list", help="list key names and scopes")
    args = parser.parse_args(argv)
    try:
        keys = _load(args.file)
        if args.command == "create":
            if any(k.name == args.name for k in keys):
                raise StartupError(f"a key named {args.name!r} exists in {args.file}; revoke it or pick another name")
            token = new_key()
            scopes = parse_scopes(args.scopes, "--scopes")
            keys.append(
                ApiKey(
                    args.name, hash_key(token), scopes, rate_per_minute=args.rate_limit_per_minute, created=timestamp()
                )
            )
            write_keys_file(args.file, keys)
            print(token)
            print(
                f"key {args.name!r} ({', '.join(sorted(scopes))}) stored as a hash in {args.file}; "
                "this is the only time it is shown",
                file=sys.stderr,
            )
        elif args.command == "revoke":
            if not any(k.name == args.name for k in keys):
                raise StartupError(f"no key named {args.name!r} in {args.file}")
            write_keys_file(args.file, [replace(k, revoked=True) if k.name == args.name else k for k in keys])
            print(f"revoked {args.name!r}; services re-read {args.file} within a second", file=sys.stderr)
        else:
            for key in keys:
                state = "revoked" if key.revoked else "active"
                print(f"{key.name}\t{','.join(sorted(key.scopes))}\t{state}")
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
