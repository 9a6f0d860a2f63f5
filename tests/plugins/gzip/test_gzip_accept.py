"""Accept-Encoding parsing: q-values, wildcards, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lamina_gzip import accepts_gzip


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("GZip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("x-gzip", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0", False),
        ("gzip ; q=0", False),
        ("*", True),
        ("*;q=0", False),
        ("*, gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("identity", False),
        ("br, deflate", False),
        ("", False),
        ("gzip;q=abc", False),
        ("gzip;q=2", False),
        ("deflate, gzip;q=0.001", True),
        ("gzip;level=1", True),
    ],
)
def test_accepts_gzip(header: str, expected: bool) -> None:
    assert accepts_gzip(header.encode()) is expected


def test_answers_are_memoised_and_stable() -> None:
    assert accepts_gzip(b"gzip;q=0") is False
    assert accepts_gzip(b"gzip;q=0") is False
    assert accepts_gzip(b"gzip") is True


@given(st.binary(max_size=64))
def test_never_raises(raw: bytes) -> None:
    assert accepts_gzip(raw) in (True, False)
