#!/usr/bin/env python
"""Serve one bench column with ``lamina serve``: ``peers_serve.py SERVER COLUMN_FILE ATTR PORT``.

The counterpart of the shared harness's ``serve.py`` (which runs uvicorn) for the columns
``peers_http.py`` runs under another server. The harness folder goes at the END of
``sys.path`` (its ``http.py`` must not shadow the stdlib package) and the column's folder too;
the column is then served by its module name, as ``lamina serve`` takes it, on 127.0.0.1 with
one worker.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    server, column_file, attr, port = argv
    harness = Path(os.environ["LAMINA_BENCH_HARNESS"]).resolve()
    column = Path(column_file.removeprefix("file:")).resolve()
    here = Path(__file__).resolve().parent
    drop = {harness, column.parent, here}
    sys.path = [p for p in sys.path if Path(p or ".").resolve() not in drop]
    sys.path += [str(column.parent), str(harness)]

    from lamina.cli import main as lamina

    return lamina(
        [
            *("serve", f"{column.stem}:{attr}", "--server", server),
            *("--host", "127.0.0.1", "--workers", "1", "--log-level", "warning", "--port", port),
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
