"""``python -m lamina``: the ``lamina`` command line."""

from __future__ import annotations

from lamina.cli import main

raise SystemExit(main())
