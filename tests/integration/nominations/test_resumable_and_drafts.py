"""A nominator's tools: a large file uploaded in pieces that survives a dropped line, drafts
kept until submitted, and the list of one's own applications."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from demo.nominations import files as demo_files
from services.nominations.domain.documents import DocumentKind
from tests.unit.nominations.builders import questionnaire

from .support import REGION, Nominations


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (30, 40), (200, 180, 160)).save(out, format="PNG")
    return out.getvalue()


async def test_a_video_arrives_in_pieces_resumes_after_a_lost_piece_and_is_attached(
    api: Nominations, blob_dir: Path
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    video = demo_files.video(120, 16)
    opened = await api.client.post(
        f"/v1/applications/{application}/uploads",
        json={"kind": "project_video", "filename": "project.mp4", "size": len(video)},
        headers=api.nominator,
    )
    assert opened.status_code == 201, opened.text
    upload = opened.json()["upload_id"]
    assert opened.headers["location"] == f"/v1/uploads/{upload}"
    third = len(video) // 3
    first = await api.client.patch(
        f"/v1/uploads/{upload}",
        content=video[:third],
        headers={**api.nominator, "Upload-Offset": "0"},
    )
    assert first.status_code == 200, first.text
    assert (first.json()["offset"], first.json()["complete"]) == (third, False)

    # the client thinks its second piece was lost and sends from the wrong place
    wrong = await api.client.patch(
        f"/v1/uploads/{upload}",
        content=video[2 * third :],
        headers={**api.nominator, "Upload-Offset": str(2 * third)},
    )
    assert wrong.status_code == 409
    assert (wrong.json()["code"], wrong.json()["offset"]) == ("upload_offset_mismatch", third)
    status = await api.client.get(f"/v1/uploads/{upload}", headers=api.nominator)
    assert status.json()["offset"] == third

    others = api.bearer(f"nominator-2-{REGION}", ["nominator"], REGION)
    stranger = await api.client.get(f"/v1/uploads/{upload}", headers=others)
    assert (stranger.status_code, stranger.json()["code"]) == (404, "upload_not_found")

    rest = await api.client.patch(
        f"/v1/uploads/{upload}",
        content=video[third:],
        headers={**api.nominator, "Upload-Offset": str(third)},
    )
    assert rest.status_code == 200, rest.text
    done = rest.json()
    assert done["complete"] is True
    assert done["document"]["duration_seconds"] == 120
    got = await api.get(application)
    assert "project_video" in got["documents"]
    assert not list((blob_dir / ".uploads").glob("*")), "the partial file is gone"


async def test_an_upload_larger_than_declared_or_than_the_limit_is_refused(
    api: Nominations,
) -> None:
    edition = await api.announce(max_bytes={DocumentKind.identity_document: 1000})
    application = await api.submitted(edition)
    too_big = await api.client.post(
        f"/v1/applications/{application}/uploads",
        json={"kind": "identity_document", "filename": "id.pdf", "size": 1001},
        headers=api.nominator,
    )
    assert (too_big.status_code, too_big.json()["code"]) == (413, "document_too_large")
    opened = await api.client.post(
        f"/v1/applications/{application}/uploads",
        json={"kind": "identity_document", "filename": "id.pdf", "size": 10},
        headers=api.nominator,
    )
    upload = opened.json()["upload_id"]
    past = await api.client.patch(
        f"/v1/uploads/{upload}",
        content=b"x" * 11,
        headers={**api.nominator, "Upload-Offset": "0"},
    )
    assert (past.status_code, past.json()["code"]) == (413, "upload_too_large")
    status = await api.client.get(f"/v1/uploads/{upload}", headers=api.nominator)
    assert status.json()["offset"] == 0


async def test_a_draft_is_kept_for_its_owner_and_gone_once_submitted(api: Nominations) -> None:
    edition = await api.announce()
    draft = str(uuid.uuid4())
    form = {"akim": {"surname": "Ахметова"}, "contacts": {"phone": "+7 701"}}
    saved = await api.client.put(
        f"/v1/application-drafts/{draft}",
        json={"edition_id": edition, "title": "Ахметова", "form": form},
        headers=api.nominator,
    )
    assert saved.status_code == 200, saved.text
    mine = await api.client.get("/v1/application-drafts", headers=api.nominator)
    assert [d["form"] for d in mine.json()["items"]] == [form]
    others = api.bearer(f"nominator-2-{REGION}", ["nominator"], REGION)
    theirs = await api.client.get(f"/v1/application-drafts/{draft}", headers=others)
    assert (theirs.status_code, theirs.json()["code"]) == (404, "draft_not_found")

    body = {
        "edition_id": edition,
        "questionnaire": questionnaire().model_dump(mode="json"),
        "draft_id": draft,
    }
    submitted = await api.client.post("/v1/applications", json=body, headers=api.nominator)
    assert submitted.status_code == 201, submitted.text
    after = await api.client.get("/v1/application-drafts", headers=api.nominator)
    assert after.json()["items"] == []
    own = await api.client.get(
        "/v1/applications", params={"edition_id": edition, "mine": "true"}, headers=api.nominator
    )
    assert [a["application_id"] for a in own.json()["items"]] == [submitted.json()["id"]]
    theirs_list = await api.client.get(
        "/v1/applications", params={"edition_id": edition, "mine": "true"}, headers=others
    )
    assert theirs_list.json()["items"] == []


async def test_the_questionnaire_takes_every_field_of_annex_2(api: Nominations) -> None:
    edition = await api.announce()
    application = await api.submitted(
        edition,
        place_of_work="Аппарат акима Акжарского сельского округа",
        contacts={"phone": "+7 (701) 555-12-34", "email": "akim@example.kz"},
        academic_title="доцент",
        field_experience={"years": 4, "months": 2},
        implemented_developments=[{"title": "Цифровой учёт скота", "year": 2019}],
        planned_research=[{"title": "Сельские кооперативы"}],
        internships=[
            {
                "title": "Государственное управление",
                "year": 2018,
                "institution": "Академия госуправления",
                "specialisation": "местное самоуправление",
            }
        ],
    )
    got = await api.get(application)
    q = got["questionnaire"]
    assert q["contacts"]["email"] == "akim@example.kz"
    assert q["academic_title"] == "доцент"
    assert q["internships"][0]["institution"] == "Академия госуправления"
    form = questionnaire().model_dump(mode="json")
    form["contacts"] = {"email": "not an address"}
    bad = await api.client.post(
        "/v1/applications",
        json={"edition_id": edition, "questionnaire": form},
        headers=api.nominator,
    )
    assert bad.status_code == 400, bad.text
    assert "questionnaire.contacts.email" in {e.get("field") for e in bad.json()["errors"]}
    photo = await api.upload(application, DocumentKind.photo, png())
    assert photo.status_code == 200, photo.text


async def test_an_abandoned_upload_expires_and_its_bytes_are_swept(
    api: Nominations, blob_dir: Path
) -> None:
    """An upload nobody continued for the TTL (wall time) is 404 ``upload_expired`` and its
    bytes are deleted; one still moving is kept; each answer says when it would expire."""
    import os
    import time
    from email.utils import parsedate_to_datetime

    edition = await api.announce()
    application = await api.submitted(edition)
    video = demo_files.video(30, 8)

    async def opened() -> str:
        answer = await api.client.post(
            f"/v1/applications/{application}/uploads",
            json={"kind": "project_video", "filename": "p.mp4", "size": len(video)},
            headers=api.nominator,
        )
        assert answer.status_code == 201, answer.text
        expires = parsedate_to_datetime(answer.headers["upload-expires"]).timestamp()
        assert abs(expires - (time.time() + 168 * 3600)) < 120  # the default: a week
        return str(answer.json()["upload_id"])

    abandoned, moving = await opened(), await opened()
    piece = await api.client.patch(
        f"/v1/uploads/{abandoned}",
        content=video[:1000],
        headers={**api.nominator, "Upload-Offset": "0"},
    )
    assert piece.status_code == 200 and "upload-expires" in piece.headers
    uploads = blob_dir / ".uploads"
    eight_days_ago = time.time() - 8 * 24 * 3600
    os.utime(uploads / f"{abandoned}.part", (eight_days_ago, eight_days_ago))

    gone = await api.client.get(f"/v1/uploads/{abandoned}", headers=api.nominator)
    assert (gone.status_code, gone.json()["code"]) == (404, "upload_expired"), gone.text
    assert "open a new upload" in gone.json()["detail"]
    assert not list(uploads.glob(f"{abandoned}.*")), "its bytes are deleted"
    late = await api.client.patch(
        f"/v1/uploads/{abandoned}",
        content=video[1000:2000],
        headers={**api.nominator, "Upload-Offset": "1000"},
    )
    assert late.status_code == 404  # gone: not resumed, not recreated
    kept = await api.client.get(f"/v1/uploads/{moving}", headers=api.nominator)
    assert kept.status_code == 200 and kept.json()["offset"] == 0


def test_the_sweep_deletes_only_what_was_abandoned(tmp_path: Path) -> None:
    import os
    import time

    from services.nominations.adapters.blobs import FileBlobStore
    from services.nominations.entrypoints.uploads import Partials

    partials = Partials(FileBlobStore(tmp_path), ttl=3600)
    now = time.time()
    for name, age in (("old", 7200), ("fresh", 60)):
        partials.open(name, {"owner": "x"})
        os.utime(partials.part_path(name), (now - age, now - age))
    partials.meta_path("orphan").write_text("{}")  # its .part never came
    assert partials.sweep(now=now, force=True) == 2
    assert sorted(p.name for p in partials.dir.iterdir()) == ["fresh.json", "fresh.part"]
    assert partials.sweep(now=now + 10) == 0  # not again within ten minutes
