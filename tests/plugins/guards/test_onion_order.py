"""The documented onion order (docs/middleware.md) is what assembly and the CLI produce."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from lamina import cli

#: docs/middleware.md, outermost first: (name, phase, priority, plugin).
DOCUMENTED = [
    ("RequestHygieneMiddleware", "outermost", 5, "guards"),
    ("TrustedHostMiddleware", "outermost", 10, "guards"),
    ("HTTPSRedirectMiddleware", "outermost", 20, "guards"),
    ("BackgroundMiddleware", "outermost", 100, "background"),
    ("CORSMiddleware", "transport", 10, "cors"),
    ("GZipMiddleware", "transport", 20, "gzip"),
    ("SessionMiddleware", "session", 0, "sessions"),
    ("AuthMiddleware", "auth", 0, "auth"),
]
HERE = Path(__file__).parent


@pytest.fixture
def onion_module(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.delitem(sys.modules, "onion_app", raising=False)
    return "onion_app:app"


def test_assembled_order(onion_module: str) -> None:
    import onion_app

    rows = onion_app.app.describe_middleware()
    assert [(r["name"], r["phase"], r["priority"], r["plugin"]) for r in rows] == DOCUMENTED


def test_cli_prints_the_documented_order(
    onion_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["middleware", onion_module, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["phase"], r["priority"], r["plugin"]) for r in rows] == DOCUMENTED
    assert cli.main(["middleware", onion_module]) == 0
    lines = capsys.readouterr().out.splitlines()
    printed = [line.split()[1] for line in lines if line.strip()[:1].isdigit()]
    assert printed == [name for name, *_ in DOCUMENTED]


def documented_table() -> list[tuple[str, str, int, str]]:
    """The rows of the "documented order" table in docs/middleware.md, as written there."""
    doc = (HERE.parents[2] / "docs" / "middleware.md").read_text(encoding="utf-8")
    section = doc.split("## The documented order", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0].isdigit():
            rows.append((cells[1].strip("`"), cells[2], int(cells[3]), cells[4]))
    return rows


def test_docs_middleware_md_table_is_the_assembled_order(onion_module: str) -> None:
    import onion_app

    rows = onion_app.app.describe_middleware()
    assembled = [(r["name"], r["phase"], r["priority"], r["plugin"]) for r in rows]
    assert documented_table() == assembled


def test_docs_middleware_md_console_example_is_what_the_cli_prints(
    onion_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ``lamina middleware`` transcript in the docs matches the real output line by line
    (the docs' app has no sessions/auth, so it is the printed onion without those)."""
    doc = (HERE.parents[2] / "docs" / "middleware.md").read_text(encoding="utf-8")
    transcript = doc.split("$ lamina middleware", 1)[1].split("```", 1)[0].splitlines()[1:]
    assert cli.main(["middleware", onion_module]) == 0
    printed = capsys.readouterr().out.splitlines()
    without = [
        line for line in printed if "SessionMiddleware" not in line and "AuthMiddleware" not in line
    ]
    assert [line.rstrip() for line in transcript] == [line.rstrip() for line in without]
