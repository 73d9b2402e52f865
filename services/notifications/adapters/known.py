"""What the notifications' consumers keep of the other services' events (documents), and who
the service may therefore tell something."""

from __future__ import annotations

from typing import Any

from shared.store.eventstore import UnitOfWork

APPLICATIONS = "applications"
CANDIDATES = "candidates"
COMMISSIONS = "commissions"
WINNERS = "winners"
EDITIONS = "editions"
SITTINGS = "sittings"
SHEETS = "sheets"
RECUSALS = "recusals"

DECIDING_KIND = {"stage1_selection": "project", "stage1_interview": "interview", "stage2": "stage2"}
"""The sheet that counts a member's assessment of a candidate as given at each stage: at the
interview stage the essay sheets come first (§14) and the interview sheets decide (§15–§16), so
a member who gave only the essay sheet has not yet assessed the nominee."""


def counts(stage: str | None, kind: str | None) -> bool:
    """Whether a sheet of ``kind`` at ``stage`` is the member's assessment there."""
    wanted = DECIDING_KIND.get(stage or "")
    return wanted is None or kind is None or kind == wanted


async def known_recipients(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every recipient reference the service may tell something, with why and where: the
    nominators and candidates of the applications, the members and secretaries of the
    commissions (an organiser's list of whom contacts are still missing for)."""
    found: dict[str, dict[str, Any]] = {}
    for app_id, app in await uow.docs.list(APPLICATIONS):
        region = app.get("region")
        if app.get("nominator"):
            found.setdefault(app["nominator"], {"as": "nominator", "region": region})
        found.setdefault(f"candidate:{app_id}", {"as": "candidate", "region": region})
    for _, commission in await uow.docs.list(COMMISSIONS):
        region = commission.get("region")
        for person in commission.get("members", []):
            found.setdefault(f"person:{person}", {"as": "member", "region": region})
        if commission.get("secretary"):
            found.setdefault(
                f"person:{commission['secretary']}", {"as": "secretary", "region": region}
            )
    return [{"recipient": ref, **about} for ref, about in sorted(found.items())]


def expected(
    stage: str, region: str | None, candidates: list[tuple[str, dict[str, Any]]]
) -> set[str]:
    """The candidates a commission's members assess at ``stage``: the finalists at stage II,
    the region's nominees at the interview, the region's candidates before."""
    if stage == "stage2":
        return {cid for cid, d in candidates if d.get("finalist")}
    wanted = {cid for cid, d in candidates if d.get("region") == region}
    if stage == "stage1_interview":
        return {cid for cid, d in candidates if cid in wanted and d.get("nominated")}
    return wanted


async def assessed(
    uow: UnitOfWork, commission_id: str, stage: str, members: list[str]
) -> dict[str, set[str]]:
    """The candidates each member is done with at ``stage``: those given a sheet, and those the
    member recused from (our reading of §3, §20: a recused member gives no sheet for that
    candidate, so nothing of theirs is missing for it)."""
    done: dict[str, set[str]] = {}
    for member in members:
        sheets = await uow.docs.get(SHEETS, f"{commission_id}|{stage}|{member}") or {}
        recused = await uow.docs.get(RECUSALS, f"{commission_id}|{member}") or {}
        done[member] = set(sheets.get("candidates", [])) | set(recused.get("candidates", []))
    return done
