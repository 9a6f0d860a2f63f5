"""Pointing at the template line that failed.

Jinja2 rewrites a render error's traceback so that template code appears as frames whose
file is the template's file; it raises those frames from a tiny module whose globals hold
``__jinja_exception__``. The innermost such frame is where the error happened.
"""

from __future__ import annotations

from collections.abc import Iterable

import jinja2

__all__ = ["TemplateRenderError", "locate"]


class TemplateRenderError(Exception):
    """A template failed to load or render; raised instead of the original in debug mode.

    The message starts with ``name:line`` (the template's name, as passed to
    ``get_template``, and the 1-based line in that file), so the kernel's debug page and the
    logs show where to look. The original exception is ``__cause__``.
    """

    def __init__(self, template: str | None, lineno: int | None, original: BaseException):
        self.template = template
        self.lineno = lineno
        self.original = original
        where = template or "<template>"
        if lineno is not None:
            where = f"{where}:{lineno}"
        detail = original.message if isinstance(original, jinja2.TemplateError) else None
        super().__init__(f"{where}: {type(original).__name__}: {detail or original}")


def locate(
    exc: BaseException, templates: Iterable[jinja2.Template], fallback: str | None = None
) -> tuple[str | None, int | None]:
    """``(template name, line)`` of the error, as precisely as Jinja2 lets us know.

    ``templates`` are the loaded templates used to turn a file name back into the template
    name; ``fallback`` is the name used when the error comes from outside any template file.
    """
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.name or exc.filename or fallback, exc.lineno
    if isinstance(exc, jinja2.TemplateNotFound):
        # the name may be an Undefined (a missing variable passed as a template name)
        return (None if exc.name is None else str(exc.name)), None
    filename: str | None = None
    lineno: int | None = None
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            filename, lineno = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    if filename is None:
        return fallback, None
    for template in templates:
        if template.filename == filename:
            return template.name, lineno
    return filename, lineno
