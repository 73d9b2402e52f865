"""§18: the region's materials and decision go to the Agency (by 15 August 18:30 in 2020).

The region's secretary records the sending once the regional decision exists — its finalist
(§16) or the recorded "no finalist" — (409 ``regional_decision_missing``), once per region
(409 ``materials_already_sent``). After the edition's ``materials`` deadline it is refused
(``deadline_passed``, :mod:`.deadlines`) unless the organiser extended it.
"""

from __future__ import annotations

from dataclasses import replace

from services.scoring.domain.commands import SendMaterials
from services.scoring.domain.commission import require_commission
from services.scoring.domain.regional import finalists_of
from services.scoring.domain.stage import ensure_stage_of
from services.scoring.domain.state import Scoring
from services.scoring.events import MaterialsSentToAgency
from shared.errors import Conflict
from shared.events import Event


def send_materials(state: Scoring, cmd: SendMaterials) -> list[Event]:
    """The region's materials to the Agency, with its finalist (or none, as decided)."""
    commission = require_commission(state)
    ensure_stage_of(commission, "stage1_interview")
    if state.materials is not None:
        raise Conflict("materials_already_sent", f"region {commission.region} sent them")
    picked = finalists_of(state)
    if not picked and state.no_finalist is None:
        detail = "select the region's finalist (§16) or record that it has none first"
        raise Conflict("regional_decision_missing", detail)
    return [
        MaterialsSentToAgency(
            commission_id=commission.commission_id,
            edition_id=commission.edition_id,
            region=commission.region or "",
            finalist_id=picked[0].candidate_id if picked else None,
            note=cmd.note.strip(),
            sent_at=cmd.at,
        )
    ]


def on_sent(state: Scoring, event: MaterialsSentToAgency) -> Scoring:
    return replace(state, materials=event)
