"""Who may act on a commission: role, region AND commission claims of the bearer token.

* ``member``, ``chair`` and ``secretary`` act only on the commission named by their token's
  ``commission`` claim (403 ``commission_not_allowed``) — and the domain then checks that the
  subject really sits on it (``not_a_member``, ``not_the_chair``…);
* every role acts only in the region of its token's ``region`` claim, when it has one
  (403 ``region_not_allowed``); the Republican commission is formed by the Agency only;
* ``ethics`` and ``organiser`` may carry a ``commission`` claim; when they do, it must match.
"""

from __future__ import annotations

from services.scoring.adapters.lookups import CommissionRef
from shared.auth import Principal
from shared.errors import Forbidden
from shared.events import Actor

SEATED = frozenset({"member", "chair", "secretary"})


def authorise(who: Principal, ref: CommissionRef, *roles: str) -> Actor:
    """The actor for a command on ``ref`` that needs one of ``roles``, or a 403."""
    actor = who.act_as(*roles, region=ref.region)
    claim = who.commission
    if (actor.role in SEATED or claim is not None) and claim != ref.commission_id:
        detail = (
            f"the token is for commission {claim or '(none)'}; "
            f"this is commission {ref.commission_id}"
        )
        raise Forbidden("commission_not_allowed", detail)
    if ref.region is None and who.region is not None and actor.role == "organiser":
        detail = f"the token is for region {who.region}; the Republican commission is the Agency's"
        raise Forbidden("region_not_allowed", detail)
    return actor


READERS = ("organiser", "auditor", "secretary", "member", "chair", "ethics")
"""Who reads a commission's records through scoring's API: its own people (the commission
their token names), the ethics commissioner and the organiser of its region, and the
national roles."""


def readable(who: Principal, ref: CommissionRef) -> None:
    """403 unless ``who`` may read ``ref``'s records: the same role, region and commission
    claims as a command (a member of another region or commission reads nothing of it)."""
    authorise(who, ref, *READERS)


def may_read(who: Principal, ref: CommissionRef) -> bool:
    try:
        readable(who, ref)
    except Forbidden:
        return False
    return True


def readable_candidate(who: Principal, home: CommissionRef) -> None:
    """A candidate's records: as its commission's (``home``); the Republican commission's
    people read every candidate too (the finalists before them come from every region)."""
    if (
        who.region is None
        and who.commission is not None
        and any(r in who.roles for r in ("secretary", "member", "chair"))
        and home.region is not None
    ):
        return
    readable(who, home)
