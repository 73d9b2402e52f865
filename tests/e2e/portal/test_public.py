"""The public pages in the real Chromium, nobody signed in, on the embedded system: stage I done
by the demo's own HTTP steps (Ulytau), its nominees published and their surveys open. A
resident finds the region on the index, its open surveys by district and rural district with
the akim each rates, opens one, sees the akim and the place with its district and region (in
English, in the Latin script) and answers it; each page in kk, ru and en, at phone and desktop
width, without a serious accessibility violation."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.portal.i18n import gettext
from services.survey.domain.iin import make_iin
from shared.auth import issue_dev_token
from tests.e2e.portal.harness import Running, accessible, keep, rehearsal
from tests.e2e.portal.test_commission_workspace import api, new_page, sign_in

pytestmark = pytest.mark.integration

REGION = "620000000"
CYRILLIC = re.compile("[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]")


@pytest.fixture(scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    data = tmp_path_factory.mktemp("portal-public") / "data"
    async with rehearsal(data, [REGION], per_district=2, until="stage I") as up:
        yield up


async def test_a_resident_reaches_the_survey_from_the_public_index(
    running: Running, browser: Any
) -> None:
    up = running
    published = (await api(up, "reporting").get("/v1/public/results")).json()
    ulytau = next(r for r in published["regions"] if r["region"] == REGION)
    assert ulytau["nominees"] and ulytau["finalist"] is None  # stage I published, no more
    surveys = (await api(up, "reporting").get("/v1/public/surveys?status=open")).json()["items"]
    assert surveys and all(s["akim"] and s["region"] == REGION for s in surveys)

    page = await new_page(browser)
    await page.goto(f"{up.url}/public?lang=ru")
    row = page.locator(f"a[href$='/public/regions/{REGION}']")
    assert await row.count() == 1
    await keep(page, "public-index")
    await accessible(page, "public-index")
    await row.click()
    await page.wait_for_load_state()
    text = await page.inner_text("main")
    assert all(n["name"] in text for n in ulytau["nominees"])
    chosen = surveys[0]
    assert gettext("ru", "akim %(name)s", name=chosen["akim"]) in text
    await keep(page, "public-region")
    await accessible(page, "public-region")

    await page.click(f"a[href*='/surveys/{chosen['survey_id']}']")
    await page.wait_for_load_state()
    form = await page.inner_text("main")
    assert chosen["akim"] in form  # the akim being rated, named
    assert "область Ұлытау" in form  # the rural district with its district and region
    await page.fill("#iin", make_iin(4_200_001))
    for n in range(1, 17):
        await page.check(f"input[name=a{n}][value='8']")
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
    assert await page.locator("form").count() == 0, await page.inner_text("main")

    await page.goto(f"{up.url}/public/regions/{REGION}?lang=en")
    english = await page.inner_text("h1")
    assert english == "oblast Ulytau" and not CYRILLIC.search(english)
    await page.click(f"a[href*='/surveys/{chosen['survey_id']}']")
    await page.wait_for_load_state()
    place_line = await page.locator("p.meta").first.inner_text()
    assert "Ulytau" in place_line and not CYRILLIC.search(place_line), place_line


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_each_public_page_speaks_the_readers_language(
    running: Running, browser: Any, lang: str
) -> None:
    page = await new_page(browser)
    for path, name in (("/public", "public-index"), (f"/public/regions/{REGION}", "public-region")):
        await page.goto(f"{running.url}{path}?lang={lang}")
        assert await page.get_attribute("html", "lang") == lang
        heading = gettext(lang, "Residents' surveys")
        if name == "public-region":
            assert heading in await page.inner_text("main")
        await keep(page, f"{name}-{lang}")
        await accessible(page, f"{name}-{lang}")


async def test_the_organiser_sees_the_regions_and_extends_a_deadline_with_a_reason(
    running: Running, browser: Any
) -> None:
    page = await new_page(browser)
    await sign_in(page, running, "organiser-1", "")
    await page.click("a[href$='/organiser']")
    await page.wait_for_load_state()
    await page.click(f"a[href$='/organiser/editions/{running.outcome.edition_id}']")
    await page.wait_for_load_state()
    row = await page.locator("section[aria-labelledby=regions] tbody tr").first.inner_text()
    assert "область Ұлытау" in row
    opened = await api(running, "reporting").get("/v1/public/surveys?status=open")
    assert str(len(opened.json()["items"])) in row  # the surveys open now, counted
    cells = (
        await page.locator("section[aria-labelledby=regions] tbody tr")
        .first.locator("td")
        .all_inner_texts()
    )
    assert cells[0] == str(running.outcome.applications)  # every application, counted
    counts = await api(running, "reporting").get(
        "/v1/read-models/survey_counts",
        headers={
            "Authorization": f"Bearer {issue_dev_token(running.settings, 'o', ['organiser'])}"
        },
    )
    answered = sum(c["responses"] for c in counts.json()["items"])
    assert cells[4] == str(answered)  # residents' answers so far, counted
    per_district = await page.locator("section[aria-labelledby=districts] tbody tr").all()
    assert len(per_district) >= 2
    applications = 0
    for row in per_district:
        applications += int((await row.locator("td").nth(1).inner_text()).replace("\u00a0", ""))
    assert applications == running.outcome.applications  # the districts add up to the region
    await keep(page, "organiser-edition")
    await accessible(page, "organiser-edition")

    await page.click("details summary")
    await page.select_option("#f-step", "defences")
    await page.fill("#f-date", "2020-09-10")  # earlier than the deadline: refused
    await page.fill("#f-reason", "Паводок в ряде районов")
    await page.click("form[action$='/extensions'] button")
    await page.wait_for_load_state()
    assert await page.locator("#error-summary").count() == 1
    assert await page.input_value("#f-reason") == "Паводок в ряде районов"  # nothing lost
    await keep(page, "organiser-extension-refused")

    await page.fill("#f-date", "2020-09-28")
    await page.click("form[action$='/extensions'] button")
    await page.wait_for_load_state()
    said = await page.inner_text("main")
    assert gettext("ru", "The deadline is extended; everyone sees the new date.") in said
    assert "Паводок в ряде районов" in said and "28 сентября 2020" in said
    edition = await api(running, "nominations").get(f"/v1/editions/{running.outcome.edition_id}")
    assert edition.json()["calendar"]["defences_deadline"].startswith("2020-09-28T18:30")


async def test_an_operator_imports_a_paper_poll_and_sees_each_bad_line(
    running: Running, browser: Any, tmp_path: Path
) -> None:
    page = await new_page(browser)
    await sign_in(page, running, f"operator-{REGION}", "")
    await page.click("a[href$='/operator']")
    await page.wait_for_load_state()
    await keep(page, "operator")
    await accessible(page, "operator")
    await page.locator("a[href*='/operator/surveys/']").first.click()
    await page.wait_for_load_state()

    header = "iin;" + ";".join(f"a{i}" for i in range(1, 17))
    good = [make_iin(4_300_001 + n) for n in range(2)]
    rows = [
        good[0] + ";" + ";".join(["7"] * 16),
        "860101300127;" + ";".join(["7"] * 16),  # a bad check digit
        good[1] + ";" + ";".join(["7"] * 15 + ["12"]),  # an answer out of range
    ]
    bad = tmp_path / "poll.csv"
    bad.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    await page.set_input_files("#f-file", str(bad))
    await page.click("form[action$='/paper-imports'] button")
    await page.wait_for_load_state()
    lines = await page.locator("section[aria-labelledby=report] tbody tr").all_inner_texts()
    assert len(lines) == 3 and gettext("ru", "accepted") in lines[0]
    assert all(gettext("ru", "refused") in line for line in lines[1:])
    assert gettext("ru", "The IIN is not valid.") in lines[1]  # each line in the page's words
    assert gettext("ru", "An answer is outside 0 to 10.") in lines[2] and "a16" in lines[2]
    assert "860101300127" not in await page.content()  # never an IIN back
    await keep(page, "operator-refused")
    await accessible(page, "operator-refused")

    fixed = tmp_path / "poll-fixed.csv"
    fixed.write_text("\n".join([header, rows[0], good[1] + ";" + ";".join(["7"] * 16)]) + "\n")
    await page.set_input_files("#f-file", str(fixed))
    await page.click("form[action$='/paper-imports'] button")
    await page.wait_for_load_state()
    said = await page.inner_text("main")
    assert (
        gettext("ru", "Imported: %(n)s answers from %(file)s.", n=2, file="poll-fixed.csv") in said
    )


async def test_an_operator_sets_the_residents_roll_of_a_settlement(
    running: Running, browser: Any, tmp_path: Path
) -> None:
    page = await new_page(browser)
    await sign_in(page, running, f"operator-{REGION}", "")
    await page.goto(f"{running.url}/operator?lang=ru")
    await page.locator("a[href*='/operator/surveys/']").last.click()
    await page.wait_for_load_state()
    assert gettext("ru", "No roll yet: any resident may answer.") in await page.inner_text("main")

    on_roll = [make_iin(4_400_001 + n) for n in range(2)]
    bad = tmp_path / "roll-bad.txt"
    bad.write_text("\n".join([on_roll[0], "860101300127", on_roll[1]]) + "\n")
    await page.set_input_files("#f-roll", str(bad))
    await page.click("form[action$='/roll'] button")
    await page.wait_for_load_state()
    summary = await page.inner_text("#error-summary")
    assert gettext("ru", "The roll was not set: some lines do not hold a valid IIN.") in summary
    assert gettext("ru", "Line %(n)s", n=2) in summary  # the line named, never the IIN
    assert "860101300127" not in await page.content()
    await keep(page, "operator-roll-refused")
    await accessible(page, "operator-roll-refused")

    good = tmp_path / "roll.csv"
    good.write_text("iin;name\n" + "\n".join(f"{i};" for i in on_roll) + "\n")
    await page.set_input_files("#f-roll", str(good))
    await page.click("form[action$='/roll'] button")
    await page.wait_for_load_state()
    text = await page.inner_text("main")
    assert gettext("ru", "On the roll: %(n)s residents. Only they may answer.", n=2) in text
    await keep(page, "operator-roll")
    await accessible(page, "operator-roll")

    header = "iin;" + ";".join(f"a{i}" for i in range(1, 17))
    stranger = make_iin(4_400_101)
    poll = tmp_path / "poll-roll.csv"
    poll.write_text(
        "\n".join([header, *(f"{i};" + ";".join(["8"] * 16) for i in (on_roll[0], stranger))])
        + "\n"
    )
    await page.set_input_files("#f-file", str(poll))
    await page.click("form[action$='/paper-imports'] button")
    await page.wait_for_load_state()
    lines = await page.locator("section[aria-labelledby=report] tbody tr").all_inner_texts()
    assert gettext("ru", "This resident is not on the survey's roll.") in lines[1]


async def test_an_organiser_forms_a_regional_commission_in_the_browser(
    running: Running, browser: Any
) -> None:
    akmola = "110000000"
    page = await new_page(browser)
    await sign_in(page, running, "organiser-1", "")
    await page.goto(f"{running.url}/organiser/editions/{running.outcome.edition_id}?lang=ru")
    await page.click("a[href$='/commissions/new']")
    await page.wait_for_load_state()
    await page.select_option("#f-region", akmola)
    await page.fill("#f-chair-name", "Жумабекова Алия Сериковна")
    await page.select_option("#f-chair-gender", "female")
    await page.select_option("#f-chair-position", "head_of_regional_department")
    for i, name in enumerate(["Омаров Ерлан", "Садыкова Гульнар"]):
        await page.fill(f"#f-members-{i}-name", name)
    await page.fill("#f-secretary-name", "Ким Елена Викторовна")
    await page.select_option("#f-secretary-gender", "female")
    await page.click("form.application button")
    await page.wait_for_load_state()
    assert await page.locator("#error-summary").count() == 1  # three members are too few
    assert await page.input_value("#f-chair-name") == "Жумабекова Алия Сериковна"  # kept
    await keep(page, "organiser-commission-refused")
    await accessible(page, "organiser-commission-refused")
    for i in range(2, 8):
        await page.fill(f"#f-members-{i}-name", f"Член комиссии {i + 2}")
    await page.click("form.application button")  # the secretary's post is missing
    await page.wait_for_load_state()
    said = await page.inner_text("main")
    assert gettext("ru", "State the secretary's post.") in said
    assert await page.input_value("#f-members-7-name") == "Член комиссии 9"  # kept
    await page.select_option("#f-secretary-position", "regional_department_employee")
    await page.click("form.application button")
    await page.wait_for_load_state()
    assert gettext("ru", "The commission is formed. Its people can sign in now.") in (
        await page.content()
    )
    token = issue_dev_token(running.settings, "organiser-1", ["organiser"])
    boards = await api(running, "scoring").get(
        "/v1/commissions",
        params={"edition_id": running.outcome.edition_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    formed = [b for b in boards.json()["items"] if b.get("region") == akmola]
    assert len(formed) == 1 and len(formed[0]["members"]) == 9
    assert formed[0]["secretary"]["name"] == "Ким Елена Викторовна"


async def test_an_organiser_announces_an_edition_in_the_browser(
    running: Running, browser: Any
) -> None:
    page = await new_page(browser)
    await sign_in(page, running, "organiser-1", "")
    await page.goto(f"{running.url}/organiser?lang=kk")
    await keep(page, "organiser-editions-kk")
    await accessible(page, "organiser-editions-kk")
    await page.goto(f"{running.url}/organiser?lang=ru")
    await page.fill("#f-title", "Конкурс «Лучший сельский аким» — пробный")
    await page.click("form[action$='/organiser/editions'] button")
    await page.wait_for_load_state()
    assert gettext("ru", "The edition is announced; its calendar is below.") in (
        await page.content()
    )
    edition_id = page.url.rsplit("/", 1)[1].split("?")[0]
    assert edition_id != running.outcome.edition_id
    assert "Конкурс «Лучший сельский аким» — пробный" in await page.inner_text("h1")
    edition = await api(running, "nominations").get(f"/v1/editions/{edition_id}")
    calendar = edition.json()["calendar"]
    # announced on the business day it is now (5 July 2020), the window three weeks long
    assert calendar["announced_at"].startswith("2020-07-0")
    assert calendar["application_window_closes_at"] > calendar["application_window_opens_at"]
