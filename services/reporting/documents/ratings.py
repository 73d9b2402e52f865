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
            comps = "; ".join(
                f"{c['name']}={c['value']}×{c['weight']}" for c in e.get("components", [])
            )
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
