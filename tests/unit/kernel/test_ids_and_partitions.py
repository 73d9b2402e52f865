"""Ids minted from read-ahead randomness, and the relay's partitioner."""

from __future__ import annotations

import os
import time

from aiokafka.partitioner import DefaultPartitioner

from shared.ids import uuid4, uuid7
from shared.kafka import KeyPartitioner


def test_ids_have_their_version_and_variant_and_never_repeat() -> None:
    fours = [uuid4() for _ in range(5000)]  # more than one page of randomness
    sevens = [uuid7() for _ in range(5000)]
    assert {u.version for u in fours} == {4} and {u.version for u in sevens} == {7}
    assert {u.variant for u in fours + sevens} == {"specified in RFC 4122"}
    assert len(set(fours)) == 5000 and len(set(sevens)) == 5000


def test_a_uuid7_starts_with_the_time_it_was_minted() -> None:
    before = time.time_ns() // 1_000_000
    minted = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= minted.int >> 80 <= after


def test_a_forked_process_does_not_mint_its_parents_ids() -> None:
    uuid4()  # the parent has read ahead
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, uuid4().bytes)
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 16)
    assert child != uuid4().bytes


def test_the_relay_partitioner_chooses_what_the_default_one_does() -> None:
    """Each key's hash is kept; the partition is still the Java client's murmur2 choice."""
    ours, theirs = KeyPartitioner(keys=4), DefaultPartitioner()
    for n in (1, 3, 12):
        partitions = list(range(n))
        for i in range(50):
            key = f"survey-{i:04d}-ключ".encode()
            assert ours(key, partitions, partitions) == theirs(key, partitions, partitions)
    assert ours(None, [0, 1, 2], [1]) == 1  # no key: one of the available partitions
