"""The criteria of the evaluation sheets by number and name, in the protocol's language, from
the edition's reference data (``shared/data/rubrics-<edition>.json``, the file scoring reads
its rubrics from): a protocol names criteria, never prints their keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Criterion:
    number: int
    key: str
    names: dict[str, str]

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names["ru"]


@cache
def sheets(name: str = "rubrics-2020.json") -> dict[str, tuple[Criterion, ...]]:
    """Each kind of sheet's criteria in their order."""
    text = resources.files("shared").joinpath("data", name).read_text("utf-8")
    found: dict[str, tuple[Criterion, ...]] = {}
    for sheet in json.loads(text)["sheets"]:
        found[sheet["kind"]] = tuple(
            Criterion(c["number"], c["key"], dict(c["name"])) for c in sheet["criteria"]
        )
    return found


def of_sheet(kind: str) -> tuple[Criterion, ...]:
    return sheets().get(kind, ())
