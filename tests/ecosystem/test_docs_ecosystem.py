"""Every Python sample in docs/ecosystem.md runs as written, each in a fresh namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "ecosystem.md"
SAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_doc_has_samples() -> None:
    assert len(SAMPLES) >= 10


@pytest.mark.parametrize("source", SAMPLES, ids=[f"sample-{n}" for n in range(len(SAMPLES))])
def test_sample_runs(source: str) -> None:
    code = compile(source, f"{DOC.name} sample", "exec")
    exec(code, {"__name__": "ecosystem_doc_sample"})
