"""The chain link computed from the stored texts is the chain link of the decoded event."""

from __future__ import annotations

import random

from shared.store.canonical import (
    canonical_json,
    canonical_json_fast,
    event_bytes,
    event_bytes_of_text,
)

ODD = ['"', "\\", "\n", "\x00", "é", "Үздік", "🏆", "\u2028", "</script>"]


def value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rng.randrange(-(2**70), 2**70)
    if kind == 1:
        return rng.choice([0.1, -2.5, 1e16, 1e-7, 3.0])
    if kind == 2:
        return "".join(rng.choice([*ODD, "a", "b", " "]) for _ in range(rng.randrange(6)))
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return rng.randrange(100)
    if kind == 5:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        "".join(rng.choice([*ODD, "k", "ключ"]) for _ in range(3)): value(rng, depth + 1)
        for _ in range(rng.randrange(4))
    }


def test_event_bytes_of_the_canonical_texts_are_the_event_bytes() -> None:
    rng = random.Random(2020)
    for n in range(500):
        payload = {"x": value(rng), "n": n, **{f"f{i}": value(rng) for i in range(3)}}
        metadata = {"actor": {"id": 'Ә"1', "role": "resident"}, "event_id": str(n)}
        fields = {
            "global_position": n + 1,
            "stream_id": rng.choice(["survey-1", 'a"b', "ауыл-7"]),
            "stream_version": n,
            "event_type": rng.choice(["ResponseRecorded", "Ü\\x"]),
            "schema_version": 1 + n % 3,
        }
        expected = event_bytes(**fields, payload=payload, metadata=metadata)  # type: ignore[arg-type]
        assert (
            event_bytes_of_text(
                **fields,  # type: ignore[arg-type]
                payload_text=canonical_json_fast(payload),
                metadata_text=canonical_json(metadata),
            )
            == expected
        )
