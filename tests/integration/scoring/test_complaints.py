"""§12 tie-break (4) over Kafka: the secretary's justified-complaints figure, recorded with its
source during the admission check and published by nominations (``JustifiedComplaintsRecorded``),
reaches scoring before and after the registration; an unknown figure is never read as 0."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from shared.events import Event
from tests.integration.scoring.world import SECRETARY, World, districts_of

REGION = "190000000"  # Almaty region


class JustifiedComplaintsRecorded(Event):
    """The contract nominations publishes (schema_version 1), as its handler would append it."""

    event_type: ClassVar[str] = "JustifiedComplaintsRecorded"
    application_id: str
    edition_id: str
    count: Annotated[int, Field(ge=0)]
    source: Annotated[str, Field(min_length=1)]


async def record(world: World, application_id: str, count: int, source: str) -> None:
    event = JustifiedComplaintsRecorded(
        application_id=application_id, edition_id=world.edition_id, count=count, source=source
    )
    await world.stores["nominations"].append(
        f"application-{application_id}", None, [event], SECRETARY
    )


async def test_the_complaints_figure_reaches_scoring_before_and_after_registration(
    world: World,
) -> None:
    await world.announce()
    (district, rural), *_ = districts_of(REGION, 1, 4).items()
    scores = (20, 15, 10, 10)
    ids = [await world.admit(rural[i], district, REGION, score=s) for i, s in enumerate(scores)]
    await record(world, ids[2], 2, "akimat register of appeals")  # before the registration
    await record(world, ids[0], 5, "akimat register of appeals")
    outside = JustifiedComplaintsRecorded.model_construct(  # outside the contract: ignored
        application_id=ids[1], edition_id=world.edition_id, count=-1, source=""
    )
    await world.stores["nominations"].append(f"application-{ids[1]}", None, [outside], SECRETARY)
    seat = await world.form(REGION)
    await world.registered(*ids)

    async def known(cid: str, count: int | None) -> bool:
        return (await world.candidate(cid))["justified_complaints"] == count

    third = await world.candidate(ids[2])
    if third["justified_complaints"] is None:  # the figure may come after the registration
        await world.until(lambda: known(ids[2], 2))
        third = await world.candidate(ids[2])
    assert (third["justified_complaints"], third["complaints_source"]) == (
        2,
        "akimat register of appeals",
    )
    await record(world, ids[0], 1, "prosecutor's office")  # after: supersedes the earlier one
    await world.until(lambda: known(ids[0], 1))
    assert (await world.candidate(ids[0]))["complaints_source"] == "prosecutor's office"
    second = await world.candidate(ids[1])  # registered all the same, its figure unknown
    assert (second["justified_complaints"], second["complaints_source"]) == (None, None)
    fourth = await world.candidate(ids[3])
    assert (fourth["justified_complaints"], fourth["complaints_source"]) == (None, None)

    sitting, _ = await world.sitting(seat, "stage1_selection")
    await world.score(seat, sitting, seat.members, dict.fromkeys(ids, 6))
    decision = await world.ok(
        world.scoring.post(
            f"/v1/sittings/{sitting}/nominations",
            json={"district": district},
            headers=world.secretary(seat),
        )
    )
    last = decision["tie_break_steps"][-1]
    assert (last["criterion"], last["applied"]) == ("fewest_complaints", False)
    assert last["values"] == {ids[2]: "2", ids[3]: None}  # unknown: skipped, never 0
    assert decision["status"] == "pending_casting_vote"
