"""Media types sniffed from the bytes; a video's length measured by PyAV (§9 item 6)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from services.nominations.adapters import media
from services.nominations.domain.documents import DocumentKind
from shared.errors import RuleViolation

from .builders import attach, edition_2020, submitted
from .videos import make_video


def ooxml(content_type: str | None, folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if content_type is not None:
            full = f"application/vnd.openxmlformats-officedocument.{content_type}"
            types = f'<Types><Override ContentType="{full}"/></Types>'
            archive.writestr("[Content_Types].xml", types)
        archive.writestr(f"{folder}document.xml", "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n%...", media.PDF),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", media.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", media.JPEG),
        (ooxml("presentationml.presentation.main+xml", "ppt/"), media.PPTX),
        (ooxml("wordprocessingml.document.main+xml", "word/"), media.DOCX),
        (ooxml(None, "ppt/slides/"), media.PPTX),
        (ooxml(None, "other/"), media.OCTET_STREAM),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", media.MP4),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", media.QUICKTIME),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", media.OCTET_STREAM),
        (b"PK\x03\x04 not really a zip", media.OCTET_STREAM),
        (b"MZ\x90\x00 an executable", media.OCTET_STREAM),
        (b"", media.OCTET_STREAM),
    ],
)
def test_media_type_is_sniffed_from_the_bytes(data: bytes, expected: str) -> None:
    assert media.sniff_bytes(data) == expected


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [("mp4", media.MP4), ("mov", media.QUICKTIME), ("webm", media.WEBM), ("mkv", media.MATROSKA)],
)
def test_real_videos_are_recognised(tmp_path: Path, suffix: str, expected: str) -> None:
    path = make_video(tmp_path / f"clip.{suffix}", 2)
    assert media.sniff_file(path) == expected
    assert media.video_duration_seconds(path) == pytest.approx(2.0)


def test_office_file_on_disk_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    path.write_bytes(ooxml("presentationml.presentation.main+xml", "ppt/"))
    assert media.sniff_file(path) == media.PPTX


def test_video_of_300_seconds_is_accepted(tmp_path: Path) -> None:
    seconds = media.video_duration_seconds(make_video(tmp_path / "ok.mp4", 300))
    assert seconds == pytest.approx(300.0)
    state = edition_2020()
    app = attach(submitted(state), state, DocumentKind.project_video, duration_seconds=seconds)
    assert app.documents[DocumentKind.project_video].duration_seconds == seconds


def test_video_of_301_seconds_is_refused_as_too_long(tmp_path: Path) -> None:
    seconds = media.video_duration_seconds(make_video(tmp_path / "long.webm", 301))
    assert seconds == pytest.approx(301.0)
    state = edition_2020()
    with pytest.raises(RuleViolation) as refused:
        attach(submitted(state), state, DocumentKind.project_video, duration_seconds=seconds)
    assert refused.value.code == "video_too_long"
    assert "301 s" in refused.value.detail


async def test_measuring_runs_off_the_event_loop(tmp_path: Path) -> None:
    assert await media.measure_video(make_video(tmp_path / "v.mov", 3)) == pytest.approx(3.0)


def test_a_file_that_is_no_video_is_refused_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"%PDF-1.7 not a video at all" * 10)
    with pytest.raises(RuleViolation) as refused:
        media.video_duration_seconds(path)
    assert refused.value.code == "video_unreadable"
