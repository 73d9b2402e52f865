"""Pages anyone opens without signing in: the results per region as reporting published them
(nominees, the finalist, the winners) and the residents' surveys by region, district and rural
district, each with the akim it rates and the way to answer it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.i18n import place
from services.portal.pages.common import Json
from services.portal.web import backends, lang_of, render
from shared.territory import Level, load_territory


def regions() -> list[str]:
    """The regions with rural districts (the competition's), by KATO."""
    territory = load_territory()
    rural = {u.kato[:2] for u in territory.of_level(Level.rural_district)}
    return sorted(u.kato for u in territory.of_level(Level.region) if u.kato[:2] in rural)


def survey_page(request: Request, survey_id: str, lang: str) -> str:
    root = request.app.state.settings.portal_survey_page_url.rstrip("/") or "/survey"
    return f"{root}/surveys/{survey_id}?lang={lang}"


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/public", include_in_schema=False)
    async def index(request: Request) -> Response:
        lang = lang_of(request)
        published = await backends(request).call("reporting", "GET", "/v1/public/results", None)
        open_now = await backends(request).call(
            "reporting", "GET", "/v1/public/surveys", None, params={"status": "open"}
        )
        counts: dict[str, int] = defaultdict(int)
        for s in open_now["items"]:
            counts[s["region"]] += 1
        known = {x["region"]: x for x in published["regions"]}
        rows = [
            {
                "kato": kato,
                "name": place(kato, lang),
                "nominees": len(known.get(kato, {}).get("nominees") or []),
                "finalist": (known.get(kato, {}).get("finalist") or {}).get("name"),
                "surveys": counts[kato],
            }
            for kato in regions()
        ]
        rows.sort(key=lambda x: str(x["name"]))
        return render(
            request,
            "public_index.html",
            regions=rows,
            winners=_winners(published["winners"], lang),
        )

    @r.get("/public/regions/{region}", include_in_schema=False)
    async def region_page(region: str, request: Request) -> Response:
        lang = lang_of(request)
        api = backends(request)
        published = await api.call(
            "reporting", "GET", "/v1/public/results", None, params={"region": region}
        )
        found = await api.call(
            "reporting", "GET", "/v1/public/surveys", None, params={"region": region}
        )
        mine: Json = next(iter(published["regions"]), {"nominees": [], "finalist": None})
        districts: dict[str, list[Json]] = defaultdict(list)
        for n in mine["nominees"]:
            districts[n["district"]].append({**n, "settlement": place(n["rural_district"], lang)})
        surveys: dict[str, list[Json]] = defaultdict(list)
        for s in found["items"]:
            surveys[s.get("district") or ""].append(
                {
                    **s,
                    "settlement_name": place(s["settlement"], lang),
                    "href": survey_page(request, s["survey_id"], lang),
                }
            )
        return render(
            request,
            "public_region.html",
            region=region,
            region_name=place(region, lang),
            nominees=_grouped(districts, lang),
            finalist=mine["finalist"],
            surveys=_grouped(surveys, lang),
            winners=_winners(published["winners"], lang),
        )

    return r


def _grouped(by_district: dict[str, list[Json]], lang: Any) -> list[Json]:
    return [
        {"kato": k, "name": place(k, lang) or "—", "items": v}
        for k, v in sorted(by_district.items(), key=lambda kv: place(kv[0], lang))
    ]


def _winners(winners: list[Json], lang: Any) -> list[Json]:
    return [{**w, "region_name": place(w.get("region"), lang)} for w in winners]
