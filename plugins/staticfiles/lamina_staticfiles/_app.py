"""``StaticFiles``: a plain ASGI app serving files from layered directories.

Per request it does the path checks on the event loop, then exactly one worker-thread hop
that finds the file, opens it, ``fstat``-s it and (when small) reads it, and finally hands
the opened :class:`lamina.plugin.FileSnapshot` to :class:`lamina.FileResponse`, which does the
validators, conditional requests and ranges without touching the disk again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from lamina import FileResponse, HTTPException, Lamina, PlainTextResponse, RedirectResponse
from lamina.plugin import (
    DEFAULT_CHUNK_SIZE,
    FileSnapshot,
    NotAFile,
    Receive,
    Scope,
    Send,
    run_in_thread,
)

from ._mime import content_type_for
from ._resolve import Source, package_directory, split_path

__all__ = ["StaticFiles"]

_ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
_ALLOW = {"Allow": "GET, HEAD"}
_CONDITIONAL = (b"if-none-match", b"if-modified-since")
#: RFC 3986 ``pchar`` and ``/``, minus ``%``: kept as they are in a redirect's path.
_PATH_SAFE = "/!$&'()*+,;=:@"

# Lookup outcomes (tuples keep the thread hop's return cheap).
_FILE, _REDIRECT, _NOT_FOUND_PAGE, _MISSING = 0, 1, 2, 3


def _close_result(result: tuple[Any, ...]) -> None:
    """A lookup whose requester went away: close what the thread opened."""
    for item in result:
        if isinstance(item, FileSnapshot):
            item.close()


def route_path(scope: Scope) -> str:
    """The path below the mount point: ``path`` minus ``root_path`` when it starts with it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        rest = path[len(root) :]
        if not rest or rest[0] == "/":
            return rest
    return path


def _accepted_encodings(value: str) -> tuple[tuple[str, str], ...]:
    """Which of br/gzip an ``Accept-Encoding`` value allows, in our order of preference,
    as ``(encoding, file suffix)`` pairs."""
    allowed: dict[str, bool] = {}
    star: bool | None = None
    for item in value.split(","):
        token, _, params = item.partition(";")
        token = token.strip().lower()
        ok = True
        for param in params.split(";"):
            key, _, q = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    ok = float(q) > 0
                except ValueError:
                    ok = False
        if token == "*":
            star = ok
        elif token:
            allowed[token] = ok
    return tuple(
        pair for pair in _ENCODINGS if allowed.get(pair[0], star if star is not None else False)
    )


class StaticFiles:
    """Serve files from one or more directories (or package data), GET and HEAD only.

    ``directory`` is a path or a list of paths; ``packages`` names packages whose
    ``static`` folder (or ``"pkg:folder"``) is served. Sources are layered in that order: the
    first one holding a path wins, so an app directory can override a package's file.

    ``html`` serves ``index.html`` for directories (redirecting ``/dir`` to ``/dir/``) and
    ``404.html`` for unknown paths. ``spa`` (implies ``html``) answers unknown paths with the
    root ``index.html`` when the client asks for HTML (``Accept: text/html``), the way
    browsers navigate, while scripts, images and API-style fetches still get a 404.

    ``follow_symlinks=False`` (the default) refuses every symlink that leads outside its
    directory. ``precompressed`` serves ``name.br`` / ``name.gz`` beside ``name`` to clients
    that accept that encoding. ``cache_control`` is sent with every file.

    A missing directory raises :class:`lamina.AssemblyError` here, at construction, unless
    ``check_dir=False``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        *,
        packages: Iterable[str | tuple[str, str]] | None = None,
        html: bool = False,
        spa: bool = False,
        follow_symlinks: bool = False,
        precompressed: bool = True,
        cache_control: str | None = None,
        check_dir: bool = True,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        dirs: list[str | os.PathLike[str]]
        if directory is None:
            dirs = []
        elif isinstance(directory, (str, os.PathLike)):
            dirs = [directory]
        else:
            dirs = list(directory)
        sources = [Source(d, follow_symlinks=follow_symlinks, check=check_dir) for d in dirs]
        for spec in packages or ():
            text = spec if isinstance(spec, str) else ":".join(spec)
            sources.append(
                Source(
                    package_directory(text),
                    label=f"package {text!r}",
                    follow_symlinks=follow_symlinks,
                    check=check_dir,
                )
            )
        if not sources:
            raise ValueError("StaticFiles needs a directory or packages to serve")
        self.sources = tuple(sources)
        self.html = html or spa
        self.spa = spa
        self.follow_symlinks = follow_symlinks
        self.precompressed = precompressed
        self.cache_control = cache_control
        self.chunk_size = chunk_size
        self._file_headers = {"cache-control": cache_control} if cache_control else {}

    # ------------------------------------------------------------------ lookup (worker thread)
    def _open_in(
        self,
        source: Source,
        segments: list[str],
        read: bool,
        encodings: tuple[tuple[str, str], ...],
        negotiate: bool = True,
    ) -> tuple[FileSnapshot, str | None] | None:
        """Open ``segments`` in one source, preferring a precompressed sibling.

        The second item is the ``Content-Encoding`` served, or ``""`` when the original is
        served although a sibling exists (the response still varies on Accept-Encoding),
        or ``None`` when there is nothing to negotiate. Raises :class:`NotAFile` (a
        directory) or ``OSError`` (missing) from the original.
        """
        path = source.locate(segments)
        if path is None:
            return None
        snapshot = source.open(path, self.chunk_size, read)
        if snapshot is None:
            return None
        for encoding, suffix in encodings:
            # Only a sibling of an existing regular file is served (the original was opened).
            try:
                sibling = source.open(path + suffix, self.chunk_size, read)
            except OSError:
                continue
            if sibling is not None:
                snapshot.close()
                return sibling, encoding
        if negotiate and self.precompressed and len(encodings) < len(_ENCODINGS):
            # Serving the original, but another client would get a sibling: say it varies,
            # or a shared cache could hand this copy to everyone (RFC 9110, 12.5.5).
            for encoding, suffix in _ENCODINGS:
                if (encoding, suffix) not in encodings and os.path.isfile(path + suffix):
                    return snapshot, ""
        return snapshot, None

    def _lookup(
        self,
        segments: list[str],
        slash: bool,
        read: bool,
        encodings: tuple[tuple[str, str], ...],
        wants_html: bool,
    ) -> tuple[Any, ...]:
        refused = False  # a symlink led outside: answer 404, never the SPA page
        for source in self.sources:
            try:
                found = self._open_in(source, segments, read, encodings)
            except NotAFile as exc:
                if not (exc.is_dir and self.html):
                    continue
                try:
                    found = self._open_in(
                        source, [*segments, "index.html"], read and slash, encodings
                    )
                except OSError:
                    continue
                if found is None:
                    refused = True
                    continue
                if not slash:
                    found[0].close()
                    return (_REDIRECT,)
                return (_FILE, found[0], found[1], "index.html")
            except OSError:
                continue
            if found is None:
                refused = True
                continue
            if slash:  # "/file.txt/": a file is not a directory
                found[0].close()
                continue
            return (_FILE, found[0], found[1], segments[-1])
        if not self.html:
            return (_MISSING,)
        if self.spa and wants_html and not refused:
            for source in self.sources:
                try:
                    found = self._open_in(source, ["index.html"], read, encodings)
                except OSError:
                    continue
                if found is not None:
                    return (_FILE, found[0], found[1], "index.html")
        for source in self.sources:
            try:
                found = self._open_in(source, ["404.html"], read, (), negotiate=False)
            except OSError:
                continue
            if found is not None:
                return (_NOT_FOUND_PAGE, found[0])
        return (_MISSING,)

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
                return
            raise RuntimeError(f"StaticFiles cannot handle {scope['type']!r} scopes")
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            await self._error(scope, receive, send, 405, _ALLOW)
            return
        path = route_path(scope)
        segments = split_path(path)
        if segments is None:
            await self._error(scope, receive, send, 404)
            return
        read = method == "GET"
        encodings: tuple[tuple[str, str], ...] = ()
        wants_html = False
        if self.precompressed or self.spa or read:
            for key, value in scope["headers"]:
                if key == b"accept-encoding" and self.precompressed:
                    encodings = _accepted_encodings(value.decode("latin-1"))
                elif key == b"accept" and self.spa:
                    wants_html = b"text/html" in value
                elif key in _CONDITIONAL:
                    read = False  # likely a 304: open and stat, read only if needed
        result = await run_in_thread(
            self._lookup,
            segments,
            path.endswith("/"),
            read,
            encodings,
            wants_html,
            on_abandon=_close_result,
        )
        kind = result[0]
        if kind == _FILE:
            _, snapshot, encoding, name = result
            headers = self._file_headers
            if encoding:
                headers = {**headers, "content-encoding": encoding, "vary": "Accept-Encoding"}
            elif encoding is not None:
                headers = {**headers, "vary": "Accept-Encoding"}
            response = FileResponse(
                snapshot.path,
                headers=headers,
                media_type=content_type_for(name),
                snapshot=snapshot,
                chunk_size=self.chunk_size,
            )
            await response(scope, receive, send)
        elif kind == _REDIRECT:
            await self._redirect(scope, receive, send)
        elif kind == _NOT_FOUND_PAGE:
            snapshot = result[1]
            response = FileResponse(
                snapshot.path,
                status_code=404,
                snapshot=snapshot,
                media_type="text/html; charset=utf-8",
                chunk_size=self.chunk_size,
            )
            await response(scope, receive, send)
        else:
            await self._error(scope, receive, send, 404)

    async def _redirect(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and not path.startswith(root):
            path = root + path
        # The ASGI path is decoded: encode it again, or a directory named "a?b", "a#b" or
        # "%2e%2e" would send the browser somewhere else (query, fragment, "..").
        url = quote(path, safe=_PATH_SAFE) + "/"
        query = scope.get("query_string", b"")
        if query:
            url += "?" + query.decode("latin-1")
        await RedirectResponse(url, status_code=307)(scope, receive, send)

    @staticmethod
    async def _error(
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Inside a Lamina app raise, so the app's handlers and middleware shape the error;
        mounted anywhere else, answer with a plain-text response."""
        if isinstance(scope.get("app"), Lamina):
            raise HTTPException(status, headers=headers)
        detail = "Not Found" if status == 404 else "Method Not Allowed"
        await PlainTextResponse(detail, status_code=status, headers=headers)(scope, receive, send)

    def __repr__(self) -> str:
        return f"StaticFiles({', '.join(s.label for s in self.sources)})"
