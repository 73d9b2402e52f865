"""What a stored PDF really is: a document pypdf can open, and its number of pages (§9, §14.4).

A file whose first bytes say ``%PDF-`` is sniffed as a PDF; this opens it for real, so that an
executable or garbage behind a PDF header is refused (422 ``document_unreadable``) rather than
stored as a document, and the page count (the essay's "at most 3 pages") comes from the bytes.
The upload's size limit is enforced before this runs; parsing happens off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from pypdf import PdfReader

from shared.errors import RuleViolation

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its lenient-parse notes are not ours


def unreadable(reason: str) -> RuleViolation:
    return RuleViolation("document_unreadable", f"the file is not a readable PDF: {reason}")


def pdf_page_count(path: Path) -> int:
    """The PDF's number of pages; 422 ``document_unreadable`` when it cannot be opened."""
    try:
        pages = len(PdfReader(path).pages)
    except Exception as error:  # hostile bytes fail pypdf in many ways; each is unreadable
        raise unreadable(f"{type(error).__name__}: {error}") from error
    if pages < 1:
        raise unreadable("it holds no page")
    return pages


async def count_pages(path: Path) -> int:
    """:func:`pdf_page_count` off the event loop (a large PDF's page tree takes a while)."""
    return await asyncio.to_thread(pdf_page_count, path)
