"""Who may act (DOMAIN "Actors", "Nobody acts outside their role and region")."""

from __future__ import annotations

from shared.errors import Forbidden
from shared.events import Actor

ORGANISER = "organiser"
SECRETARY = "secretary"


def require_role(actor: Actor, role: str, action: str) -> None:
    """Refuse with 403 ``role_not_allowed`` unless ``actor`` acts in ``role``."""
    if actor.role != role:
        raise Forbidden("role_not_allowed", f"only the {role} may {action}; not {actor.role}")


def require_region(actor: Actor, region_kato: str, action: str) -> None:
    """Refuse with 403 ``region_not_allowed`` unless ``actor`` belongs to ``region_kato``."""
    if actor.region != region_kato:
        raise Forbidden(
            "region_not_allowed",
            f"region {actor.region or 'none'} may not {action} in region {region_kato}",
        )
