"""The embedded deployment in several processes (what ``uzdik demo`` runs): each service in a
process of its own, on the business clock the parent moves, tailing the others' SQLite files,
its parent's operations refused without the parent's key, every process gone when it ends."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from demo.scenario import ALMATY, Scenario, SimClock
from services.embedded_processes import KEY_HEADER, PREFIX, ClockFile, EmbeddedProcesses
from services.registry import SERVICES
from shared.settings import Settings


def test_the_clock_file_carries_the_instant_and_its_offset(tmp_path: Path) -> None:
    writer = ClockFile(tmp_path / "clock", create=True)
    reader = ClockFile(tmp_path / "clock")
    at = datetime(2020, 6, 10, 10, 0, 0, 123456, tzinfo=ALMATY)
    writer.set(at)
    seen = reader.now()
    assert seen == at and seen.utcoffset() == at.utcoffset()
    writer.set(datetime(2020, 1, 1, tzinfo=UTC))
    assert reader.now() == datetime(2020, 1, 1, tzinfo=UTC)
    writer.close()
    reader.close()


async def test_the_services_run_apart_settle_together_and_end_with_their_parent(
    tmp_path: Path,
) -> None:
    settings = Settings()
    clock = SimClock(share=ClockFile(tmp_path / "clock", create=True))
    system = EmbeddedProcesses(settings, tmp_path, clock=clock.share)
    async with system:
        pids = [child.pid for child in system._children.values()]
        assert len(set(pids)) == len(SERVICES) and os.getpid() not in pids
        scenario = Scenario(system.clients, settings, clock=clock)
        announced = await scenario.run()  # one command per service, nothing drained yet
        # the other processes' consumers fold what the three services recorded
        assert await system.drain() > 0
        assert await system.drain() == 0  # settled: nothing left to move anywhere
        counts = await system.control("nominations", "event_counts")
        assert counts.get("EditionAnnounced") == 1
        r = await system.clients["nominations"].get(f"/v1/editions/{announced['edition_id']}")
        assert r.status_code in (200, 401), r.text  # served by the nominations process
        # the parent's operations need its key; without it a process knows no such path
        bare = await system.clients["nominations"].post(PREFIX + "drain", json={})
        assert bare.status_code == 404
        wrong = await system.clients["nominations"].post(
            PREFIX + "drain", json={}, headers={KEY_HEADER: "guess"}
        )
        assert wrong.status_code == 404
    # every service's process ended with the context, cleanly, and is gone
    assert all(child.returncode == 0 for child in system._children.values())
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"
    except OSError:
        return True
