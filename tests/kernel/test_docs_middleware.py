"""The Python samples of ``docs/middleware.md``'s "Function middleware" section, run as
written (each ends in asserts of its own)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "middleware.md"


def samples() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Function middleware") :]
    section = section[: section.find("\n## ", 1) if "\n## " in section[1:] else None]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.mark.parametrize("code", samples())
def test_function_middleware_samples_run(code: str) -> None:
    exec(compile(code, str(DOC), "exec"), {"__name__": "docs_sample"})


def test_there_is_a_sample() -> None:
    assert samples()


def ranges_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("### Priority ranges") : text.index("### Starlette-style entries")]


def test_the_priority_ranges_sample_runs() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", ranges_section(), re.S)
    exec(compile(code, str(DOC), "exec"), {"__name__": "docs_sample"})


def test_every_first_party_layer_keeps_to_the_first_party_range() -> None:
    """The ranges table promises third parties 200-999 (and -99..-1 in outermost) free of
    first-party layers: every first-party plugin's layer, each enabled, stays in 0-199."""
    from lamina.testing import make_app

    settings = {
        "guards": {"trusted_hosts": ["testserver"], "https_redirect": True},
        "cors": {"allow_origins": ["https://app.example.com"]},
        "sessions": {"secret_key": "ranges-test-secret-0123456789abcdef"},
    }
    first_party = ["guards", "cors", "gzip", "background", "sessions", "auth", "routing"]
    app = make_app(*first_party, settings=settings)
    app.assemble()
    rows = app.describe_middleware()
    assert {row["plugin"] for row in rows} == {
        "guards",
        "cors",
        "gzip",
        "background",
        "sessions",
        "auth",
    }
    for row in rows:
        assert 0 <= row["priority"] <= 199, row
    assert "**200\u2013999**" in ranges_section()
