"""The sender's rounds: members reminded of a stage's deadline when their sheets are missing,
each reminder once (its notification id is derived from its key)."""

from __future__ import annotations

from datetime import datetime

from services.notifications.adapters import known
from services.notifications.adapters.known import CANDIDATES, COMMISSIONS, EDITIONS
from services.notifications.domain import reminders
from services.notifications.domain.edition_figures import NotificationRules
from services.notifications.entrypoints.consumers import tell
from shared.events import SYSTEM
from shared.handlers import Cause
from shared.store.eventstore import UnitOfWork


async def remind_due(uow: UnitOfWork, rules: NotificationRules, now: datetime) -> list[str]:
    """Queue the deadline reminders due at ``now`` (each once); their notification ids."""
    queued: list[str] = []
    candidates = await uow.docs.list(CANDIDATES)
    for commission_id, commission in await uow.docs.list(COMMISSIONS):
        edition = await uow.docs.get(EDITIONS, str(commission.get("edition_id")))
        if edition is None:
            continue
        for stage in commission.get("open", []):
            step = reminders.STEP_OF_STAGE.get(stage)
            if step is None or step not in edition["deadlines"]:
                continue
            deadline = datetime.fromisoformat(edition["deadlines"][step])
            done = await known.assessed(uow, commission_id, stage, commission["members"])
            expected = known.expected(stage, commission.get("region"), candidates)
            for r in reminders.due(
                now,
                rules.reminder_hours,
                commission_id,
                stage,
                deadline,
                commission["members"],
                expected,
                done,
            ):
                cause = Cause(SYSTEM, f"reminder-{commission_id}", now)
                params = {"commission_id": commission_id, "stage": stage}
                params |= {"deadline": r.deadline.isoformat(), "missing": r.missing}
                nid = await tell(
                    uow,
                    rules,
                    cause,
                    r.key,
                    f"person:{r.member}",
                    "member",
                    "deadline_reminder",
                    params,
                )
                if nid:
                    queued.append(nid)
    return queued
