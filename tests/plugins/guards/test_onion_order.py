"""The documented onion order (docs/middleware.md) is what assembly and the CLI produce."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from lamina import cli

#: docs/middleware.md, outermost first: (name, phase, priority, plugin).
DOCUMENTED = [
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


def test_documented_in_docs_middleware_md() -> None:
    doc = (HERE.parents[2] / "docs" / "middleware.md").read_text(encoding="utf-8")
    positions = [doc.index(f"`{name}`") for name, *_ in DOCUMENTED]
    assert positions == sorted(positions), "docs/middleware.md lists the layers out of order"
