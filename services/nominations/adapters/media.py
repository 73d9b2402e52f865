"""What a stored file really is: its media type from its bytes, a video's duration (§9 item 6).

The media type is never taken from the client: it is sniffed from magic numbers (and, for
ZIP-based Office files, from the archive's entries). A video's duration is measured with PyAV
(FFmpeg's libraries), from the header and from the packets, and the longer of the two counts,
so that a file cannot pass the 5-minute rule by lying in its header.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path
from typing import IO

import av
from av.container import InputContainer
from av.video.stream import VideoStream
from PIL import Image, UnidentifiedImageError

from shared.errors import RuleViolation

OCTET_STREAM = "application/octet-stream"
PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MP4 = "video/mp4"
QUICKTIME = "video/quicktime"
WEBM = "video/webm"
MATROSKA = "video/x-matroska"
VIDEO_TYPES = frozenset({MP4, QUICKTIME, WEBM, MATROSKA})

HEAD_BYTES = 4096
_ZIP = "application/zip"
_MP4_BRANDS = frozenset(
    b.encode() for b in ("isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "M4V ")
)
_OOXML = (
    ("presentationml.presentation.main+xml", "ppt/", PPTX),
    ("wordprocessingml.document.main+xml", "word/", DOCX),
    ("spreadsheetml.sheet.main+xml", "xl/", XLSX),
)


def sniff_head(head: bytes) -> str:
    """The media type told by the first bytes; ZIP archives come back as ``application/zip``."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _ZIP
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM if _ebml_doctype(head) == b"webm" else MATROSKA
    return OCTET_STREAM


def _iso_media(head: bytes) -> str:
    """MP4 and QuickTime share the ISO box format; the ``ftyp`` brands tell them apart."""
    size = int.from_bytes(head[0:4], "big")
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, min(size, len(head)), 4)]
    if brands[0] == b"qt  ":
        return QUICKTIME
    return MP4 if any(brand in _MP4_BRANDS for brand in brands) else OCTET_STREAM


def _ebml_doctype(head: bytes) -> bytes:
    """The EBML DocType (element 0x4282): ``webm`` or ``matroska``."""
    at = head.find(b"\x42\x82", 4, 64)
    if at < 0 or at + 3 > len(head) or not head[at + 2] & 0x80:
        return b""
    length = head[at + 2] & 0x7F
    return head[at + 3 : at + 3 + length]


def _ooxml(archive: IO[bytes]) -> str:
    """A ZIP is a pptx/docx/xlsx when its content types or its folders say so."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = zipped.namelist()
            types = b""
            if "[Content_Types].xml" in names:
                with zipped.open("[Content_Types].xml") as entry:
                    types = entry.read(65536)
    except (zipfile.BadZipFile, OSError):
        return OCTET_STREAM
    for content_type, folder, media_type in _OOXML:
        if content_type.encode() in types or any(n.startswith(folder) for n in names):
            return media_type
    return OCTET_STREAM


def sniff_bytes(data: bytes) -> str:
    """The media type of ``data`` (a whole file in memory)."""
    found = sniff_head(data[:HEAD_BYTES])
    return _ooxml(io.BytesIO(data)) if found == _ZIP else found


def sniff_file(path: Path) -> str:
    """The media type of the file at ``path``."""
    with path.open("rb") as handle:
        found = sniff_head(handle.read(HEAD_BYTES))
        if found != _ZIP:
            return found
        handle.seek(0)
        return _ooxml(handle)


def video_duration_seconds(path: Path) -> float:
    """The video's length in seconds; 422 ``video_unreadable`` when FFmpeg cannot read it."""
    try:
        with av.open(str(path), "r") as container:
            if not container.streams.video:
                raise RuleViolation("video_unreadable", "the file holds no video stream")
            header = (container.duration or 0) / av.time_base
            return max(header, _packets_span(container, container.streams.video[0]))
    except av.FFmpegError as error:
        raise RuleViolation("video_unreadable", f"the video cannot be read: {error}") from error


def _packets_span(container: InputContainer, stream: VideoStream) -> float:
    """From the stream's start to the end of its last packet, in seconds."""
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    start, base = stream.start_time, stream.time_base
    return end - (float(start * base) if start is not None and base is not None else 0.0)


async def measure_video(path: Path) -> float:
    """:func:`video_duration_seconds` off the event loop."""
    return await asyncio.to_thread(video_duration_seconds, path)


def verify_image(path: Path) -> None:
    """A PNG or JPEG opens as one (Pillow reads its header and checks its structure); 422
    ``document_unreadable`` when it does not (an executable behind an image's magic bytes)."""
    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise RuleViolation(
            "document_unreadable", f"the file is not a readable image: {error}"
        ) from error


async def check_image(path: Path) -> None:
    """:func:`verify_image` off the event loop."""
    await asyncio.to_thread(verify_image, path)
