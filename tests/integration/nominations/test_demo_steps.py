"""The demo's nominations steps, over the distributed service: a region's batch is submitted,
checked, and exactly the applications made ineligible are rejected, for their named reasons."""

from __future__ import annotations

import random
import uuid
from datetime import datetime

from demo.nominations import steps as demo_steps
from demo.nominations.data import Ineligibility
from services.nominations.domain.values import ALMATY
from shared.territory import load_territory

from .support import IN_CHECK, Nominations

ULYTAU = "620000000"
SEED = 25  # with Ұлытау and 3 per district, every kind of ineligibility is drawn


async def test_a_regions_batch_is_admitted_except_the_ones_made_ineligible(
    api: Nominations,
) -> None:
    plans = demo_steps.plan_region(load_territory(), ULYTAU, 3, random.Random(SEED))
    assert {p.ineligible for p in plans} == {None, *Ineligibility}
    edition_id = str(uuid.uuid4())
    await demo_steps.announce_2020(api.client, api.bearer, edition_id)
    api.clock.set(datetime(2020, 6, 1, 9, 0, tzinfo=ALMATY))
    ids = await demo_steps.submit_region_batch(
        api.client, api.bearer, edition_id, ULYTAU, 3, random.Random(SEED)
    )
    assert ids == sorted(p.application_id for p in plans)
    api.clock.set(IN_CHECK)
    admitted, rejected = await demo_steps.check_all(api.client, api.bearer, edition_id, ULYTAU)
    expected = {p.application_id: p.ineligible for p in plans if p.ineligible}
    assert {app: {e["code"] for e in errors} for app, errors in rejected.items()} == {
        app: {reason.value} for app, reason in expected.items()
    }
    assert sorted(admitted) == sorted(set(ids) - set(expected))


async def test_the_demos_secretary_records_complaints_for_most_but_not_all(
    api: Nominations,
) -> None:
    edition_id = str(uuid.uuid4())
    await demo_steps.announce_2020(api.client, api.bearer, edition_id)
    api.clock.set(datetime(2020, 6, 1, 9, 0, tzinfo=ALMATY))
    ids = await demo_steps.submit_region_batch(
        api.client, api.bearer, edition_id, ULYTAU, 3, random.Random(SEED + 1)
    )
    api.clock.set(IN_CHECK)
    await demo_steps.check_all(api.client, api.bearer, edition_id, ULYTAU)
    reader = api.bearer(f"secretary-{ULYTAU}", ["secretary"], ULYTAU)
    shown = {
        app: (await api.client.get(f"/v1/applications/{app}", headers=reader)).json()["complaints"]
        for app in ids
    }
    assert {app: c and c["count"] for app, c in shown.items()} == {
        app: demo_steps.complaints_of(app) for app in ids
    }
    recorded = [c for c in shown.values() if c is not None]
    assert len(ids) > len(recorded) >= len(ids) * 3 // 4
