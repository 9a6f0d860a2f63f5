"""``docs/plugin-authors.md``'s runnable sample, run as written (it ends in asserts)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).parents[1] / "docs" / "plugin-authors.md"


def test_the_whole_contract_sample_runs() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## 6b.") : text.index("## 7.")]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    exec(compile(code, str(DOC), "exec", dont_inherit=True), {"__name__": "docs_sample"})
