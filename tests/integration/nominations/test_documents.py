"""Uploads of the documents of §9 through HTTP: checked on the bytes, stored once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from demo.nominations import files as demo_files
from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.values import ALMATY
from shared.runtime import ServiceRuntime

from .support import Nominations


def stored(blob_dir: Path) -> list[Path]:
    return [p for p in blob_dir.rglob("*") if p.is_file()]


async def events_of(runtime: ServiceRuntime, application_id: str) -> list[str]:
    return [e.event_type for e in await runtime.store.load(f"application-{application_id}")]


async def test_a_video_of_five_minutes_and_one_second_is_refused_as_too_long(
    api: Nominations,
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    video = demo_files.video(301, 16)
    refused = await api.upload(application, DocumentKind.project_video, video)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "video_too_long"
    assert "301 s" in refused.json()["detail"]
    accepted = await api.upload(application, DocumentKind.project_video, demo_files.video(300, 16))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["duration_seconds"] == pytest.approx(300)


async def test_uploading_the_same_document_twice_stores_it_once(
    api: Nominations, runtime: ServiceRuntime, blob_dir: Path
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    data = demo_files.pdf() + b"% once\n"
    first = await api.upload(application, DocumentKind.service_record, data)
    again = await api.upload(application, DocumentKind.service_record, data)
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["changed"], again.json()["changed"]) == (True, False)
    assert again.json()["event_ids"] == []
    other_kind = await api.upload(application, DocumentKind.identity_document, data)
    sha = first.json()["sha256"]
    assert other_kind.json()["sha256"] == sha
    assert [p for p in stored(blob_dir) if p.name == sha] == [blob_dir / sha[:2] / sha]
    assert (await events_of(runtime, application)).count("DocumentAttached") == 2


async def test_the_media_type_is_sniffed_from_the_bytes_not_taken_from_the_client(
    api: Nominations,
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    lying = await api.upload(
        application,
        DocumentKind.project_presentation,
        b"MZ\x90\x00",
        **{"content-type": "application/pdf"},
    )
    assert (lying.status_code, lying.json()["code"]) == (422, "document_media_type_not_allowed")
    slides = await api.upload(application, DocumentKind.project_presentation, demo_files.pptx())
    assert slides.json()["media_type"].endswith("presentationml.presentation")


async def test_an_upload_past_the_limit_is_refused_with_413_and_nothing_stored(
    api: Nominations, blob_dir: Path
) -> None:
    edition = await api.announce(max_bytes={DocumentKind.identity_document: 1000})
    application = await api.submitted(edition)
    before = stored(blob_dir)
    declared = await api.upload(application, DocumentKind.identity_document, b"%PDF-" + b"x" * 2000)
    assert (declared.status_code, declared.json()["code"]) == (413, "document_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: caught while streaming
        for _ in range(50):
            yield b"%PDF-" + b"x" * 95

    url = f"/v1/applications/{application}/documents/identity_document"
    streamed = await api.client.put(url, content=chunks(), headers=api.nominator)
    assert (streamed.status_code, streamed.json()["max_bytes"]) == (413, 1000)
    assert stored(blob_dir) == before


async def test_a_document_after_the_window_is_refused_before_its_bytes_are_stored(
    api: Nominations, blob_dir: Path
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    api.clock.set(datetime(2020, 6, 23, 0, 0, tzinfo=ALMATY))  # the end of Monday 22 June
    before = stored(blob_dir)
    late = await api.upload(application, DocumentKind.service_record, demo_files.pdf() + b"late")
    assert (late.status_code, late.json()["code"]) == (422, "document_late")
    assert stored(blob_dir) == before


async def test_an_attached_document_is_downloaded_with_its_sniffed_type(api: Nominations) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    await api.upload(application, DocumentKind.service_record, demo_files.pdf())
    url = f"/v1/applications/{application}/documents/service_record"
    got = await api.client.get(url, headers=api.secretary)
    assert got.status_code == 200
    assert (got.headers["content-type"], got.content) == ("application/pdf", demo_files.pdf())
    missing = await api.client.get(
        url.replace("service_record", "project_video"), headers=api.secretary
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "document_not_attached")


async def test_a_pdf_header_over_an_executable_is_refused_as_unreadable(
    api: Nominations, runtime: ServiceRuntime
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    disguised = b"%PDF-1.7\n" + b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 64
    refused = await api.upload(application, DocumentKind.service_record, disguised)
    assert (refused.status_code, refused.json()["code"]) == (422, "document_unreadable")
    assert "DocumentAttached" not in await events_of(runtime, application)


async def test_a_pdfs_page_count_is_recorded_on_the_event(
    api: Nominations, runtime: ServiceRuntime
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    accepted = await api.upload(application, DocumentKind.service_record, demo_files.pdf(2))
    assert (accepted.status_code, accepted.json()["page_count"]) == (200, 2), accepted.text
    [envelope] = [
        e
        for e in await runtime.store.load(f"application-{application}")
        if e.event_type == "DocumentAttached"
    ]
    assert (envelope.schema_version, envelope.payload["page_count"]) == (2, 2)
    slides = await api.upload(application, DocumentKind.project_presentation, demo_files.pptx())
    assert slides.json()["page_count"] is None


async def test_the_essay_is_a_pdf_of_at_most_three_pages(api: Nominations) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    long = await api.upload(application, DocumentKind.essay, demo_files.pdf(4))
    assert (long.status_code, long.json()["code"]) == (422, "essay_too_long")
    slides = await api.upload(application, DocumentKind.essay, demo_files.pptx())
    assert (slides.status_code, slides.json()["code"]) == (422, "document_media_type_not_allowed")
    fits = await api.upload(application, DocumentKind.essay, demo_files.pdf(3))
    assert (fits.status_code, fits.json()["page_count"]) == (200, 3), fits.text
    shown = await api.get(application)
    assert [(f["kind"], f["page_count"]) for f in shown["files"]] == [("essay", 3)]


@pytest.mark.parametrize(
    "header", [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"], ids=["png", "jpeg"]
)
async def test_an_image_header_over_an_executable_is_refused_as_unreadable(
    api: Nominations, runtime: ServiceRuntime, blob_dir: Path, header: bytes
) -> None:
    """Issue 13, item 13: a document must parse as what it claims, an image scan too."""
    edition = await api.announce()
    application = await api.submitted(edition)
    before = stored(blob_dir)
    disguised = header + b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 64
    refused = await api.upload(application, DocumentKind.identity_document, disguised)
    assert (refused.status_code, refused.json()["code"]) == (422, "document_unreadable")
    assert "DocumentAttached" not in await events_of(runtime, application)
    assert stored(blob_dir) == before


async def test_a_refused_pdf_leaves_no_bytes_behind(api: Nominations, blob_dir: Path) -> None:
    """The bytes of a document refused as unreadable are not kept on the server either."""
    edition = await api.announce()
    application = await api.submitted(edition)
    before = stored(blob_dir)
    disguised = b"%PDF-1.7\n" + b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 64
    refused = await api.upload(application, DocumentKind.service_record, disguised)
    assert (refused.status_code, refused.json()["code"]) == (422, "document_unreadable")
    assert stored(blob_dir) == before


@pytest.mark.parametrize(("fmt", "media_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
async def test_a_real_image_scan_is_accepted(api: Nominations, fmt: str, media_type: str) -> None:
    import io

    from PIL import Image

    scan = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 180, 150)).save(scan, format=fmt)
    edition = await api.announce()
    application = await api.submitted(edition)
    ok = await api.upload(application, DocumentKind.identity_document, scan.getvalue())
    assert (ok.status_code, ok.json()["media_type"]) == (200, media_type), ok.text
