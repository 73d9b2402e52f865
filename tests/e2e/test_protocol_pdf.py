"""Protocols as a secretary reads them: a regional and the republican protocol rendered to PDF
in Kazakh and Russian, their first page and an annex page kept as PNG (pdftoppm) in
``.artifacts/protocols/`` for a person to look at, and their text checked: the Kazakh quorum
phrase, a woman's attendance line in Russian, a criterion's Kazakh name, the protocol's number
and place, and a republican final of 17 finalists whose summary fits in a few pages."""

from __future__ import annotations

import shutil
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from services.reporting.documents.protocol import number_of, render, render_pdf

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "protocols"
MEMBERS = [
    ("p1", "Ахметов Ержан Жумабекович", "male"),
    ("p2", "Жумабаева Айгуль Ермековна", "female"),
    ("p3", "Омаров Даурен Маратович", "male"),
    ("p4", "Калиева Динара Алексеевна", "female"),
    ("p5", "Смагулов Жандос Ерболатович", "male"),
    ("p6", "Есенов Сергей Ерболатович", "male"),
    ("p7", "Есенова Жанар Сериковна", "female"),
    ("p8", "Турсынов Виктор Кайратович", "male"),
    ("p9", "Омаров Берик Жумабекович", "male"),
]
PLACE = "Конаев, здание акимата области"
PLACE_KK = "Қонаев қ., облыс әкімдігінің ғимараты"
ESSAY = [
    "clarity",
    "alternative_view",
    "objectivity",
    "logic_of_evidence",
    "argumentation",
    "viewpoints",
    "definitions",
    "analysis",
    "comparison",
    "grounded_information",
]
STAGE2 = [
    "relevance",
    "governance_importance",
    "novelty",
    "knowledge_of_problem",
    "practical_recommendations",
    "strategic_vision",
    "economic_efficiency",
    "readiness",
    "answers_clarity",
    "originality",
    "oratory",
]


def commission(level: str, region: str | None) -> dict[str, Any]:
    return {
        "commission_id": f"k-{level}",
        "level": level,
        "region": region,
        "chair_id": "p1",
        "secretary": {"person_id": "s1", "name": "Бекмуханова Гульнара Ермековна"},
        "members": [{"person_id": i, "name": n, "gender": g} for i, n, g in MEMBERS],
        "sittings": [
            {"sitting_id": "s-earlier", "opened_at": "2020-06-20T10:00:00+06:00"},
            {"sitting_id": f"s-{level}", "opened_at": "2020-07-28T10:00:00+06:00"},
        ],
    }


def protocol(level: str, kind: str, keys: list[str], candidates: int) -> dict[str, Any]:
    present = [m[0] for m in MEMBERS if m[0] != "p7"]  # Есенова is absent
    sheets = {}
    for c in range(candidates):
        for n, member in enumerate(present):
            sid = f"h-{c}-{member}"
            scores = {k: (c + n + i) % 11 for i, k in enumerate(keys)}
            sheets[sid] = {
                "sheet_id": sid,
                "candidate_id": f"c{c}",
                "member_id": member,
                "kind": kind,
                "scores": scores,
                "total": sum(scores.values()),
                "recorded_at": "2020-07-28T05:00:00+00:00",
            }
    return {
        "sitting_id": f"s-{level}",
        "commission_id": f"k-{level}",
        "stage": "stage2" if kind == "stage2" else "stage1_interview",
        "purpose": "Определение финалиста региона (§16)",
        "purpose_kk": "Өңір финалисін анықтау (§16)",
        "opened_at": "2020-07-28T04:00:00+00:00",
        "place": PLACE,
        "place_kk": PLACE_KK,
        "attendance": {
            "present": present,
            "absent": ["p7"],
            "members": 9,
            "required": 6,
            "quorate": True,
        },
        "sheets": sheets,
        "rankings": [],
        "casting_votes": [],
        "decisions": [],
        "signatures": None,
    }


def candidates(count: int) -> dict[str, dict[str, Any]]:
    return {f"c{c}": {"name": f"Кандидатов Кандидат {c + 1:02d}"} for c in range(count)}


def pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(pdf)).pages]


def keep_png(pdf: bytes, name: str, page: int) -> Path:
    """Page ``page`` (1-based) as a PNG beside the others, for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    stem = ARTIFACTS / f"{name}-page{page}"
    pick = ["-f", str(page), "-l", str(page), "-singlefile"]
    subprocess.run(["pdftoppm", "-png", "-r", "70", *pick, str(source), str(stem)], check=True)
    return stem.with_suffix(".png")


@pytest.fixture(scope="module", autouse=True)
def poppler() -> None:
    assert shutil.which("pdftoppm"), "pdftoppm is missing: scripts/system-deps.sh installs it"


@pytest.mark.parametrize("lang", ["kk", "ru"])
@pytest.mark.parametrize(
    ("level", "region", "kind", "keys", "count"),
    [
        ("regional", "190000000", "essay", ESSAY, 12),
        ("republican", None, "stage2", STAGE2, 17),
    ],
)
def test_a_protocol_reads_as_an_official_document(
    lang: str, level: str, region: str | None, kind: str, keys: list[str], count: int
) -> None:
    board = commission(level, region)
    doc = protocol(level, kind, keys, count)
    made = render(doc, board, candidates(count), lang, number_of(f"s-{level}", board))
    pdf = render_pdf(made.page)
    text = pages(pdf)
    whole = "\n".join(text)
    annex_page = next(i for i, t in enumerate(text, 1) if ("Қосымша" in t or "Приложение" in t))
    for page in (1, annex_page):
        png = keep_png(pdf, f"{level}-{lang}", page)
        assert png.stat().st_size > 10_000, f"{png} looks blank"
    flat = " ".join(whole.split())
    if lang == "kk":
        assert "9 мүшенің 8-і қатысты" in flat
        assert "ХАТТАМА № 2" in flat
        assert "Қарастырылып отырған мәселеге балама көзқарас" in flat or kind != "essay"
        assert "Жобада көрсетілген мәселенің өзектілігі" in flat or kind != "stage2"
        assert "Өңір финалисін анықтау" in flat
    else:
        assert "Есенова Жанар Сериковна отсутствовала" in flat
        assert "присутствуют 8 из 9 членов комиссии" in flat
        assert "ПРОТОКОЛ № 2" in flat
    where = f"Өткізілген орны {PLACE_KK}" if lang == "kk" else f"Место проведения {PLACE}"
    assert where in flat
    if region:
        assert ("Алматы облысы" if lang == "kk" else "Алматинская область") in flat
    # the summary (before the annex) stays short however many sheets the annex holds
    assert annex_page <= 4, f"the summary runs to {annex_page - 1} pages"


def test_a_protocols_pdf_declares_pdf_a_3b_and_associates_its_attachments() -> None:
    """The structural markers of PDF/A-3b, read directly: the XMP identification, an output
    intent, the document's language, and the attachments associated with the document (/AF,
    relationship Source). veraPDF checks the whole of the standard below."""
    board = commission("regional", "190000000")
    made = render(protocol("regional", "essay", ESSAY, 2), board, candidates(2), "kk")
    pdf = render_pdf(made.page, {"protocol.json": b"{}"}, "2020-07-28T06:00:00+00:00")
    root = PdfReader(BytesIO(pdf)).trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in root and root["/Lang"] == "kk"
    associated = {(a.get_object()["/F"], a.get_object()["/AFRelationship"]) for a in root["/AF"]}
    assert associated == {("protocol.json", "/Source")}


VERAPDF = Path(__file__).resolve().parents[2] / "scripts" / "verapdf.sh"


def test_a_signed_protocols_pdf_is_pdf_a_3b_by_verapdf(tmp_path: Path) -> None:
    """veraPDF (the PDF Association's validator, from its Maven Central jars: scripts/verapdf.sh,
    installed by scripts/system-deps.sh) finds a regional protocol in Kazakh and the republican
    one in Russian, each with the three attachments a signed protocol carries, conformant to
    PDF/A-3b in every rule."""
    files = {
        "protocol.json": b'{"format":"uzdik/protocol/v2"}',
        "signatures.json": b'{"digest":"00"}',
        "rendering.json": b'{"lang":"kk"}',
    }
    made = []
    for level, region, kind, keys, lang in (
        ("regional", "190000000", "essay", ESSAY, "kk"),
        ("republican", None, "stage2", STAGE2, "ru"),
    ):
        board = commission(level, region)
        page = render(protocol(level, kind, keys, 3), board, candidates(3), lang, 2).page
        path = tmp_path / f"{level}-{lang}.pdf"
        path.write_bytes(render_pdf(page, files, "2020-07-28T06:00:00+00:00"))
        made.append(path)
    found = subprocess.run(
        [str(VERAPDF), "--flavour", "3b", "--format", "text", *map(str, made)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    verdicts = [line.split()[0] for line in found.stdout.splitlines() if line.strip()]
    assert verdicts == ["PASS", "PASS"], found.stdout + found.stderr
