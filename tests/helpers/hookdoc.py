"""Render the hook reference (docs/hooks.md) from the hookspec docstrings.

    uv run python -m tests.helpers.hookdoc > docs/hooks.md

The docstrings are the source of truth; tests/kernel/test_hookspecs.py checks that each is
complete and that docs/hooks.md lists every kernel hook.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "lamina"


def spec_modules() -> list[str]:
    plugins = sorted(
        f"{p.parent.name}.hookspecs" for p in ROOT.glob("plugins/*/lamina_*/hookspecs.py")
    )
    return ["lamina._hookspecs", *plugins]


def render() -> str:
    out = [
        "# Hook reference",
        "",
        "Generated from the hook specifications' docstrings by "
        "`uv run python -m tests.helpers.hookdoc > docs/hooks.md`; edit the docstrings, not "
        "this file. Every hook is called at assembly, startup, shutdown or by the CLI — never "
        "per request. See [plugin-authors.md](plugin-authors.md) for a tutorial.",
        "",
    ]
    for module_name in spec_modules():
        module = importlib.import_module(module_name)
        owner = (
            "the kernel" if module_name == "lamina._hookspecs" else f"`{module_name.split('.')[0]}`"
        )
        out += [f"## `{module_name}` — hooks defined by {owner}", ""]
        intro = inspect.getdoc(module) or ""
        if intro:
            out += [intro, ""]
        for name, fn in vars(module).items():
            opts = getattr(fn, f"{PROJECT}_spec", None)
            if not inspect.isfunction(fn) or opts is None:
                continue
            flags = [k for k in ("firstresult", "historic") if opts.get(k)]
            signature = str(inspect.signature(fn)).replace("'", "")
            out += [f"### `{name}{signature}`", ""]
            if flags:
                out += [f"*{', '.join(flags)}*", ""]
            out += [inspect.getdoc(fn) or "", ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
