"""A PDF must open as one (pypdf) and its pages are counted from the bytes (§9, §14.4)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from demo.nominations import files as demo_files
from services.nominations.adapters.pdf import count_pages, pdf_page_count
from services.nominations.events import DocumentAttached, registry
from shared.errors import RuleViolation

EXECUTABLE = b"%PDF-1.7\n" + b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(range(256)) * 64


def written(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("pages", [1, 3, 4])
def test_the_demo_pdfs_open_and_their_pages_are_counted(tmp_path: Path, pages: int) -> None:
    assert pdf_page_count(written(tmp_path, demo_files.pdf(pages))) == pages


@pytest.mark.parametrize(
    "data",
    [
        EXECUTABLE,
        b"%PDF-1.4\n" + b"garbage " * 500 + b"\n%%EOF\n",
        b"%PDF-1.4\n",
        demo_files.pdf()[:-60],  # cut before its cross-reference table ends
    ],
    ids=["executable", "garbage", "header-only", "truncated"],
)
def test_a_pdf_header_over_anything_else_is_unreadable(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(RuleViolation) as refused:
        pdf_page_count(written(tmp_path, data))
    assert (refused.value.code, refused.value.status) == ("document_unreadable", 422)


async def test_pages_are_counted_off_the_event_loop(tmp_path: Path) -> None:
    assert await count_pages(written(tmp_path, demo_files.pdf(2))) == 2


def test_a_stored_version_1_document_upcasts_with_its_pages_unknown() -> None:
    payload = {
        "application_id": "0b6b1e8e-58d5-4a8b-9d55-7f3b0b1a0001",
        "kind": "service_record",
        "sha256": "ab" * 32,
        "size_bytes": 1024,
        "media_type": "application/pdf",
        "filename": "record.pdf",
        "duration_seconds": None,
        "attached_at": "2020-06-10T12:00:00+06:00",
    }
    event = registry.decode("DocumentAttached", 1, payload)
    assert isinstance(event, DocumentAttached) and event.schema_version == 2
    assert event.page_count is None


def encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(demo_files.pdf(2))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_encrypted_without_a_password_to_open_is_counted(tmp_path: Path) -> None:
    assert pdf_page_count(written(tmp_path, encrypted(""))) == 2


def test_a_pdf_the_commission_cannot_open_without_a_password_is_unreadable(
    tmp_path: Path,
) -> None:
    with pytest.raises(RuleViolation) as refused:
        pdf_page_count(written(tmp_path, encrypted("secret")))
    assert refused.value.code == "document_unreadable"
