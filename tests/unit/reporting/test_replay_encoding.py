"""The replay's fast paths give the same bytes as the canonical ones."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from services.reporting.adapters.kafka_source import decode
from services.reporting.projections import audit
from services.reporting.replay import digests_of
from shared.store.canonical import canonical_json, canonical_json_fast


class _Text(str):
    pass


class _Number(int):
    pass


VALUES: list[Any] = [
    {},
    [],
    {"b": 1, "a": 2, "A": 3, "é": 4, "Ä": 5, "😀": 6, "\uffff": 7, "": 8},
    {"city": "Алматы", "q": 'quote " backslash \\ slash /', "ctl": "\x00\x08\x0c\n\r\t\x1f\x7f"},
    {"sep": "\u2028\u2029", "emoji": "👩‍🌾", "kz": "Қазақстан ӘҒҚҢӨҰҮҺІ"},
    {"floats": [0.0, -0.0, 0.1, 1.5, -2.25, 1e15, 123456789.125, 3.141592653589793]},
    {"exp": [1e16, 1e-5, 1e-7, 2.5e-300, 1.7976931348623157e308]},
    {"nonfinite": [float("nan"), float("inf"), float("-inf")]},
    {"ints": [0, -1, 2**63 - 1, -(2**63), 2**64, 2**100, -(2**70)]},
    {"nested": {"z": [{"y": {"x": [None, True, False, {"w": []}]}}], "a": {"b": {"c": "d"}}}},
    {1: "int key"},
    {"tuple": (1, 2)},
    {"surrogate": "\ud800"},
    # the same cases as values of a dict and items of a list, at depth
    {"a": {"exp": 1e16, "nan": float("nan"), "t": (1, 2), "big": 2**64, "f": 0.5}},
    [[1e-7], [float("inf")], [(3,)], [2**70], [{"k": [0.25, {"e": 1e22}]}]],
    {"sub": [_Text("x"), {"n": _Number(3)}]},
    "plain string",
    12,
    None,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_fast_encoder_writes_the_canonical_bytes(value: Any) -> None:
    assert canonical_json_fast(value) == canonical_json(value)


def test_the_fast_encoder_on_random_documents() -> None:
    rng = random.Random(7)
    alphabet = "azAZ09 _-/\\\"'\n\téЖқ😀\u2028\x01"

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))

    def value(depth: int) -> Any:
        kind = rng.randrange(8 if depth < 4 else 5)
        if kind == 0:
            return text()
        if kind == 1:
            return rng.randrange(-(10**6), 10**6)
        if kind == 2:
            return rng.choice([None, True, False])
        if kind == 3:
            return rng.uniform(-1e6, 1e6)
        if kind == 4:
            return round(rng.uniform(0, 100), rng.randrange(5))
        if kind in (5, 6):
            return {text(): value(depth + 1) for _ in range(rng.randrange(5))}
        return [value(depth + 1) for _ in range(rng.randrange(5))]

    for _ in range(2000):
        doc = value(0)
        assert canonical_json_fast(doc) == canonical_json(doc)


def test_kafka_values_decode_as_json_loads_does() -> None:
    values = [
        canonical_json(v).encode()
        for v in VALUES
        if v not in ({1: "int key"}, {"surrogate": "\ud800"})
    ]
    values += [b'{"n": NaN}', b"[123456789012345678901234567890]"]
    expected = [json.loads(v) for v in values]
    got = decode(values)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert decode(values[:3]) == expected[:3]


def _event(**over: Any) -> dict[str, Any]:
    meta = {
        "event_id": "6f1c6a52-4d0c-4b39-9a7e-2d7c2f2a0001",
        "occurred_at": "2020-06-01T10:00:00Z",
        "recorded_at": "2020-06-01T10:00:01.123456Z",
        "actor": {"id": "organiser-1", "role": "organiser", "region": None},
        "correlation_id": "cid-1",
        "causation_id": None,
    }
    meta.update(over.pop("metadata", {}))
    event = {
        "service": "nominations",
        "global_position": 12,
        "stream_id": "application-1",
        "stream_version": 3,
        "event_type": "ApplicationSubmitted",
        "hash": "ab" * 32,
        "metadata": meta,
    }
    event.update(over)
    return event


def test_an_audit_line_is_copy_text_format() -> None:
    row = audit.row_of(_event())
    assert audit.line_of(row) == (
        "nominations\t12\t6f1c6a52-4d0c-4b39-9a7e-2d7c2f2a0001\tApplicationSubmitted\t"
        "application-1\t3\t2020-06-01T10:00:00Z\t2020-06-01T10:00:01.123456Z\torganiser-1\t"
        "organiser\t\\N\tcid-1\t\\N\t" + "ab" * 32
    )
    odd = audit.row_of(
        _event(stream_id="a\tb\\c\nd\re\x08f\x0cg\x0bh\x01\\N", metadata={"causation_id": "Ж"})
    )
    line = audit.line_of(odd)
    assert "\ta\\tb\\\\c\\nd\\re\\bf\\fg\\vh\x01\\\\N\t" in line
    assert line.endswith("\tЖ\t" + "ab" * 32)
    assert line.count("\t") == len(audit.COLUMNS) - 1


def test_an_audit_item_has_the_former_documents_shape() -> None:
    item = audit.item_of(audit.row_of(_event()))
    assert item == {
        "service": "nominations",
        "position": 12,
        "event_id": "6f1c6a52-4d0c-4b39-9a7e-2d7c2f2a0001",
        "event_type": "ApplicationSubmitted",
        "stream_id": "application-1",
        "stream_version": 3,
        "occurred_at": "2020-06-01T10:00:00Z",
        "recorded_at": "2020-06-01T10:00:01.123456Z",
        "actor": {"id": "organiser-1", "role": "organiser", "region": None},
        "correlation_id": "cid-1",
        "causation_id": None,
        "hash": "ab" * 32,
    }
    assert audit.cursor_of(audit.row_of(_event())) == "nominations:000000000012"
    assert audit.parse_cursor("nominations:000000000012") == ("nominations", 12)


def test_the_audit_digest_ignores_order_and_counts_rows() -> None:
    lines = [audit.line_of(audit.row_of(_event(global_position=n))).encode() for n in range(50)]
    a, b, c = audit.Digest(), audit.Digest(), audit.Digest()
    a.add_lines(lines)
    for line in reversed(lines):
        b.add_line(line)
    c.add_lines(lines[:-1])
    assert a.hexdigest() == b.hexdigest() != c.hexdigest()
    assert a.hexdigest().startswith("50:")
    assert audit.Digest().hexdigest() == "0:" + "0" * 64


def test_document_digests_do_not_depend_on_row_order() -> None:
    rows = [("m", "k2", '{"a":1}'), ("m", "k1", "{}"), ("n", "k", "[]")]
    assert digests_of(rows) == digests_of(list(reversed(rows)))
    assert digests_of(rows) != digests_of([("m", "k2", '{"a":2}'), *rows[1:]])


def test_the_fast_audit_line_equals_the_rows_line() -> None:
    odd = "a\tb\\c\nd\re\x08f\x0cg\x0bh\x01\\N Ж"
    cases = [
        _event(),
        _event(metadata={"causation_id": "c", "actor": {"id": "x", "role": "y", "region": "75"}}),
        _event(stream_id=odd),
        _event(metadata={"correlation_id": odd, "causation_id": "\\N"}),
        _event(metadata={"actor": {"id": "\\", "role": "r"}}),
        _event(hash="\t"),
    ]
    for event in cases:
        assert audit.line_of_event(event) == audit.line_of(audit.row_of(event))
