"""The demo's applications and files: valid, varied, reproducible from the seed (no I/O)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from pathlib import Path

from demo.nominations import files as demo_files
from demo.nominations.data import Ineligibility
from demo.nominations.steps import plan_region
from services.nominations.adapters import media
from services.nominations.adapters.pdf import pdf_page_count
from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.questionnaire import Questionnaire
from shared.territory import Level, load_territory

AKMOLA = "110000000"


def test_every_planned_questionnaire_is_a_valid_annex_2() -> None:
    for planned in plan_region(load_territory(), AKMOLA, 2, random.Random(7)):
        form = Questionnaire.model_validate(planned.questionnaire)
        assert form.rural_district_kato == planned.rural_district.kato


def test_each_district_gets_distinct_rural_districts_of_its_own() -> None:
    territory = load_territory()
    plans = plan_region(territory, AKMOLA, 3, random.Random(1))
    units = [p.rural_district for p in plans]
    assert len({u.kato for u in units}) == len(units)
    assert all(u.level is Level.rural_district for u in units)
    assert {territory.region_of(u.kato).kato for u in units} == {AKMOLA}


def test_the_same_seed_plans_the_same_applications() -> None:
    first = plan_region(load_territory(), AKMOLA, 2, random.Random(42))
    again = plan_region(load_territory(), AKMOLA, 2, random.Random(42))
    assert first == again


def test_about_one_in_ten_is_ineligible_each_for_a_named_reason() -> None:
    territory, rng = load_territory(), random.Random(2020)
    regions = territory.of_level(Level.region)
    plans = [p for region in regions for p in plan_region(territory, region.kato, 7, rng)]
    assert 1200 < len(plans) < 1400  # the demo's whole republic
    reasons = Counter(p.ineligible for p in plans)
    assert 0.07 < 1 - reasons[None] / len(plans) < 0.14
    assert set(reasons) == {None, *Ineligibility}
    for p in plans:
        form = Questionnaire.model_validate(p.questionnaire)
        short = form.appointed_akim_on > date(2019, 5, 30)  # a year before the window opens
        assert short == (p.ineligible is Ineligibility.term_too_short)
        unlifted = any(not s.lifted for s in form.sanctions)
        assert unlifted == (p.ineligible is Ineligibility.sanction_not_lifted)
        complete = set(p.documents) == set(DocumentKind) - {DocumentKind.photo}
        assert complete == (p.ineligible is not Ineligibility.documents_missing)


def test_the_demo_files_are_what_their_kinds_accept(tmp_path: Path) -> None:
    assert media.sniff_bytes(demo_files.pdf()) == media.PDF
    assert media.sniff_bytes(demo_files.pptx()) == media.PPTX
    video = tmp_path / "project.mp4"
    video.write_bytes(demo_files.video())
    assert media.sniff_file(video) == media.MP4
    assert media.video_duration_seconds(video) == 10.0


def test_the_demo_pdf_has_an_exact_cross_reference_table() -> None:
    pdf = demo_files.pdf()
    start = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[start:].startswith(b"xref\n")
    offsets = [int(line[:10]) for line in pdf[start:].split(b"\n")[3:8]]
    assert [pdf[o:].split(b" ", 1)[0] for o in offsets] == [b"1", b"2", b"3", b"4", b"5"]


def test_the_demo_pdf_opens_with_pypdf_and_has_one_page(tmp_path: Path) -> None:
    path = tmp_path / "document.pdf"
    path.write_bytes(demo_files.pdf())
    assert pdf_page_count(path) == 1
