"""Property test: whatever `next` value is accepted resolves to this site."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st
from lamina_auth import is_local_path, safe_next

BASE = "https://site.example/login"
# Characters that matter to URL parsers, mixed with ordinary ones.
TRICKY = st.text(alphabet=st.sampled_from([*"/\\:.@?#%\t\n\r ;aZ09-_~", "\x00", "é"]), max_size=24)


@settings(max_examples=500, deadline=None)
@given(st.one_of(TRICKY, st.text(max_size=24), TRICKY.map(lambda s: "/" + s)))
@example("//evil.example")
@example("/\\evil.example")
@example("/\t/evil.example")
@example("https:evil.example")
def test_accepted_values_stay_on_the_site(url: str) -> None:
    if is_local_path(url):
        resolved = urlsplit(urljoin(BASE, url))
        assert resolved.scheme == "https"
        assert resolved.netloc == "site.example"
        assert url.startswith("/") and not url.startswith("//") and "\\" not in url
        assert safe_next(url) == url
    else:
        assert safe_next(url, "/home") == "/home"
