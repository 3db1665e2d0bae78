"""A Hugging Face hub on loopback, serving one folder as a model repository, for the
download success path: the real hub client is pointed at it with ``HF_ENDPOINT`` (its
documented setting for a private hub mirror), so nothing in the client is mocked. It
answers what a snapshot download asks: the repository's info with its files and sizes,
its file tree, and each file's metadata (HEAD) and content (GET)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fake_hub(repo_id: str, folder: Path) -> tuple[Starlette, list[str]]:
    """The app, and the list of paths it was asked for (for assertions)."""
    files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    etags = {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in files.items()}
    seen: list[str] = []

    def info(request: Request) -> Response:
        seen.append(request.url.path)
        if f"{request.path_params['org']}/{request.path_params['name']}" != repo_id:
            return JSONResponse({"error": "Repository not found"}, status_code=404)
        siblings = [{"rfilename": name, "size": p.stat().st_size} for name, p in files.items()]
        return JSONResponse({"id": repo_id, "modelId": repo_id, "sha": COMMIT, "private": False, "siblings": siblings})

    def tree(request: Request) -> Response:
        seen.append(request.url.path)
        entries = [
            {"type": "file", "path": name, "size": p.stat().st_size, "oid": etags[name][:40]}
            for name, p in files.items()
        ]
        return JSONResponse(entries)

    def resolve(request: Request) -> Response:
        seen.append(request.url.path)
        name = request.path_params["path"]
        if name not in files:
            return Response(status_code=404, headers={"X-Error-Code": "EntryNotFound"})
        headers = {"ETag": f'"{etags[name]}"', "X-Repo-Commit": COMMIT}
        if request.method == "HEAD":
            return Response(headers={**headers, "Content-Length": str(files[name].stat().st_size)})
        return FileResponse(files[name], headers=headers)

    routes = [
        Route("/api/models/{org}/{name}", info),
        Route("/api/models/{org}/{name}/revision/{revision}", info),
        Route("/api/models/{org}/{name}/tree/{revision}", tree),
        Route("/{org}/{name}/resolve/{revision}/{path:path}", resolve, methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes), seen
