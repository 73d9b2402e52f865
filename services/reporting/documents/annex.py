"""The protocol's annex: every member's sheet, one table per kind of sheet, a row per candidate.

A stage-I interview protocol holds every member's essay and interview sheets of every
candidate — up to nine hundred sheets. Each sheet is a line of its candidate's row, in a
monospace font (:mod:`mono`): the member's number in the attendance list, the member, the
scores in the rubric's order under the criteria's numbers, and the total."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.reporting.documents import criteria, mono

Doc = dict[str, Any]


def short_name(name: str) -> str:
    """``Ахметов Ержан Жумабекович`` → ``Ахметов Е. Ж.``: the surname and the initials, as a
    table of figures names people (a word that does not start with a letter is kept whole)."""
    first, *rest = name.split() or [""]
    return " ".join([first, *(w[0] + "." if w[0].isalpha() else w for w in rest)])


def member_numbers(commission: Doc, sheets: list[Doc]) -> dict[str, int]:
    """Members by their number in the attendance list; anyone else who filed a sheet after
    them (the summary numbers them the same way)."""
    order = [m["person_id"] for m in commission.get("members", [])]
    order += sorted({s["member_id"] for s in sheets} - set(order))
    return {person: n for n, person in enumerate(order, 1)}


def annex(
    protocol: Doc, commission: Doc, candidates: dict[str, Doc], labels: dict[str, str], lang: str
) -> list[Doc]:
    """Per kind of sheet: its criteria (number and name), the header of its figures, and its
    candidates in order of name, each with a line per sheet by member number (a corrected
    sheet struck through, the reason beside the candidate's name)."""
    sheets = list(protocol.get("sheets", {}).values())
    numbers = member_numbers(commission, sheets)
    people = {m["person_id"]: m["name"] for m in commission.get("members", [])}
    by_kind: dict[str, list[Doc]] = defaultdict(list)
    for s in sheets:
        by_kind[s["kind"]].append(s)
    return [
        _kind_table(kind, by_kind[kind], numbers, people, candidates, labels, lang)
        for kind in sorted(by_kind)
    ]


def _kind_table(
    kind: str,
    sheets: list[Doc],
    numbers: dict[str, int],
    people: dict[str, str],
    candidates: dict[str, Doc],
    labels: dict[str, str],
    lang: str,
) -> Doc:
    rubric = criteria.of_sheet(kind)
    keys = [c.key for c in rubric]
    keys += sorted({k for s in sheets for k in s["scores"]} - set(keys))  # a key the rubric lacks
    columns = [str(c.number) for c in rubric] + keys[len(rubric) :]
    shown = [str(v) for s in sheets for v in s["scores"].values()]
    width = 1 + max(3, *(len(c) for c in columns), *(len(v) for v in shown))
    members = {m: short_name(people.get(m, m[:8])) for m in {s["member_id"] for s in sheets}}
    member_w = mono.width(labels["member"], *members.values())
    total_w = mono.width(labels["total"], *(s["total"] for s in sheets))
    figures_w = width * len(columns)

    def line(number: str, member: str, figures: str, total: str) -> str:
        return f"{number:>2}  {member:<{member_w}}{figures:>{figures_w}}{total:>{total_w}}"

    lines: dict[str, list[Doc]] = defaultdict(list)
    notes: dict[str, list[str]] = defaultdict(list)
    for s in sorted(sheets, key=lambda s: (numbers[s["member_id"]], s["recorded_at"])):
        n = numbers[s["member_id"]]
        figures = "".join(str(s["scores"].get(k, "—")).rjust(width) for k in keys)
        text = line(str(n), members[s["member_id"]], figures, str(s["total"]))
        lines[s["candidate_id"]].append({"text": text, "old": bool(s.get("superseded_by"))})
        if note := _note(s, labels):
            notes[s["candidate_id"]].append(f"№ {n}: {note}")
    shape = mono.fit(len(line("", "", "", "")))
    return {
        "kind_label": labels.get("stage2_sheet" if kind == "stage2" else kind, kind),
        "legend": [(c.number, c.name(lang)) for c in rubric],
        "head": [
            line("№", labels["member"], labels["by_criteria"].center(figures_w), labels["total"]),
            line("", "", "".join(c.rjust(width) for c in columns), ""),
        ],
        "mono_pt": shape.size_pt,
        "mono_mm": shape.width_mm,
        "candidates": [
            {"name": name, "lines": lines[cid], "notes": notes[cid]}
            for name, cid in sorted((_candidate(candidates, cid), cid) for cid in lines)
        ],
    }


def _candidate(candidates: dict[str, Doc], cid: str) -> str:
    return str(candidates.get(cid, {}).get("name") or cid[:8])


def _note(sheet: Doc, labels: dict[str, str]) -> str:
    """Why a sheet was corrected and by which sheet it was replaced ("" for most sheets)."""
    said = [f"{labels['reason']}: {sheet['reason']}"] if sheet.get("reason") else []
    if sheet.get("superseded_by"):
        said.append(f"{labels['superseded']} {sheet['superseded_by'][:8]}")
    return "; ".join(said)
