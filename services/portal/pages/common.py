"""What several pages read: places by name, a commission, its people, its rubrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.portal.backends import Backends
from services.portal.i18n import Lang, place
from services.portal.web import Person

Json = dict[str, Any]


def names(value: Any, lang: Lang) -> str:
    """A ``{ru, kk, en}`` name in the page's language (Russian when a language is missing)."""
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("ru") or next(iter(value.values()), ""))
    return str(value or "")


@dataclass(frozen=True)
class Commission:
    """A commission as scoring shows it, with its people by id."""

    view: Json

    @property
    def id(self) -> str:
        return str(self.view["commission_id"])

    @property
    def region(self) -> str | None:
        region = self.view.get("region")
        return str(region) if region else None

    def people(self) -> dict[str, Json]:
        found = {m["person_id"]: m for m in self.view["members"]}
        secretary = self.view["secretary"]
        found.setdefault(secretary["person_id"], secretary)
        return found

    def name_of(self, person_id: str) -> str:
        return str(self.people().get(person_id, {}).get("name") or person_id)

    def title(self, lang: Lang) -> str:
        from services.portal.i18n import gettext

        if self.region is None:
            return gettext(lang, "Republican commission")
        return gettext(lang, "Regional commission: %(region)s", region=place(self.region, lang))


async def commission(api: Backends, me: Person, commission_id: str) -> Commission:
    return Commission(
        await api.call("scoring", "GET", f"/v1/commissions/{commission_id}", me.token)
    )


async def candidates(
    api: Backends, me: Person, board: Commission, params: dict[str, str] | None = None
) -> list[Json]:
    """A commission's candidates; the Republican commission's are the regions' finalists
    (grouped by region where a regional commission groups by district)."""
    if board.region is not None:
        return await api.pages(
            "scoring", f"/v1/commissions/{board.id}/candidates", me.token, params
        )
    found = await api.call("scoring", "GET", f"/v1/commissions/{board.id}/finalists", me.token)
    return [
        {
            **f,
            "district": f["region"],
            "finalist": True,
            "nomination": None,
            "ethics": None,
            "feedback": None,
            "questionnaire_score": None,
        }
        for f in found["items"]
    ]


async def rubrics(api: Backends, me: Person, commission_id: str) -> dict[str, Json]:
    found = await api.call("scoring", "GET", f"/v1/commissions/{commission_id}/rubrics", me.token)
    return {sheet["kind"]: sheet for sheet in found["sheets"]}


async def sitting(api: Backends, me: Person, sitting_id: str) -> Json:
    found: Json = await api.call("scoring", "GET", f"/v1/sittings/{sitting_id}", me.token)
    return found
