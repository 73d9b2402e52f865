"""Ratings as CSV and XLSX, one row per candidate with every component."""

from __future__ import annotations

import csv
import io
from typing import Any

Doc = dict[str, Any]
HEADER = [
    "purpose",
    "scope",
    "rank",
    "candidate_id",
    "candidate",
    "total",
    "selected",
    "components",
]


def rows(ratings: list[Doc], candidates: dict[str, Doc]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for r in sorted(ratings, key=lambda r: (r.get("purpose", ""), r.get("scope") or "")):
        selected = set(r.get("selected") or [])
        for e in r.get("entries", []):
            comps = "; ".join(_component(c) for c in e.get("components", []))
            out.append(
                [
                    r["purpose"],
                    r.get("scope") or "republic",
                    e["rank"],
                    e["candidate_id"],
                    candidates.get(e["candidate_id"], {}).get("name", ""),
                    e["total"],
                    e["candidate_id"] in selected,
                    comps,
                ]
            )
    return out


def _component(c: Doc) -> str:
    """``name=value×weight``; ``none`` for a figure that does not exist (a survey without
    responses), with the number of responses behind a survey mean."""
    value = "none" if c.get("value") is None else c["value"]
    count = f"(n={c['count']})" if c.get("count") is not None else ""
    return f"{c['name']}={value}{count}×{c['weight']}"


def to_csv(ratings: list[Doc], candidates: dict[str, Doc]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows(ratings, candidates))
    return buffer.getvalue()


def to_xlsx(ratings: list[Doc], candidates: dict[str, Doc]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "ratings"
    sheet.append(HEADER)
    for row in rows(ratings, candidates):
        sheet.append([str(v) if not isinstance(v, int | bool) else v for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
