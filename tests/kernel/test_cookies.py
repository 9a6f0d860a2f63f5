"""The Set-Cookie grammar on its own (lamina._cookies); through a response in
test_responses.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lamina._cookies import build_set_cookie


def test_set_cookie_defaults_and_variants() -> None:
    assert build_set_cookie("a", "1") == "a=1; Path=/; SameSite=Lax"
    assert build_set_cookie("a", "1", samesite=None, path=None) == "a=1"
    # SameSite=None and Partitioned require Secure in browsers: it is added
    assert build_set_cookie("a", samesite="none") == "a=; Path=/; Secure; SameSite=None"
    assert build_set_cookie("a", samesite=None, partitioned=True) == (
        "a=; Path=/; Secure; Partitioned"
    )
    naive = build_set_cookie("a", expires=datetime(2030, 1, 1))
    assert "Expires=Tue, 01 Jan 2030 00:00:00 GMT" in naive
    other_tz = datetime(2030, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert "Expires=Tue, 01 Jan 2030 00:00:00 GMT" in build_set_cookie("a", expires=other_tz)
    assert "Expires=" in build_set_cookie("a", expires=3600)
    assert "Expires=soon" in build_set_cookie("a", expires="soon")
    assert build_set_cookie("a", 'x y"é') == 'a="x\\040y\\042\\303\\251"; Path=/; SameSite=Lax'


def test_set_cookie_max_age_timedelta() -> None:
    assert build_set_cookie("a", max_age=timedelta(hours=1)).startswith("a=; Max-Age=3600;")
