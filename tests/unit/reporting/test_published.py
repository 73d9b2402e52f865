"""A protocol asked for four times (HTML and PDF, Kazakh and Russian) is made once per language
from what it is rendered from; a changed read model or a renamed candidate is never served
from memory."""

from __future__ import annotations

import json
from typing import Any

from services.reporting.documents.labels import LABELS
from services.reporting.documents.published import Publisher, Sources
from services.reporting.documents.ranking import table

COMMISSION = {
    "commission_id": "k1",
    "level": "regional",
    "region": "190000000",
    "chair_id": "p1",
    "members": [{"person_id": "p1", "name": "Ахметов Ержан Жумабекович"}],
    "sittings": [{"sitting_id": "s1", "opened_at": "2020-06-25T10:00:00+06:00"}],
}


def sources(name: str = "Akimov", total: int = 7) -> Sources:
    sheet = {
        "sheet_id": "h1",
        "candidate_id": "c3",
        "member_id": "p1",
        "kind": "project",
        "scores": {"rationality": total},
        "total": total,
        "recorded_at": "2020-06-25T05:00:00+00:00",
    }
    protocol = {
        "sitting_id": "s1",
        "commission_id": "k1",
        "stage": "stage1_selection",
        "purpose": "p",
        "opened_at": "2020-06-25T10:00:00+06:00",
        "sheets": {"h1": sheet},
        "rankings": [],
        "decisions": [],
        "signatures": None,
    }
    candidate = json.dumps({"name": name})
    return Sources("s1", json.dumps(protocol), json.dumps(COMMISSION), (("c3", candidate),))


def test_the_same_sources_are_published_once_per_language() -> None:
    publisher = Publisher()
    ru = publisher.published(sources(), "ru", None)
    assert publisher.published(sources(), "ru", None) is ru
    kk = publisher.published(sources(), "kk", None)
    assert kk is not ru and "ХАТТАМА" in kk.html and "ПРОТОКОЛ" in ru.html


def test_a_renamed_candidate_or_a_new_score_is_published_anew() -> None:
    publisher = Publisher()
    assert "Akimov" in publisher.published(sources(), "ru", None).html
    assert "Akimova" in publisher.published(sources(name="Akimova"), "ru", None).html
    before = publisher.published(sources(total=7), "ru", None).html
    assert publisher.published(sources(total=9), "ru", None).html != before


def component(name: str, weight: str, value: str | None = "1.0000") -> dict[str, Any]:
    return {"name": name, "value": value, "weight": weight}


def test_a_components_weight_is_in_its_cell_when_the_entries_weigh_it_differently() -> None:
    entries = [
        {"components": [component("essay_mean", "1"), component("ethics", "0")]},
        {"components": [component("essay_mean", "0.5"), component("ethics", "0")]},
    ]
    headers, rows = table(entries, LABELS["ru"], "ru")
    assert headers == ["эссе, средний балл", "анкетирование по этике госслужащего (справочно)"]
    assert [r["cells"] for r in rows] == [["1,0000×1", "1,0000"], ["1,0000×0.5", "1,0000"]]
