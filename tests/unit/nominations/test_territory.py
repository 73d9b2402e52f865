"""KATO reference data: counts, parent links, names, lookups."""

from __future__ import annotations

import pytest

from shared.errors import NotFound
from shared.territory import Level, load_territory, parse_csv

AKDALA = "193633000"


@pytest.mark.parametrize(
    ("level", "count"),
    [
        (Level.region, 20),
        (Level.district, 228),
        (Level.rural_district, 2319),
        (Level.settlement, 13027),
    ],
)
def test_kato_counts(level: Level, count: int) -> None:
    assert load_territory().count(level) == count


def test_17_oblasts_hold_rural_districts_and_the_3_cities_none() -> None:
    territory = load_territory()
    rural = territory.of_level(Level.rural_district)
    with_rural = {territory.region_of(unit.kato).kato for unit in rural}
    assert len(with_rural) == 17
    assert {"710000000", "750000000", "790000000"}.isdisjoint(with_rural)


def test_every_rural_district_has_a_district_in_a_region() -> None:
    territory = load_territory()
    for unit in territory.of_level(Level.rural_district):
        assert territory.district_of(unit.kato).level is Level.district
        assert territory.region_of(unit.kato).level is Level.region


def test_region_and_district_of_a_rural_district_with_kk_and_ru_names() -> None:
    territory = load_territory()
    district = territory.district_of(AKDALA)
    region = territory.region_of(AKDALA)
    assert (district.kato, district.name_ru, district.name_kk) == (
        "193600000",
        "Балхашский район",
        "Балқаш ауданы",
    )
    assert (region.kato, region.name_ru, region.name_kk) == (
        "190000000",
        "Алматинская область",
        "Алматы облысы",
    )


def test_settlements_of_a_rural_district() -> None:
    settlements = load_territory().settlements_of(AKDALA)
    assert [s.kato for s in settlements][:2] == ["193633100", "193633106"]
    assert len(settlements) == 5
    assert settlements[0].name_ru == "с.Акдала"


@pytest.mark.parametrize("kato", ["193600000", "193633100", "000000000"])
def test_a_code_that_is_no_rural_district_is_not_found(kato: str) -> None:
    with pytest.raises(NotFound) as refused:
        load_territory().district_of(kato)
    assert refused.value.code == "unknown_rural_district"


def test_parsing_is_a_pure_function_of_the_text() -> None:
    text = (
        "kato_code,level,name_kk,name_ru,parent_kato_code\n"
        "100000000,region,Абай облысы,область Абай,\n"
        "103000000,district,Аягөз ауданы,Аягозский район,100000000\n"
        "103030000,rural_district,Ақтоғай а.о.,Актогайский с.о.,103000000\n"
        "103030100,settlement,Ақтоғай а.,с.Актогай,103030000\n"
    )
    territory = parse_csv(text)
    assert territory.region_of("103030000").name_kk == "Абай облысы"
    assert [s.kato for s in territory.settlements_of("103030000")] == ["103030100"]
