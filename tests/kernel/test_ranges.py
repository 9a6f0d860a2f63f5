"""Range and validator parsing (lamina._ranges): RFC 9110 semantics and fuzzing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina._ranges import (
    etag_matches_strong,
    etag_matches_weak,
    parse_etag_list,
    parse_http_date,
    parse_range,
)


# ---------------------------------------------------------------------------- Range
def test_single_ranges() -> None:
    assert parse_range("bytes=0-499", 1000) == [(0, 500)]
    assert parse_range("bytes=500-", 1000) == [(500, 1000)]
    assert parse_range("bytes=-200", 1000) == [(800, 1000)]
    assert parse_range("bytes=900-5000", 1000) == [(900, 1000)]  # last-pos clamped
    assert parse_range("bytes=-5000", 1000) == [(0, 1000)]  # suffix longer than the file
    assert parse_range("BYTES = 0-0", 10) == [(0, 1)]  # unit is case-insensitive


def test_several_ranges_sorted_and_coalesced() -> None:
    assert parse_range("bytes=0-1, 5-6", 10) == [(0, 2), (5, 7)]
    assert parse_range("bytes=5-6,0-1", 10) == [(0, 2), (5, 7)]
    assert parse_range("bytes=0-4,2-8", 10) == [(0, 9)]  # overlapping
    assert parse_range("bytes=0-4,5-8", 10) == [(0, 9)]  # adjacent
    assert parse_range("bytes=0-1,0-1,0-1,0-1", 10) == [(0, 2)]  # repeated
    assert parse_range("bytes=0-1,,  ,5-6,", 10) == [(0, 2), (5, 7)]  # empty list members


def test_unsatisfiable_gives_empty_list() -> None:
    assert parse_range("bytes=1000-", 1000) == []
    assert parse_range("bytes=1000-2000", 1000) == []
    assert parse_range("bytes=-0", 1000) == []
    assert parse_range("bytes=0-", 0) == []
    assert parse_range("bytes=-5", 0) == []
    # One satisfiable spec among unsatisfiable ones is enough.
    assert parse_range("bytes=2000-,0-0", 1000) == [(0, 1)]


def test_bad_syntax_is_ignored() -> None:
    for header in [
        "",
        "bytes",
        "bytes=",
        "bytes=,",
        "items=0-1",
        "bytes=a-b",
        "bytes=1-0",
        "bytes=--1",
        "bytes=0-1-2",
        "bytes=5",
        "bytes=-",
        "bytes=0x10-20",
        "bytes=+1-2",
        "bytes= 1 - 2",
        "bytes=\u00b2-3",
        "bytes=1-\u0663",
        "bytes=0-1,a",
    ]:
        assert parse_range(header, 1000) is None, header


@pytest.mark.timeout(10)  # a bound, generous: this is about O(n), not speed
def test_too_many_ranges_are_ignored_quickly() -> None:
    header = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 200_000, 2))
    assert parse_range(header, 10**6) is None
    assert parse_range("bytes=" + "0-0," * 101, 10) is None
    assert parse_range("bytes=" + ",".join(["0-0"] * 100), 10) == [(0, 1)]
    assert parse_range("bytes=" + "," * 10**6, 10) is None


def test_huge_numbers_do_not_explode() -> None:
    nines = "9" * 100_000
    assert parse_range(f"bytes={nines}-", 1000) == []
    assert parse_range(f"bytes=0-{nines}", 1000) == [(0, 1000)]
    assert parse_range(f"bytes=-{nines}", 1000) == [(0, 1000)]
    assert parse_range("bytes=" + "0" * 100_000 + "1-2", 10) == [(1, 3)]
    assert parse_range(f"bytes={nines}-1", 1000) is None  # first > last: invalid
    assert parse_range("bytes=99999999999999999999-", 2**70) == [(10**18, 2**70)]


def test_max_ranges_is_configurable() -> None:
    assert parse_range("bytes=0-0,2-2,4-4", 10, max_ranges=2) is None
    assert parse_range("bytes=0-0,2-2", 10, max_ranges=2) == [(0, 1), (2, 3)]


range_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="bytes=0123456789-, \t", max_size=60),
    st.lists(
        st.tuples(
            st.one_of(
                st.none(), st.integers(0, 2**70).map(str), st.text("0123456789", max_size=25)
            ),
            st.one_of(st.none(), st.integers(0, 2**70).map(str)),
        ),
        max_size=120,
    ).map(lambda specs: "bytes=" + ",".join(f"{a or ''}-{b or ''}" for a, b in specs)),
)


@settings(max_examples=400, deadline=None)
@given(range_text, st.integers(0, 2**64), st.integers(1, 150))
def test_range_fuzz_never_raises_and_stays_in_bounds(header: str, size: int, cap: int) -> None:
    result = parse_range(header, size, cap)
    if result is None:
        return
    assert len(result) <= cap
    previous_stop = -1
    for start, stop in result:
        assert 0 <= start < stop <= size
        assert start > previous_stop  # sorted, disjoint, not adjacent
        previous_stop = stop
    assert sum(stop - start for start, stop in result) <= size


# ---------------------------------------------------------------------------- validators
def test_etag_lists() -> None:
    assert parse_etag_list("*") is None
    assert parse_etag_list('"a", W/"b" ,"c,d"') == [(False, '"a"'), (True, '"b"'), (False, '"c,d"')]
    assert parse_etag_list('junk, "a"') == [(False, '"a"')]
    assert parse_etag_list("") == []


def test_weak_and_strong_comparison() -> None:
    assert etag_matches_weak('W/"1"', '"1"')
    assert etag_matches_weak('"1"', 'W/"1"')
    assert etag_matches_weak('"0", "1"', '"1"')
    assert etag_matches_weak("*", '"1"')
    assert not etag_matches_weak('"2"', '"1"')
    assert etag_matches_strong('"1"', '"1"')
    assert not etag_matches_strong('W/"1"', '"1"')
    assert not etag_matches_strong('"1"', 'W/"1"')


def test_http_dates() -> None:
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777
    for bad in ["", "yesterday", "Sun, 99 Nov 1994 08:49:37 GMT", "x" * 1000]:
        assert parse_http_date(bad) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_validator_fuzz_never_raises(value: str) -> None:
    parse_etag_list(value)
    etag_matches_weak(value, '"abc"')
    etag_matches_strong(value, '"abc"')
    result = parse_http_date(value)
    assert result is None or isinstance(result, int)


# ---------------------------------------------------------------------------- Range oracle
spec = st.one_of(
    st.tuples(st.integers(0, 60), st.none()),  # first-
    st.tuples(st.integers(0, 60), st.integers(0, 60)).filter(lambda t: t[0] <= t[1]),
    st.tuples(st.none(), st.integers(0, 60)),  # -suffix
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(spec, min_size=1, max_size=12),
    st.integers(0, 50),
    st.integers(1, 12),
    st.sampled_from([",", ", ", " ,\t"]),
)
def test_range_matches_a_byte_set_model(
    specs: list[tuple[int | None, int | None]], size: int, cap: int, sep: str
) -> None:
    """For valid headers the result covers exactly the bytes the specs ask for (RFC 9110
    14.1.2: last-pos clamped to the size, a suffix longer than the file is the whole file),
    as the fewest non-adjacent ranges; over ``cap`` specs the header is ignored."""
    header = "bytes=" + sep.join(
        f"{'' if a is None else a}-{'' if b is None else b}" for a, b in specs
    )
    result = parse_range(header, size, cap)
    if len(specs) > cap:
        assert result is None
        return
    wanted: set[int] = set()
    for first, last in specs:
        if first is None:
            assert last is not None
            wanted.update(range(max(size - last, 0), size) if last else ())
        else:
            wanted.update(range(first, size if last is None else min(last + 1, size)))
    assert result is not None
    got = [i for start, stop in result for i in range(start, stop)]
    assert len(got) == len(set(got))  # no byte twice
    assert set(got) == wanted
    assert all(b[0] > a[1] for a, b in itertools.pairwise(result))  # sorted, not adjacent
