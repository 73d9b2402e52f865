"""Render a sitting's protocol from reporting's read models (a pure function of them)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from services.reporting.documents import mono, ranking, wording
from services.reporting.documents.annex import annex
from services.reporting.documents.labels import LABELS
from shared.territory import load_territory

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


def place_name(kato: str | None, lang: str, code: bool = False, places: Doc | None = None) -> str:
    """A region or a district by its name in ``lang`` (its KATO code beside when ``code``):
    as ``places`` names it (a signed protocol's register), else as the KATO classifier does."""
    if not kato:
        return ""
    if places and kato in places:
        name = str(places[kato].get(lang) or kato)
    else:
        unit = load_territory().find(str(kato))
        if unit is None:
            return str(kato)
        name = unit.name_kk if lang == "kk" else unit.name_ru
    return f"{name} ({kato})" if code else name


def _attended(member: Doc, present: bool, labels: dict[str, str]) -> str:
    """Present or absent, agreeing with the member's gender where the language asks for it
    (Russian: присутствовал, присутствовала; unknown: присутствовал(а))."""
    word = "present" if present else "absent"
    return labels.get(f"{word}_{member.get('gender')}", labels[word])


def _quorum(attendance: Doc | None, lang: str) -> str:
    if not attendance:
        return ""
    present = wording.attendance_count(len(attendance["present"]), attendance["members"], lang)
    return f"{present}; {wording.required_count(attendance['required'], lang)}"


def view(
    protocol: Doc,
    commission: Doc | None,
    candidates: dict[str, Doc],
    lang: str,
    number: int | None = None,
) -> Doc:
    """Everything the template shows, already in the protocol's language and order;
    ``number`` is the protocol's number in its commission's year."""
    labels = LABELS[lang]
    commission = commission or {}
    present = set((protocol.get("attendance") or {}).get("present", []))
    people = {m["person_id"]: m["name"] for m in commission.get("members", [])}
    members = [
        {
            "name": m["name"],
            "present": m["person_id"] in present,
            "status": _attended(m, m["person_id"] in present, labels),
            "chair": m["person_id"] == commission.get("chair_id"),
        }
        for m in commission.get("members", [])
    ]
    level = commission.get("level", "regional")
    places = commission.get("places")
    region = place_name(commission.get("region"), lang, places=places)
    title = labels[level] + (f" — {region}" if region else "")
    signed = protocol.get("signatures") or {}
    roles = {"chair": labels["chair"], "secretary": labels["secretary"]}
    return {
        "lang": lang,
        "L": labels,
        "p": protocol,
        "number": number,
        "commission_title": title,
        "opened": wording.moment(protocol.get("opened_at"), lang),
        "quorum_text": _quorum(protocol.get("attendance"), lang),
        "signed_at": wording.moment(signed.get("signed_at"), lang),
        "signers": [
            {
                "role": roles.get(sig["role"], sig["role"]),
                "name": _signer(sig, commission, people),
                "public_key": sig["public_key"],
                "signature": sig["signature"],
            }
            for sig in signed.get("signatures", [])
        ],
        "members": members,
        "secretary": (commission.get("secretary") or {}).get("name", ""),
        "chair": people.get(commission.get("chair_id", ""), ""),
        "annex": annex(protocol, commission, candidates, labels, lang),
        "summary": _summary(protocol, commission, candidates, labels, lang),
        "rankings": [
            _ranking(r, candidates, labels, lang, places) for r in protocol.get("rankings", [])
        ],
        "casting_votes": [
            _casting(c, people, candidates, labels) for c in protocol.get("casting_votes", [])
        ],
        "decisions": [
            _decision(d, candidates, labels, lang) for d in protocol.get("decisions", [])
        ],
    }


def _signer(sig: Doc, commission: Doc, people: dict[str, str]) -> str:
    """A signer by name: the chair among the members, the secretary as recorded."""
    secretary = commission.get("secretary") or {}
    if sig["person_id"] == secretary.get("person_id"):
        return str(secretary.get("name", sig["person_id"]))
    return str(people.get(sig["person_id"], sig["person_id"]))


def _summary(
    p: Doc, commission: Doc, candidates: dict[str, Doc], labels: dict[str, str], lang: str
) -> list[Doc]:
    """Per kind of sheet: each candidate's row of the members' sheet totals (members by their
    number in the attendance list), the sum and the mean of the sheets given — the figures as
    a line under a header line (:mod:`mono`)."""
    order = [m["person_id"] for m in commission.get("members", [])]
    live: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for s in p.get("sheets", {}).values():
        if not s.get("superseded_by"):
            live[s["kind"]][s["candidate_id"]][s["member_id"]] = int(s["total"])
    return [
        _summary_table(kind, live[kind], order, candidates, labels, lang) for kind in sorted(live)
    ]


def _summary_table(
    kind: str,
    by_candidate: dict[str, dict[str, int]],
    order: list[str],
    candidates: dict[str, Doc],
    labels: dict[str, str],
    lang: str,
) -> Doc:
    members = order + sorted({m for row in by_candidate.values() for m in row} - set(order))
    rows: list[tuple[str, list[str], str, str]] = []
    for cid, by_member in by_candidate.items():
        totals = list(by_member.values())
        mean = (Decimal(sum(totals)) / len(totals)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        shown = [str(by_member.get(m, "—")) for m in members]
        name = _candidate(candidates, cid)
        rows.append((name, shown, str(sum(totals)), wording.decimal(mean, lang)))
    each = mono.width(len(members), *(t for _, shown, _, _ in rows for t in shown), least=2)
    sums = mono.width(labels["sum"], *(r[2] for r in rows))
    means = mono.width(labels["mean"], *(r[3] for r in rows))

    def line(figures: list[str], total: str, mean: str) -> str:
        return "".join(f.rjust(each) for f in figures) + total.rjust(sums) + mean.rjust(means)

    numbers = [str(n) for n in range(1, len(members) + 1)]
    shape = mono.fit(len(line(numbers, "", "")))
    return {
        "kind_label": _kind(kind, labels),
        "head": line(numbers, labels["sum"], labels["mean"]),
        "rows": [{"candidate": name, "figures": line(f, t, m)} for name, f, t, m in sorted(rows)],
        "mono_pt": shape.size_pt,
        "mono_mm": shape.width_mm,
    }


def _ranking(
    r: Doc, candidates: dict[str, Doc], labels: dict[str, str], lang: str, places: Doc | None
) -> Doc:
    selected = set(r.get("selected") or [])
    components, cells = ranking.table(r.get("entries", []), labels, lang)
    entries = [
        {
            "rank": e["rank"],
            "candidate": _candidate(candidates, e["candidate_id"]),
            "total": wording.decimal(e["total"], lang),
            "selected": e["candidate_id"] in selected,
            **shown,
        }
        for e, shown in zip(r.get("entries", []), cells, strict=True)
    ]
    steps = [
        {
            "criterion": labels.get(s["criterion"], s["criterion"]),
            "applied": s["applied"],
            "text": _step_text(s, candidates, labels),
        }
        for s in r.get("tie_break_steps") or []
    ]
    return {
        "scope": r.get("scope"),
        "scope_name": place_name(r.get("scope"), lang, code=True, places=places),
        "components": components,
        "entries": entries,
        "steps": steps,
    }


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


def _decision(d: Doc, candidates: dict[str, Doc], labels: dict[str, str], lang: str) -> str:
    kind = d["decision"]
    if kind == "CandidateNominated":
        return (
            f"{_candidate(candidates, d['candidate_id'])} — {labels['nominated']} "
            f"({labels['points']} {wording.decimal(d['points'], lang)}, "
            f"{labels['rank']} {d['rank']})"
        )
    if kind == "FinalistSelected":
        reason = f"; {labels['reason']}: {d['reason']}" if d.get("reason") else ""
        return (
            f"{_candidate(candidates, d['candidate_id'])} — {labels['finalist']} "
            f"({labels['points']} {wording.decimal(d['regional_total'], lang)}){reason}"
        )
    if kind == "NoFinalistRecorded":
        return f"{labels['no_finalist']}: {d['reason']}"
    winners = "; ".join(
        f"{w['place']}. {_candidate(candidates, w['candidate_id'])} "
        f"({labels['mean']} {wording.decimal(w['mean'], lang)})"
        for w in d.get("winners", [])
    )
    empty = d.get("places_not_awarded") or []
    if not empty:
        return f"{labels['winners']}: {winners}"
    places = ", ".join(str(p) for p in empty)
    why = labels["fewer_finalists"].format(finalists=len(d.get("winners", [])))
    not_awarded = f"{labels['places']} {places}: {labels['not_awarded']} — {why}"
    return f"{labels['winners']}: {winners}. {not_awarded}"


def number_of(sitting_id: str, commission: Doc | None) -> int | None:
    """The protocol's number: its sitting's place among its commission's sittings opened in
    the same year (Almaty time), in the order they opened (None: not known)."""
    sittings = (commission or {}).get("sittings") or []
    mine = next((s for s in sittings if s["sitting_id"] == sitting_id), None)
    if mine is None:
        return None

    def year(s: Doc) -> int:
        return datetime.fromisoformat(s["opened_at"]).astimezone(wording.ALMATY).year

    same = [s["sitting_id"] for s in sittings if year(s) == year(mine)]
    return same.index(sitting_id) + 1


@dataclass(frozen=True)
class Rendered:
    """A protocol in one language: its HTML (the page shown) and what its PDF is laid out from
    (:mod:`pdf`: the same words in the same order)."""

    html: str
    page: Doc


def render(
    protocol: Doc,
    commission: Doc | None,
    candidates: dict[str, Doc],
    lang: str = "ru",
    number: int | None = None,
    verified: bool = False,
) -> Rendered:
    """``verified``: the signed digest was checked against the log (documents.signed)."""
    shown = view(protocol, commission, candidates, lang, number)
    html = _env.get_template("protocol.html.j2").render(**shown, verified=verified)
    return Rendered(html, printable(shown, verified))


def printable(shown: Doc, verified: bool) -> Doc:
    """The page a PDF is laid out from: :func:`view`'s words without the read model they were
    taken from (plain data: it goes to a render worker process)."""
    p, labels, lang = shown["p"], shown["L"], shown["lang"]
    meta = [(labels["date"], f"{shown['opened']} ({labels['almaty_time']})")]
    if p.get("place"):
        meta.append((labels["place"], _in(p, "place", lang)))
    stage = p.get("stage") or ""
    meta.append((labels["stage"], str(labels.get(stage, stage))))
    meta.append((labels["purpose"], _in(p, "purpose", lang)))
    attendance = p.get("attendance")
    signatures = p.get("signatures")
    signed = None
    if signatures:
        signed = {
            "signed_at": shown["signed_at"],
            "digest": signatures["digest"],
            "signers": shown["signers"],
        }
    return {
        "lang": lang,
        "L": labels,
        "number": shown["number"],
        "commission_title": shown["commission_title"],
        "meta": meta,
        "members": shown["members"],
        "secretary": shown["secretary"],
        "chair": shown["chair"],
        "quorum": (bool(attendance["quorate"]), shown["quorum_text"]) if attendance else None,
        "summary": shown["summary"],
        "rankings": shown["rankings"],
        "casting_votes": shown["casting_votes"],
        "decisions": shown["decisions"],
        "signed": signed,
        "verified": verified,
        "sitting_id": p.get("sitting_id", ""),
        "annex": shown["annex"],
    }


def _in(p: Doc, field: str, lang: str) -> str:
    """A field recorded in Russian with its Kazakh beside (``place_kk``), in ``lang``."""
    kk = p.get(f"{field}_kk") if lang == "kk" else None
    return str(kk or p.get(field) or "")


@dataclass(frozen=True)
class Published:
    """A protocol as published: its HTML, its printable page, and the files its PDF carries (a
    signed one: the signed document, its signatures and what it was rendered with)."""

    html: str
    page: Doc
    attachments: dict[str, bytes]
    signed_at: str | None = None


def render_pdf(
    page: Doc, attachments: dict[str, bytes] | None = None, at: str | None = None
) -> bytes:
    """PDF/A-3b (:mod:`pdf`), with ``attachments`` embedded (a signed protocol proves itself
    from the file alone: ``uzdik verify-protocol``) and dated ``at`` (RFC 3339: when it was
    signed); byte-identical across replays."""
    from services.reporting.documents.pdf import write

    return write(page, attachments, at)
