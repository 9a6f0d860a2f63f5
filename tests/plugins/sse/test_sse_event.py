"""The event-stream encoding, checked through a WHATWG parser (what a browser would see)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lamina_sse import ServerSentEvent, encode_event
from sse_harness import parse_stream


def test_data_is_split_on_every_line_break_kind() -> None:
    raw = ServerSentEvent("a\nb\r\nc\rd").encode()
    assert raw == b"data: a\ndata: b\ndata: c\ndata: d\n\n"
    events, _ = parse_stream(raw)
    assert [e.data for e in events] == ["a\nb\nc\nd"]


def test_all_fields_in_one_event() -> None:
    raw = ServerSentEvent("x", event="update", id="7", retry=2500, comment="hi").encode()
    assert raw == b": hi\nid: 7\nevent: update\nretry: 2500\ndata: x\n\n"
    events, state = parse_stream(raw)
    assert (events[0].type, events[0].data, events[0].last_event_id) == ("update", "x", "7")
    assert state["retry"] == 2500


def test_empty_data_still_dispatches_an_event() -> None:
    events, _ = parse_stream(ServerSentEvent("").encode())
    assert [e.data for e in events] == [""]


def test_data_with_leading_space_and_colon_survives() -> None:
    events, _ = parse_stream(ServerSentEvent(" x: y").encode())
    assert events[0].data == " x: y"


def test_non_string_data_is_compact_json() -> None:
    assert ServerSentEvent({"a": [1, "é"]}).encode() == 'data: {"a":[1,"é"]}\n\n'.encode()


def test_utf8_on_the_wire() -> None:
    raw = ServerSentEvent("héllo ✓").encode()
    assert raw == "data: héllo ✓\n\n".encode()


def test_multiline_comment_stays_a_comment() -> None:
    raw = ServerSentEvent(comment="one\ntwo\r\n\rthree").encode()
    assert raw == b": one\n: two\n:\n: three\n\n"
    events, _ = parse_stream(raw)
    assert events == []


def test_id_only_event_sets_last_event_id_without_dispatching() -> None:
    events, state = parse_stream(ServerSentEvent(id=42).encode())
    assert events == [] and state["last_event_id"] == "42"


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b"])
def test_id_refuses_newlines_and_nul(bad: str) -> None:
    with pytest.raises(ValueError, match="id"):
        ServerSentEvent("x", id=bad)


@pytest.mark.parametrize("bad", ["a\nevent: forged", "a\r"])
def test_event_name_refuses_newlines(bad: str) -> None:
    with pytest.raises(ValueError, match="event"):
        ServerSentEvent("x", event=bad)


@pytest.mark.parametrize("bad", [-1, 1.5, "100", True])
def test_retry_must_be_non_negative_int_milliseconds(bad: object) -> None:
    with pytest.raises(ValueError, match="retry"):
        ServerSentEvent("x", retry=bad)  # type: ignore[arg-type]


def test_encode_event_accepts_events_dicts_and_strings() -> None:
    assert encode_event("s") == b"data: s\n\n"
    assert encode_event({"data": "d", "event": "e"}) == b"event: e\ndata: d\n\n"
    assert encode_event(ServerSentEvent("z", id=1)) == b"id: 1\ndata: z\n\n"
    with pytest.raises(TypeError, match="yield ServerSentEvent"):
        encode_event(b"raw")
    with pytest.raises(TypeError):
        encode_event({"nope": 1})


def test_equality_and_repr() -> None:
    assert ServerSentEvent("a", id=1) == ServerSentEvent("a", id="1")
    assert ServerSentEvent("a") != ServerSentEvent("b")
    assert repr(ServerSentEvent("a", event="e")) == "ServerSentEvent(data='a', event='e')"


@given(
    data=st.text(st.characters(blacklist_categories=("Cs",))),
    event=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), min_size=1
    ),
    event_id=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00")),
)
def test_any_event_round_trips_through_a_browser_parser(
    data: str, event: str, event_id: str
) -> None:
    raw = ServerSentEvent(data, event=event, id=event_id).encode()
    events, state = parse_stream(raw)
    expected = data.replace("\r\n", "\n").replace("\r", "\n")
    assert len(events) == 1
    assert events[0].data == expected
    assert events[0].type == event
    assert state["last_event_id"] == event_id
