"""The README's resume sample, run as written: a ``Last-Event-ID`` that is not one of our
ids (``²`` passes ``str.isdigit()`` and then crashes ``int()``) starts afresh, never a 500."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_routing import Route

README = Path(__file__).parents[3] / "plugins" / "sse" / "README.md"

pytestmark = pytest.mark.timeout(20)


def resume_sample() -> dict[str, Any]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Resuming with `Last-Event-ID`") :]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)[:1]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    ("header", "position"),
    [
        (None, 0),
        ("0", 1),
        ("2", 3),
        ("²", 0),
        ("\u0661", 0),  # an Arabic-Indic digit one: isdigit() says yes too
        ("-1", 0),
        (" 1", 0),
        ("1_0", 0),
        ("9" * 19, 0),  # longer than any id of ours: never converted
        ("99", 3),  # past the end: clamped to the log
    ],
)
def test_resume_position_is_strict(header: str | None, position: int) -> None:
    sample = resume_sample()
    sample["log"].extend(["a", "b", "c"])
    assert sample["resume_position"](header) == position


@pytest.mark.parametrize("header", ["1", "²"])
def test_the_feed_resumes_or_starts_afresh(header: str) -> None:
    sample = resume_sample()
    sample["log"].extend(["a", "b", "c"])
    app = make_app("routing", "sse", routes=[Route("/feed", sample["feed"])])
    with (
        TestClient(app) as client,
        client.stream("GET", "/feed", headers={"last-event-id": header.encode()}) as response,
    ):
        assert response.status_code == 200
        data = []
        for line in response.iter_lines():
            if line.startswith("data: "):
                data.append(line[len("data: ") :])
            if data and data[-1] == "c":
                break
    assert data == (["c"] if header == "1" else ["a", "b", "c"])
