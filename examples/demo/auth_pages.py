"""The demo's login flow: a login page (session login), a page only a logged-in user sees,
and logout. Uses lamina-sessions and lamina-auth; the HTML is in ``templates/auth/``.

Demo account: ``demo`` / ``lamina`` (shown on the login page: this is a demo, not a secret).
"""

from __future__ import annotations

import hmac

from lamina import RedirectResponse, Request
from lamina_auth import SimpleUser, login, logout, requires, safe_next
from lamina_routing import Route
from lamina_templates import TemplateResponse

#: The demo's only account. A real app checks a password hash from its user store.
DEMO_USERS = {"demo": "lamina"}
#: What the demo app puts in its settings: the session secret comes from the environment,
#: with a development default that must never be used in production.
SESSION_SETTINGS = {
    "secret_key": {"env": "LAMINA_DEMO_SECRET", "default": "dev-only-insecure-demo-secret"},
}


def _check(username: str, password: str) -> bool:
    """Constant-time password comparison (an unknown user is compared too)."""
    expected = DEMO_USERS.get(username, "")
    same = hmac.compare_digest(password.encode("utf-8"), expected.encode("utf-8"))
    return same and username in DEMO_USERS


async def login_page(request: Request) -> TemplateResponse | RedirectResponse:
    """GET shows the form; POST checks it, logs in and goes back to ``next`` (local only)."""
    next_url = safe_next(request.query_params.get("next"), "/account")
    error = None
    username = ""
    if request.method == "POST":
        async with request.form() as form:
            username = str(form.get("username", "")).strip()[:64]
            password = str(form.get("password", ""))
            next_url = safe_next(str(form.get("next", "")), "/account")
        if _check(username, password):
            login(request, SimpleUser(username, username.title()))
            return RedirectResponse(next_url, status_code=303)
        error = "Unknown user name or wrong password."
    status = 400 if error else 200
    return TemplateResponse(
        request,
        "auth/login.html",
        {"next": next_url, "error": error, "username": username},
        status_code=status,
    )


async def logout_page(request: Request) -> RedirectResponse:
    """POST only (a link could be triggered by another site): clear the session."""
    logout(request)
    return RedirectResponse(request.url_for("home"), status_code=303)


@requires("authenticated", redirect="login")
async def account(request: Request) -> TemplateResponse:
    """Only for logged-in users; anonymous visitors are sent to the login page."""
    visits = int(request.session.get("account_visits", 0)) + 1
    request.session["account_visits"] = visits
    return TemplateResponse(request, "auth/account.html", {"visits": visits})


routes = [
    Route("/login", login_page, methods=["GET", "POST"], name="login"),
    Route("/logout", logout_page, methods=["POST"], name="logout"),
    Route("/account", account, name="account"),
]
