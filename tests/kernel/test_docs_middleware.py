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
