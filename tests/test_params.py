"""Query parsing: the plain fast path answers exactly what the full parse (parse_qsl) answers."""

from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from ypv import params

PLAIN = st.text(alphabet="ab=&_1", max_size=40)           # always takes the fast path
ANY = st.text(alphabet="ab=&%+2\x00_é", max_size=40)       # every character that matters to the parse


def reference(raw: str) -> dict:
    """What parse_query answered before it had a fast path."""
    text = raw.encode("latin-1", "replace").decode("utf-8", "replace")
    pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")
    return {k.replace("\x00", "\ufffd"): v.replace("\x00", "\ufffd") for k, v in pairs}


@settings(max_examples=1000, deadline=None)
@given(PLAIN)
def test_plain_queries_match_parse_qsl(raw):
    assert params.parse_query(raw) == reference(raw)


@settings(max_examples=1000, deadline=None)
@given(ANY)
def test_any_query_matches_parse_qsl(raw):
    assert params.parse_query(raw) == reference(raw)


def test_plain_query_exact():
    assert params.parse_query("api_key=ypv_ab&action=getStatus&id=12&&flag&x=&y=a=b") == {
        "api_key": "ypv_ab", "action": "getStatus", "id": "12", "flag": "", "x": "", "y": "a=b"}


def test_repeated_name_keeps_the_last_value_on_both_paths():
    assert params.parse_query("a=1&a=2") == {"a": "2"}
    assert params.parse_query("a=1&a=%32") == {"a": "2"}
