"""Do appending transactions still wait for each other on PostgreSQL's notify lock?

Writers commit one event per transaction, many at once (the survey benchmark's reference
pattern, without the append lock that serialises a service's own commands anyway), on a
database of the durable cluster migrated like a service's, three ways in turn each round:
``trigger`` — migration 0009's trigger NOTIFYs inside every writing transaction (before);
``after`` — no trigger; after each commit the store's notification as a store's commit sends
it (``_announce``: on a connection of its own, coalesced; migration 0010) (now); ``none`` — no
notification at all (the reference). Rows/s, the backends' waits (``bench.survey.WaitSampler``:
``Lock:object`` is the notify lock), rows per WAL flush and the notifications a listener
received. One line per round and way:
``append_notify round=<n> way=<w> rows_per_s=<n> ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

import asyncpg

from bench.common import asyncpg_dsn, create_database, drop_database, ensure_services, with_database
from bench.survey import WaitSampler
from shared.migrations import upgrade
from shared.store.eventstore import open_store
from shared.store.postgres import PostgresEventStore

TRIGGER = """
CREATE OR REPLACE FUNCTION uzdik_events_appended() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('uzdik_appended', ''); RETURN NULL; END $$;
CREATE TRIGGER uzdik_events_appended AFTER INSERT ON events
FOR EACH STATEMENT EXECUTE FUNCTION uzdik_events_appended();
"""
UNTRIGGER = (
    "DROP TRIGGER IF EXISTS uzdik_events_appended ON events; "
    "DROP FUNCTION IF EXISTS uzdik_events_appended();"
)


ONE = (
    "INSERT INTO events (global_position, stream_id, stream_version, event_type, "
    "schema_version, event_id, payload, metadata, prev_hash, hash) "
    "VALUES ($1, $2, 1, 'Noted', 1, $3, $4, $5, $6, $7)"
)
PAYLOAD = '{"text":"' + "x" * 400 + '"}'


async def way(url: str, name: str, label: str, writers: int, rows: int) -> str:
    """``rows`` one-row transactions by ``writers`` connections at once (the survey benchmark's
    reference pattern: no append lock); ``after``: the store's notification after each commit."""
    admin = await asyncpg.connect(asyncpg_dsn(url))
    await admin.execute(TRIGGER if label == "trigger" else UNTRIGGER)
    heard = [0]
    await admin.add_listener("uzdik_appended", lambda *_: heard.__setitem__(0, heard[0] + 1))
    store = open_store("bench", url)
    assert isinstance(store, PostgresEventStore)
    first = int(await admin.fetchval("SELECT coalesce(max(global_position), 0) FROM events"))
    numbers = iter(range(first + 1, first + rows + 1))
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=writers, max_size=writers)
    assert pool is not None

    async def writer() -> None:
        async with pool.acquire() as conn:
            for n in numbers:
                metadata = f'{{"event_id":"{uuid.uuid4()}"}}'
                async with conn.transaction():
                    await conn.execute(
                        ONE,
                        n,
                        f"n-{n}",
                        str(uuid.uuid4()),
                        PAYLOAD,
                        metadata,
                        "0" * 64,
                        f"{n:064x}",
                    )
                if label == "after":
                    store._announce()  # what the store does after a commit that appended events

    started = time.perf_counter()
    with WaitSampler(url, name) as waits:
        await asyncio.gather(*(writer() for _ in range(writers)))
    rate = rows / (time.perf_counter() - started)
    await store.close()
    await pool.close()
    await asyncio.sleep(0.5)
    await admin.close()
    return (
        f"way={label} rows_per_s={rate:.0f} notifications={heard[0]} "
        f"load={os.getloadavg()[0]:.1f}; {waits.summary(rows)}"
    )


async def run(admin_url: str, writers: int, rows: int, rounds: int) -> None:
    name = f"bench_notify_{uuid.uuid4().hex[:8]}"
    await create_database(admin_url, name)
    url = with_database(admin_url, name)
    try:
        store = open_store("bench", url)
        await upgrade(store.engine)
        await store.close()
        for round_ in range(1, rounds + 1):
            for label in ("trigger", "after", "none"):
                print(f"append_notify round={round_} {await way(url, name, label, writers, rows)}")
    finally:
        await drop_database(admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    services = ensure_services()
    asyncio.run(run(services.database_url, args.writers, args.rows, args.rounds))


if __name__ == "__main__":
    main()
