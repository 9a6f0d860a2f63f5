"""The router: a declared list of routes that compiles, at assembly, into a fast ASGI app.

One class, four jobs, each in its own module:

* declaring (:mod:`._declaring`): the route list, the decorators, the converters;
* compiling (:mod:`._compiling`): conflicts found, templates turned into a segment trie, a
  matcher generated from it, static paths resolved in advance;
* serving (:mod:`._serving`): a request matched against the compiled tables;
* reversing (:mod:`._reversing`): a route's name and params back to its path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any, Self

from lamina import Lamina, RouteLike, URLPath
from lamina.plugin import Receive, Scope, Send

from ._compiling import Compilation, Enclosing, describe_contributor
from ._converters import Converter
from ._declaring import Contribution, RouteDetail, RouteList, flatten, walk
from ._reversing import HostURLPath, NoMatchFound, reverse
from ._serving import Dispatcher
from ._standalone import serve_standalone

__all__ = ["AppRouter", "HostURLPath", "NoMatchFound", "Router"]


class Router(RouteList, Dispatcher):
    """A list of routes that compiles into a fast ASGI app.

    Declare routes in a list (``Router([Route(...), Mount(...)])``) or with decorators
    (``@router.get("/items/{id:int}")``); pass the router (it iterates over its routes) as
    ``Lamina(routes=router)``. Standalone, a Router is an ASGI app by itself.

    ``converters`` adds path converters for the routes declared on this router;
    ``redirect_slashes``/``redirect_status`` override the app's ``[routing]`` settings.
    """

    __lamina_router__ = True
    #: Given where a route is expected, a Router stands for its routes (they are put in its
    #: place), so it is a :class:`lamina.RouteLike` too: a nameless container at the root.
    protocol = "*"
    path = ""
    name: str | None = None

    def __init__(
        self,
        routes: Iterable[RouteLike] | None = None,
        *,
        converters: Mapping[str, Converter] | None = None,
        redirect_slashes: bool | None = None,
        redirect_status: int | None = None,
    ) -> None:
        Dispatcher.__init__(self)
        RouteList.__init__(self, routes, converters)
        self.redirect_slashes = redirect_slashes
        self.redirect_status = redirect_status
        #: ``(route, contributor)`` pairs as compiled (what ``lamina routes`` lists).
        self.contributions: list[Contribution] = []
        self._compilation: Compilation | None = None

    def __repr__(self) -> str:
        return f"Router({len(self.routes)} routes)"

    def compile(
        self,
        contributions: Iterable[Contribution] | None = None,
        *,
        app_converters: Mapping[str, Converter] | None = None,
        describe: Callable[[str], str] | None = None,
        redirect_slashes: bool = True,
        redirect_status: int = 307,
    ) -> Self:
        """Compile ``contributions`` (default: this router's routes, contributed by the app).

        Raises :class:`lamina.ConflictError` for two routes with one method and path, or one
        explicit name, naming both contributors; ``ValueError`` for a bad path template.
        """
        if contributions is None:
            contributions = [(r, "app") for r in self.routes]
        flat = flatten(contributions)

        def fresh() -> Compilation:
            return Compilation(
                app_converters=dict(app_converters or {}),
                describe=describe or describe_contributor,
                redirect_slashes=(
                    self.redirect_slashes if self.redirect_slashes is not None else redirect_slashes
                ),
                redirect_status=self.redirect_status or redirect_status,
            )

        compilation = fresh()
        if compilation.redirect_status not in (301, 302, 303, 307, 308):
            raise ValueError(
                f"redirect_status must be a redirect status, got {compilation.redirect_status}"
            )
        compilation.build(self, flat, Enclosing())
        if compilation.stale:
            # a route replaced one compiled before it: compile again, leaving those out
            first, compilation = compilation, fresh()
            compilation.dropped, compilation.replacing = first.dropped, first.replacing
            compilation.build(self, flat, Enclosing())
        compilation.check_replacements()
        self.contributions = [c for c in flat if id(c[0]) not in compilation.dropped]
        self._compilation = compilation
        return self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # ``async def`` so that servers see an ASGI 3 app when a Router is served on its own;
        # inside a Lamina app the kernel calls an AppRouter, whose __call__ is ``_serve``.
        if isinstance(scope.get("app"), Lamina):  # the kernel's error layer answers errors
            await self._serve(scope, receive, send)
            return
        scope.setdefault("app", self)  # request.url_for reverses through scope["app"]
        await serve_standalone(self._serve, scope, receive, send)

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Serve a request on its own, as a route would (unused when flattened in place)."""
        return self._serve(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called ``name`` (``"mount:route"`` inside named mounts).

        Raises :class:`NoMatchFound` naming the route and the parameters it expects.
        """
        if not self._compiled or self._compilation is None:
            self.compile()
        compilation = self._compilation
        assert compilation is not None
        return reverse(compilation.reverse, compilation.delegates, name, path_params)

    def iter_routes(self) -> Iterator[tuple[str, RouteLike, str]]:
        """``(full path, route, contributor)`` for every route, mounts expanded."""
        for path, route, contributor, _name, _host in self.iter_route_details():
            yield path, route, contributor

    def iter_route_details(self) -> Iterator[RouteDetail]:
        """``(full path, route, contributor, name to reverse, enclosing host pattern)``."""
        left_out = self._compilation.dropped if self._compilation else frozenset()
        yield from walk(self.contributions, "", "", None, left_out)


class AppRouter(Router):
    """The router the plugin gives the kernel: the same, minus one coroutine frame per request.

    ``__call__`` returns the endpoint's awaitable instead of awaiting it (the kernel awaits).
    """

    # Router.__call__ is a coroutine function (servers check); this one returns an awaitable
    # that is not a coroutine, which is all the kernel needs: it only awaits the result.
    __call__ = Dispatcher._serve  # type: ignore[assignment]  # see above
    #: Everything it serves records an exception after the response start on the scope
    #: (``lamina.plugin.SCOPE_FAILED_AFTER_START``): its endpoint wrapper and Lamina's
    #: responses do, foreign apps are wrapped in ``track_response_start``. The kernel then
    #: wraps no ``send`` for it.
    marks_response_start = True
