"""A ranking as a protocol shows it: a row per candidate — rank, name, points — and a column per
component of the points, named once in the header with its weight ("×1", or "for reference"
when it weighs nothing). Written out in every row ("interview, mean 63,0000×1; survey …") the
components made a region's ranking ten pages long."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.reporting.documents import wording

Doc = dict[str, Any]


def columns(entries: list[Doc]) -> list[tuple[str, set[str]]]:
    """The components in the order the entries give them, each with the weights it has."""
    found: dict[str, set[str]] = {}
    for e in entries:
        for c in e.get("components", []):
            found.setdefault(c["name"], set()).add(_weight(c))
    return list(found.items())


def header(name: str, weights: set[str], labels: dict[str, str]) -> str:
    """A component's name, with its weight when every entry gives it the same one."""
    shown = labels.get(f"component_{name}", name)
    if len(weights) != 1:
        return shown
    [weight] = weights
    return f"{shown} ({labels['shown']})" if Decimal(weight) == 0 else f"{shown} ×{weight}"


def cell(c: Doc | None, uniform: bool, labels: dict[str, str], lang: str) -> str:
    """A component's value (its count of responses beside it); a figure that does not exist (a
    survey nobody answered) is "no responses", never 0; the weight, when the column's header
    could not give it."""
    if c is None:
        return "—"
    value = labels["no_responses"] if c.get("value") is None else wording.decimal(c["value"], lang)
    count = f" ({c['count']} {labels['responses']})" if c.get("count") is not None else ""
    if uniform:
        return f"{value}{count}"
    weight = _weight(c)
    return f"{value}{count}" + (f"×{weight}" if Decimal(weight) != 0 else f" — {labels['shown']}")


def _weight(c: Doc) -> str:
    return str(c.get("weight", 0))


def table(entries: list[Doc], labels: dict[str, str], lang: str) -> tuple[list[str], list[Doc]]:
    """The component columns' headers, and each entry's cells under them."""
    found = columns(entries)
    rows = []
    for e in entries:
        by_name = {c["name"]: c for c in e.get("components", [])}
        rows.append(
            {
                "cells": [
                    cell(by_name.get(name), len(weights) == 1, labels, lang)
                    for name, weights in found
                ]
            }
        )
    return [header(name, weights, labels) for name, weights in found], rows
