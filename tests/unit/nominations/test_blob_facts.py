"""The same bytes uploaded again are not opened and measured again: what they are (media type,
pages, a video's length) is a function of the bytes, remembered by their SHA-256 once they
passed every check; a kind that is no video still gets no length, and unreadable bytes are
never remembered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from demo.nominations import files
from services.nominations.adapters import blobs as blob_module
from services.nominations.adapters.blobs import Facts, FileBlobStore
from services.nominations.domain.documents import DocumentKind
from services.nominations.entrypoints import documents
from shared.errors import DomainError

APP = [str(uuid4()) for _ in range(4)]


async def _stream(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    monkeypatch.setattr(blob_module, "FACTS", Facts())
    monkeypatch.setattr(documents, "FACTS", blob_module.FACTS)
    calls = {"pages": 0, "video": 0, "sniff": 0}

    def wrap(name: str, fn: Any) -> Any:
        if name == "sniff":

            def sync(*a: Any) -> Any:
                calls[name] += 1
                return fn(*a)

            return sync

        async def run(*a: Any) -> Any:
            calls[name] += 1
            return await fn(*a)

        return run

    monkeypatch.setattr(documents, "count_pages", wrap("pages", documents.count_pages))
    monkeypatch.setattr(documents, "measure_video", wrap("video", documents.measure_video))
    monkeypatch.setattr(blob_module, "sniff_file", wrap("sniff", blob_module.sniff_file))
    return calls


async def test_the_same_pdf_again_is_not_opened_again(
    tmp_path: Path, counted: dict[str, int]
) -> None:
    store = FileBlobStore(tmp_path)
    data = files.pdf(3)
    first = await documents.store_stream(
        store, _stream(data), 10**6, APP[1], DocumentKind.essay, "essay.pdf"
    )
    second = await documents.store_stream(
        store, _stream(data), 10**6, APP[2], DocumentKind.essay, "essay.pdf"
    )
    assert first.page_count == second.page_count == 3
    assert first.media_type == second.media_type == "application/pdf"
    assert counted == {"pages": 1, "video": 0, "sniff": 1}
    other = await documents.store_stream(
        store, _stream(files.pdf(2)), 10**6, APP[3], DocumentKind.essay, "essay.pdf"
    )
    assert other.page_count == 2 and counted["pages"] == 2  # other bytes: opened


async def test_a_video_is_measured_once_and_has_no_length_under_another_kind(
    tmp_path: Path, counted: dict[str, int]
) -> None:
    store = FileBlobStore(tmp_path)
    data = files.video()
    first = await documents.store_stream(
        store, _stream(data), 10**8, APP[1], DocumentKind.project_video, "v.mp4"
    )
    again = await documents.store_stream(
        store, _stream(data), 10**8, APP[2], DocumentKind.project_video, "v.mp4"
    )
    assert first.duration_seconds and again.duration_seconds == first.duration_seconds
    assert counted["video"] == 1
    elsewhere = await documents.store_stream(
        store, _stream(data), 10**8, APP[3], DocumentKind.photo, "v.mp4"
    )
    assert elsewhere.duration_seconds is None


async def test_unreadable_bytes_are_refused_every_time(
    tmp_path: Path, counted: dict[str, int]
) -> None:
    store = FileBlobStore(tmp_path)
    broken = files.pdf(1)[:-40]  # a PDF whose end is cut off
    for n in range(2):
        with pytest.raises(DomainError):
            await documents.store_stream(
                store, _stream(broken), 10**6, APP[n], DocumentKind.essay, "essay.pdf"
            )
    assert counted["pages"] == 2
