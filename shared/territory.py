"""Territorial units of Kazakhstan from the KATO classifier (DOMAIN intro, ``data/kato``).

Regions (17 oblasts + 3 cities of republican significance) hold districts, districts hold
rural districts (сельские округа — the units headed by a rural akim, DOMAIN "Actors"), rural
districts hold settlements. :func:`parse_csv` is pure; :func:`load_territory` reads the file
shipped in ``shared/data/kato`` (its provenance: ``SOURCE.md`` beside it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files

from shared.errors import NotFound


class Level(StrEnum):
    region = "region"
    district = "district"
    rural_district = "rural_district"
    settlement = "settlement"


@dataclass(frozen=True)
class Unit:
    """One KATO unit with its Kazakh and Russian names and its parent's code."""

    kato: str
    level: Level
    name_kk: str
    name_ru: str
    parent: str | None


class Territory:
    """The classifier as a tree with lookups by KATO code."""

    def __init__(self, units: Iterable[Unit]) -> None:
        self._units: dict[str, Unit] = {}
        self._children: dict[str, list[Unit]] = {}
        for unit in units:
            self._units[unit.kato] = unit
            if unit.parent is not None:
                self._children.setdefault(unit.parent, []).append(unit)

    def find(self, kato: str) -> Unit | None:
        return self._units.get(kato)

    def unit(self, kato: str) -> Unit:
        found = self._units.get(kato)
        if found is None:
            raise NotFound("unknown_kato", f"KATO {kato} is not in the classifier")
        return found

    def of_level(self, level: Level) -> list[Unit]:
        return [unit for unit in self._units.values() if unit.level is level]

    def count(self, level: Level) -> int:
        return len(self.of_level(level))

    def children(self, kato: str) -> list[Unit]:
        return list(self._children.get(kato, ()))

    def rural_district(self, kato: str) -> Unit:
        """The rural district ``kato``; NotFound when the code is no rural district."""
        found = self._units.get(kato)
        if found is None or found.level is not Level.rural_district:
            raise NotFound("unknown_rural_district", f"{kato} is not a rural district")
        return found

    def district_of(self, rural_kato: str) -> Unit:
        return self._parent(self.rural_district(rural_kato))

    def region_of(self, rural_kato: str) -> Unit:
        return self._parent(self.district_of(rural_kato))

    def settlements_of(self, rural_kato: str) -> list[Unit]:
        self.rural_district(rural_kato)
        return [u for u in self.children(rural_kato) if u.level is Level.settlement]

    def _parent(self, unit: Unit) -> Unit:
        assert unit.parent is not None, f"{unit.kato} has no parent"
        return self._units[unit.parent]


def parse_rows(rows: Iterable[Mapping[str, str]]) -> Territory:
    """Rows with the columns ``kato_code,level,name_kk,name_ru,parent_kato_code``."""
    return Territory(
        Unit(
            kato=row["kato_code"],
            level=Level(row["level"]),
            name_kk=row["name_kk"],
            name_ru=row["name_ru"],
            parent=row["parent_kato_code"] or None,
        )
        for row in rows
    )


def parse_csv(text: str) -> Territory:
    return parse_rows(csv.DictReader(io.StringIO(text)))


@cache
def load_territory() -> Territory:
    """The classifier shipped with the service (KATO 2026 edition, see ``SOURCE.md``)."""
    resource = files("shared") / "data" / "kato" / "rural-districts.csv"
    return parse_csv(resource.read_text(encoding="utf-8"))


_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu",
    "я": "ia", "ә": "a", "ғ": "g", "қ": "q", "ң": "n", "ө": "o", "ұ": "u", "ү": "u",
    "һ": "h", "і": "i",
}  # fmt: skip
"""Cyrillic to Latin as Kazakhstan's passports write names (ICAO Doc 9303, with Kazakh's own
letters), for pages in English."""


def latin(text: str) -> str:
    """``text`` in the Latin script (``Ұлытау`` → ``Ulytau``, ``Жезказган`` → ``Zhezkazgan``)."""
    out = []
    for ch in text:
        low = ch.lower()
        if low not in _LATIN:
            out.append(ch)
            continue
        shown = _LATIN[low]
        out.append(shown.capitalize() if ch != low else shown)
    return "".join(out)


def place_chain(kato: str, lang: str) -> str:
    """A unit with the units above it, nearest first (a rural district, its district, its
    region) in ``lang`` (``en``: the Russian names in the Latin script); the code when the
    classifier does not know it."""
    territory = load_territory()
    names = []
    unit = territory.find(kato)
    if unit is None:
        return kato
    while unit is not None:
        name = unit.name_kk if lang == "kk" else unit.name_ru
        names.append(latin(name) if lang == "en" else name)
        unit = territory.find(unit.parent) if unit.parent else None
    return ", ".join(names)
