"""Render a sitting's protocol from reporting's read models (a pure function of them)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from services.reporting.documents.labels import LABELS

Doc = dict[str, Any]
_env = Environment(
    loader=PackageLoader("services.reporting.documents", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
)


def _kind(kind: str, labels: dict[str, str]) -> str:
    return labels.get("stage2_sheet" if kind == "stage2" else kind, kind)


def _candidate(candidates: dict[str, Doc], cid: str) -> str:
    return str(candidates.get(cid, {}).get("name") or cid[:8])


def view(protocol: Doc, commission: Doc | None, candidates: dict[str, Doc], lang: str) -> Doc:
    """Everything the template shows, already in the protocol's language and order."""
    labels = LABELS[lang]
    commission = commission or {}
    present = set((protocol.get("attendance") or {}).get("present", []))
    people = {m["person_id"]: m["name"] for m in commission.get("members", [])}
    members = [
        {
            "name": m["name"],
            "present": m["person_id"] in present,
            "chair": m["person_id"] == commission.get("chair_id"),
        }
        for m in commission.get("members", [])
    ]
    level = commission.get("level", "regional")
    title = labels[level] + (f" ({commission['region']})" if commission.get("region") else "")
    return {
        "lang": lang,
        "L": labels,
        "p": protocol,
        "commission_title": title,
        "opened": local_time(protocol.get("opened_at")),
        "members": members,
        "secretary": (commission.get("secretary") or {}).get("name", ""),
        "chair": people.get(commission.get("chair_id", ""), ""),
        "sheets": _sheets(protocol, people, candidates, labels),
        "totals": _totals(protocol, candidates, labels),
        "rankings": [_ranking(r, candidates, labels) for r in protocol.get("rankings", [])],
        "casting_votes": [
            _casting(c, people, candidates, labels) for c in protocol.get("casting_votes", [])
        ],
        "decisions": [_decision(d, candidates, labels) for d in protocol.get("decisions", [])],
    }


def _sheets(
    p: Doc, people: dict[str, str], candidates: dict[str, Doc], labels: dict[str, str]
) -> list[Doc]:
    rows = []
    for s in sorted(
        p.get("sheets", {}).values(),
        key=lambda s: (
            _candidate(candidates, s["candidate_id"]),
            s["kind"],
            people.get(s["member_id"], s["member_id"]),
            s["recorded_at"],
        ),
    ):
        scores = ", ".join(f"{k}: {v}" for k, v in sorted(s["scores"].items()))
        rows.append(
            {
                **s,
                "candidate": _candidate(candidates, s["candidate_id"]),
                "member": people.get(s["member_id"], s["member_id"][:8]),
                "kind_label": _kind(s["kind"], labels),
                "scores_text": scores,
            }
        )
    return rows


def _totals(p: Doc, candidates: dict[str, Doc], labels: dict[str, str]) -> list[Doc]:
    live: dict[tuple[str, str], list[int]] = defaultdict(list)
    for s in p.get("sheets", {}).values():
        if not s.get("superseded_by"):
            live[(s["candidate_id"], s["kind"])].append(int(s["total"]))
    out = []
    for (cid, kind), totals in live.items():
        mean = (Decimal(sum(totals)) / len(totals)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        out.append(
            {
                "candidate": _candidate(candidates, cid),
                "kind_label": _kind(kind, labels),
                "sum": sum(totals),
                "mean": str(mean),
                "candidate_id": cid,
                "kind": kind,
            }
        )
    return sorted(out, key=lambda t: (t["candidate"], t["kind"]))


def _ranking(r: Doc, candidates: dict[str, Doc], labels: dict[str, str]) -> Doc:
    selected = set(r.get("selected") or [])
    entries = [
        {
            "rank": e["rank"],
            "candidate": _candidate(candidates, e["candidate_id"]),
            "total": e["total"],
            "selected": e["candidate_id"] in selected,
            "components_text": "; ".join(
                component_text(c, labels) for c in e.get("components", [])
            ),
        }
        for e in r.get("entries", [])
    ]
    steps = [
        {
            "criterion": s["criterion"],
            "applied": s["applied"],
            "text": _step_text(s, candidates, labels),
        }
        for s in r.get("tie_break_steps") or []
    ]
    return {
        "scope": r.get("scope"),
        "scope_name": r.get("scope"),
        "entries": entries,
        "steps": steps,
    }


def component_text(c: Doc, labels: dict[str, str]) -> str:
    """``name value×weight``; a line of weight 0 is shown beside the total ("for reference"); a
    figure that does not exist (a survey nobody answered) is "no responses", never 0."""
    value = labels["no_responses"] if c.get("value") is None else c["value"]
    count = f" ({c['count']} {labels['responses']})" if c.get("count") is not None else ""
    weight = Decimal(str(c.get("weight", 0)))
    how = f"×{c.get('weight')}" if weight != 0 else f" — {labels['shown']}"
    return f"{c['name']} {value}{count}{how}"


def _step_text(s: Doc, candidates: dict[str, Doc], labels: dict[str, str]) -> str:
    """What a tie-break step did; a skipped step names whose figure was missing."""
    if not s["applied"]:
        missing = [c for c, v in sorted((s.get("values") or {}).items()) if v is None]
        if missing:
            names = ", ".join(_candidate(candidates, c) for c in missing)
            return f"{labels['skipped_missing']} {names}"
    return " / ".join(
        ", ".join(_candidate(candidates, c) for c in s[k]) or "—"
        for k in ("advanced", "eliminated", "still_tied")
    )


def _casting(
    c: Doc, people: dict[str, str], candidates: dict[str, Doc], labels: dict[str, str]
) -> Doc:
    chosen = ", ".join(_candidate(candidates, x) for x in c["chosen"])
    tied = ", ".join(_candidate(candidates, x) for x in c["tied"])
    who = people.get(c["chair_id"], c["chair_id"][:8])
    return {"text": f"{who}: {tied} → {labels['chosen']}: {chosen}"}


def _decision(d: Doc, candidates: dict[str, Doc], labels: dict[str, str]) -> str:
    kind = d["decision"]
    if kind == "CandidateNominated":
        return (
            f"{_candidate(candidates, d['candidate_id'])} — {labels['nominated']} "
            f"({labels['points']} {d['points']}, {labels['rank']} {d['rank']})"
        )
    if kind == "FinalistSelected":
        reason = f"; {labels['reason']}: {d['reason']}" if d.get("reason") else ""
        return (
            f"{_candidate(candidates, d['candidate_id'])} — {labels['finalist']} "
            f"({labels['points']} {d['regional_total']}){reason}"
        )
    if kind == "NoFinalistRecorded":
        return f"{labels['no_finalist']}: {d['reason']}"
    winners = "; ".join(
        f"{w['place']}. {_candidate(candidates, w['candidate_id'])} ({labels['mean']} {w['mean']})"
        for w in d.get("winners", [])
    )
    empty = d.get("places_not_awarded") or []
    if not empty:
        return f"{labels['winners']}: {winners}"
    places = ", ".join(str(p) for p in empty)
    why = labels["fewer_finalists"].format(finalists=len(d.get("winners", [])))
    not_awarded = f"{labels['places']} {places}: {labels['not_awarded']} — {why}"
    return f"{labels['winners']}: {winners}. {not_awarded}"


def local_time(value: str | None) -> str:
    """An RFC 3339 instant as a protocol writes it: Almaty time, dd.mm.yyyy HH:MM."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value).astimezone(ZoneInfo("Asia/Almaty"))
    return moment.strftime("%d.%m.%Y %H:%M")


def render_html(
    protocol: Doc, commission: Doc | None, candidates: dict[str, Doc], lang: str = "ru"
) -> str:
    return _env.get_template("protocol.html.j2").render(
        **view(protocol, commission, candidates, lang)
    )


def render_pdf(html: str) -> bytes:
    """PDF through WeasyPrint; a fixed identifier keeps it byte-identical across replays."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf(
        pdf_identifier=b"uzdik-protocol", uncompressed_pdf=False
    )
    return pdf
