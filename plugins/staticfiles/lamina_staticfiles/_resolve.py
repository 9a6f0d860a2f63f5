"""Turning a request path into a file inside a served directory, safely.

Two stages, so the dangerous decisions are made on plain strings before any system call:

1. :func:`split_path` (on the event loop) cuts the already percent-decoded ASGI path into
   segments and refuses any ``..`` segment, backslash, NUL byte or (on Windows) drive
   letter, and any empty segment inside the path (``//etc/passwd``, an absolute path in
   disguise). The path is never decoded a second time, so ``%252e%252e`` stays the literal
   name ``%2e%2e``. ``.`` segments are dropped; a joined path can never become absolute.
2. :class:`Source.open` (in a worker thread) walks the segments below the source's real
   root. Unless symlinks are followed, every symlink met on the way is resolved and must
   land inside the root, and the final component is opened with ``O_NOFOLLOW`` so a symlink
   there is noticed by the open itself (no extra ``lstat`` in the common case).
"""

from __future__ import annotations

import errno
import os
import stat
from importlib import resources
from pathlib import Path

from lamina import AssemblyError
from lamina.plugin import O_NOFOLLOW, FileSnapshot, NotAFile, open_snapshot

__all__ = ["Source", "package_directory", "split_path"]

_WINDOWS = os.name == "nt"
_BAD_CHARS = ("\\", "\x00", ":") if _WINDOWS else ("\\", "\x00")


def split_path(route_path: str) -> list[str] | None:
    """Segments of ``route_path`` relative to the served root, or ``None`` if unsafe."""
    segments = []
    parts = route_path.split("/")
    last = len(parts) - 1
    for index, segment in enumerate(parts):
        if not segment:
            if 0 < index < last:
                return None  # "//etc/passwd": an absolute path smuggled in, not a file name
            continue
        if segment == ".":
            continue
        if segment == ".." or any(c in segment for c in _BAD_CHARS):
            return None
        if _WINDOWS and segment.rstrip(". ") != segment:
            return None  # "foo." and "foo " alias "foo" on Windows.
        if not segment.isascii():
            try:
                os.fsencode(segment)
            except UnicodeError:
                return None  # a lone surrogate cannot name a file: never reach the OS
        segments.append(segment)
    return segments


def package_directory(spec: str) -> str:
    """``"pkg"`` or ``"pkg:subdir"`` -> a directory on disk (``subdir`` defaults to static)."""
    package, _, subdir = spec.partition(":")
    try:
        root = resources.files(package)
    except (ModuleNotFoundError, TypeError) as exc:
        raise AssemblyError(f"static files: cannot import package {package!r}: {exc}") from None
    target = root.joinpath(subdir or "static")
    if not isinstance(target, Path):
        raise AssemblyError(
            f"static files: package {package!r} is not installed as plain files on disk "
            "(zipped?); static files can only be served from a real directory"
        )
    return str(target)


class Source:
    """One served directory: resolved once, then only read."""

    __slots__ = ("follow_symlinks", "label", "root")

    def __init__(
        self,
        directory: str | os.PathLike[str],
        label: str | None = None,
        follow_symlinks: bool = False,
        check: bool = True,
    ) -> None:
        path = os.fspath(directory)
        self.label = label or path
        if check and not os.path.isdir(path):
            what = "is not a directory" if os.path.exists(path) else "does not exist"
            raise AssemblyError(
                f"static files: directory {path!r} {what}"
                + (f" (from {label})" if label and label != path else "")
                + "; create it or fix the setting"
            )
        self.root = os.path.realpath(path)
        self.follow_symlinks = follow_symlinks

    def _inside(self, real: str) -> bool:
        root = self.root
        return real == root or real.startswith(root if root.endswith(os.sep) else root + os.sep)

    def locate(self, segments: list[str]) -> str | None:
        """The path of ``segments`` under the root with every symlink on the way checked.

        Returns ``None`` when a symlink leads outside. The final component is not checked
        here: :meth:`open` opens it with ``O_NOFOLLOW``. Raises ``OSError`` when missing.
        """
        current = self.root
        if self.follow_symlinks:
            return os.path.join(current, *segments) if segments else current
        for segment in segments[:-1]:
            step = os.path.join(current, segment)
            if stat.S_ISLNK(os.lstat(step).st_mode):
                step = os.path.realpath(step)
                if not self._inside(step):
                    return None
            current = step
        return os.path.join(current, segments[-1]) if segments else current

    def open(self, path: str, read_limit: int, read: bool) -> FileSnapshot | None:
        """Open a located path; ``None`` when a final symlink leads outside the root.

        Raises ``OSError`` (missing, unreadable) or :class:`NotAFile` (``is_dir`` tells a
        directory apart).
        """
        if self.follow_symlinks:
            return open_snapshot(path, read_limit, read)
        if not O_NOFOLLOW:  # pragma: no cover - Windows: check before opening.
            real = os.path.realpath(path)
            return open_snapshot(real, read_limit, read) if self._inside(real) else None
        try:
            return open_snapshot(path, read_limit, read, nofollow=True)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.EMLINK) or isinstance(exc, NotAFile):
                raise
        real = os.path.realpath(path)
        if not self._inside(real):
            return None
        return open_snapshot(real, read_limit, read)

    def is_symlink_safe(self, path: str) -> bool:
        """Whether a located directory path (which may itself be a symlink) stays inside."""
        if self.follow_symlinks:
            return True
        return self._inside(os.path.realpath(path))

    def __repr__(self) -> str:
        return f"Source({self.root!r})"
