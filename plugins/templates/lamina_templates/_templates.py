"""The per-app Jinja2 environment and the context every template sees."""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import jinja2
from lamina import AssemblyError, Request
from lamina.plugin import call_hook, collect_contributions

from ._errors import TemplateRenderError, locate

if TYPE_CHECKING:
    from lamina import Lamina
    from lamina.plugin import Background

    from ._response import TemplateResponse

__all__ = ["ContextProcessor", "TemplateSource", "Templates", "templates"]

#: A template directory (``str`` or path-like) or any Jinja2 loader.
TemplateSource: TypeAlias = str | os.PathLike[str] | jinja2.BaseLoader
#: ``processor(request)`` returns variables for every template (may be ``async def``).
ContextProcessor: TypeAlias = Callable[[Request], Mapping[str, Any] | Awaitable[Mapping[str, Any]]]
APP = "app"


@jinja2.pass_context
def _url_for(context: jinja2.runtime.Context, name: str, /, **path_params: Any) -> Any:
    """``url_for('route', **params)`` in a template: the request's absolute URL for a route."""
    request = context.get("request")
    if request is None:
        raise RuntimeError(
            f"url_for({name!r}) needs the request: render with a request "
            "(TemplateResponse, or render(..., request=request))"
        )
    return request.url_for(name, **path_params)


def _is_async(processor: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(processor) or inspect.iscoroutinefunction(
        getattr(processor, "__call__", None)  # noqa: B004 - an async __call__ on an object
    )


def _as_sources(directories: TemplateSource | Sequence[TemplateSource]) -> list[TemplateSource]:
    if isinstance(directories, (str, os.PathLike, jinja2.BaseLoader)):
        return [directories]
    return list(directories)


class Templates:
    """A Jinja2 environment plus the context processors that feed every template.

    Use it on its own (``Templates("templates")``) or let the plugin build one per app from
    the ``[templates]`` settings (``templates(app)``); the plugin's instance also collects
    the directories, context processors and environment tweaks that plugins contribute.

    The environment is built once: when the app assembles, or on first use of :attr:`env`
    if that comes earlier. Directories and processors must be added before that. Every
    template sees ``request`` and ``url_for``; HTML and XML files are autoescaped.
    """

    def __init__(
        self,
        directories: TemplateSource | Sequence[TemplateSource] = (),
        *,
        context_processors: Sequence[ContextProcessor] = (),
        auto_reload: bool | None = None,
        enable_async: bool = False,
        strict_undefined: bool = False,
        autoescape_extensions: Iterable[str] = ("html", "htm", "xml"),
        debug: bool | None = None,
        env_options: Mapping[str, Any] | None = None,
        app: Lamina | None = None,
    ) -> None:
        self._sources: list[tuple[str, TemplateSource]] = [
            (APP, s) for s in _as_sources(directories)
        ]
        self._processors: list[tuple[str, ContextProcessor]] = [
            (APP, p) for p in context_processors
        ]
        self.auto_reload = auto_reload
        self.enable_async = enable_async
        self.strict_undefined = strict_undefined
        self.autoescape_extensions = tuple(e.lstrip(".") for e in autoescape_extensions)
        #: ``None``: follow ``app.debug`` (of the app this belongs to, or the request's app).
        self.debug = debug
        self.env_options = dict(env_options or {})
        self.app = app
        self._env: jinja2.Environment | None = None
        self._sync_processors: tuple[ContextProcessor, ...] = ()
        self._ordered_processors: tuple[tuple[ContextProcessor, bool], ...] = ()
        self._has_async_processors = False
        #: True when responses can render as soon as they are built (no async anywhere).
        self.renders_eagerly = True

    @classmethod
    def for_app(cls, app: Lamina) -> Templates:
        """The app's instance, as configured by the plugin (see :func:`templates`)."""
        return templates(app)

    # ------------------------------------------------------------------ before freezing
    def _check_open(self, what: str) -> None:
        if self._env is not None:
            raise AssemblyError(
                f"cannot add {what}: the templates environment was already built (at assembly "
                "or on first use); add it before the app starts"
            )

    def add_directory(self, directory: TemplateSource, *, plugin: str = APP) -> None:
        """Add a directory or loader, searched after those added before it."""
        self._check_open(f"template directory {directory!r}")
        self._sources.append((plugin, directory))

    def add_context_processor(self, processor: ContextProcessor, *, plugin: str = APP) -> None:
        """Add ``processor(request) -> mapping`` (sync or async), run for every template."""
        self._check_open(f"context processor {processor!r}")
        self._processors.append((plugin, processor))

    @property
    def sources(self) -> list[tuple[str, TemplateSource]]:
        """``(contributor, directory or loader)`` in search order; ``"app"`` is the app's."""
        return list(self._sources)

    # ------------------------------------------------------------------ freezing
    def _collect(
        self, app: Lamina
    ) -> tuple[list[tuple[str, TemplateSource]], list[tuple[str, ContextProcessor]]]:
        """What the plugins contribute, attributed; the app's own entries stay first."""
        directories = collect_contributions(
            app, "lamina_templates_register_directories", what="template directory"
        )
        processors = collect_contributions(
            app, "lamina_templates_register_context_processors", what="context processor"
        )
        return (
            self._sources + [(c.plugin, c.value) for c in directories],
            self._processors + [(c.plugin, c.value) for c in processors],
        )

    def _describe(self, origin: str) -> str:
        return self.app.describe_plugin(origin) if self.app is not None else "the app"

    def _loader(self, origin: str, source: TemplateSource) -> jinja2.BaseLoader:
        if isinstance(source, jinja2.BaseLoader):
            return source
        path = Path(source)
        if not path.is_dir():
            who = self._describe(origin)
            raise AssemblyError(
                f"template directory {str(path)!r} (from {who}) does not exist or is not a "
                f"directory (working directory: {os.getcwd()}); create it or fix the path"
            )
        return jinja2.FileSystemLoader(path)

    def freeze(self) -> jinja2.Environment:
        """Collect contributions, build the environment and freeze the processors. Idempotent."""
        if self._env is not None:
            return self._env
        app = self.app
        sources, processors = (
            self._collect(app) if app is not None else (list(self._sources), list(self._processors))
        )
        loaders = [self._loader(origin, source) for origin, source in sources]
        auto_reload = self.auto_reload
        if auto_reload is None:
            auto_reload = bool(
                self.debug if self.debug is not None else getattr(app, "debug", False)
            )
        options: dict[str, Any] = {
            "loader": jinja2.ChoiceLoader(loaders),
            "autoescape": jinja2.select_autoescape(self.autoescape_extensions),
            "auto_reload": auto_reload,
            "enable_async": self.enable_async,
            "undefined": jinja2.StrictUndefined if self.strict_undefined else jinja2.Undefined,
            **self.env_options,
        }
        env = jinja2.Environment(**options)
        env.globals["url_for"] = _url_for
        if app is not None:
            call_hook(app, "lamina_templates_configure_environment", env=env)
        for origin, processor in processors:
            if not callable(processor):
                who = self._describe(origin)
                raise AssemblyError(f"context processor {processor!r} from {who} is not callable")
        self._sources, self._processors = sources, processors
        ordered = tuple((p, _is_async(p)) for _, p in processors)
        self._ordered_processors = ordered
        self._sync_processors = tuple(p for p, is_async in ordered if not is_async)
        self._has_async_processors = len(self._sync_processors) != len(ordered)
        self.renders_eagerly = not env.is_async and not self._has_async_processors
        self._env = env
        return env

    @property
    def env(self) -> jinja2.Environment:
        """The Jinja2 environment (built on first access if the app has not assembled yet)."""
        env = self._env
        return env if env is not None else self.freeze()

    # ------------------------------------------------------------------ per request
    def _debug_for(self, request: Request | None) -> bool:
        if self.debug is not None:
            return self.debug
        app = (
            self.app
            if self.app is not None
            else (request.scope.get("app") if request is not None else None)
        )
        return bool(getattr(app, "debug", False))

    def _failed(self, exc: Exception, request: Request | None, name: str | None) -> Exception:
        """The exception to raise for a failed load or render (``name:line`` in debug)."""
        cache = self.env.cache
        loaded = list(cache.values()) if cache is not None else []
        where_name, lineno = locate(exc, loaded, fallback=name)
        where = f"{where_name}:{lineno}" if lineno is not None else str(where_name)
        if self._debug_for(request):
            return TemplateRenderError(where_name, lineno, exc)
        exc.add_note(f"(in template {where})")
        return exc

    def get_template(self, name: str, request: Request | None = None) -> jinja2.Template:
        """Load ``name``; in debug mode a failure raises :class:`TemplateRenderError`."""
        try:
            return self.env.get_template(name)
        except Exception as exc:
            raise self._failed(exc, request, name) from exc

    def context_for(
        self, request: Request | None, context: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """``request``, then every (sync) context processor, then ``context`` (which wins)."""
        if self._env is None:
            self.freeze()
        if self._has_async_processors:
            raise RuntimeError(
                "an async context processor is registered: use await context_for_async()"
            )
        ctx: dict[str, Any] = {"request": request}
        if request is not None:
            for processor in self._sync_processors:
                ctx.update(processor(request))  # type: ignore[arg-type]  # sync ones only
        if context:
            ctx.update(context)
        return ctx

    async def context_for_async(
        self, request: Request | None, context: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Like :meth:`context_for`, awaiting async processors, in registration order."""
        if self._env is None:
            self.freeze()
        ctx: dict[str, Any] = {"request": request}
        if request is not None:
            for processor, is_async in self._ordered_processors:
                result = processor(request)
                # is_async was read from the function at freeze: it says which of the two it is
                ctx.update(await result if is_async else result)  # type: ignore[misc,arg-type]  # see above
        if context:
            ctx.update(context)
        return ctx

    def render_template(
        self, template: jinja2.Template, context: Mapping[str, Any], request: Request | None
    ) -> str:
        """Render a loaded template with a complete context (sync environment only)."""
        try:
            return template.render(context)
        except Exception as exc:
            raise self._failed(exc, request, template.name) from exc

    async def render_template_async(
        self, template: jinja2.Template, context: Mapping[str, Any], request: Request | None
    ) -> str:
        """Render a loaded template, asynchronously when the environment is async."""
        try:
            if template.environment.is_async:
                return await template.render_async(context)
            return template.render(context)
        except Exception as exc:
            raise self._failed(exc, request, template.name) from exc

    def render(
        self,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        request: Request | None = None,
    ) -> str:
        """Render ``name`` to a string (for e-mails, fragments...); sync environments only."""
        if self.env.is_async:
            raise RuntimeError("the templates environment is async: use await render_async()")
        template = self.get_template(name, request)
        return self.render_template(template, self.context_for(request, context), request)

    async def render_async(
        self,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        request: Request | None = None,
    ) -> str:
        """Render ``name`` to a string, awaiting async processors and async templates."""
        template = self.get_template(name, request)
        ctx = await self.context_for_async(request, context)
        return await self.render_template_async(template, ctx, request)

    def TemplateResponse(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Background | None = None,
    ) -> TemplateResponse:
        """A :class:`~lamina_templates.TemplateResponse` rendered with these templates."""
        from ._response import TemplateResponse

        return TemplateResponse(
            request, name, context, status_code, headers, media_type, background, templates=self
        )


def templates(app: Lamina) -> Templates:
    """The app's :class:`Templates` (``app.extensions["templates"]``), built by the plugin."""
    try:
        found: Templates = app.extensions["templates"]
        return found
    except KeyError:
        raise LookupError(
            "lamina-templates is not enabled on this app: install lamina-templates and load "
            "the 'templates' plugin (for example Lamina(plugins=['templates']) with autoload "
            "off), or build a Templates('dir') yourself"
        ) from None
