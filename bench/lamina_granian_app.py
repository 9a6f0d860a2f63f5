"""Lamina's column served by granian: the very app of ``lamina_app.py``, under another server.

``bench/peers_http.py`` starts a column that declares ``SERVER`` with ``lamina serve
--server SERVER`` (what a user runs) instead of the shared harness's uvicorn launcher. The
bench folder must be on ``sys.path`` (both scripts put it there), so that granian's worker
processes can import this module, and ``lamina_app``, by name.
"""

from __future__ import annotations

from lamina_app import NOTES, SKIP, VERSION, app, mw_app  # type: ignore[import-not-found]

SERVER = "granian"

__all__ = ["NOTES", "SERVER", "SKIP", "VERSION", "app", "mw_app"]
