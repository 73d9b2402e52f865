"""A content-addressed blob store on the filesystem for the documents of §9.

A blob is stored once at ``<root>/<sha[:2]>/<sha>``. An upload streams into a temporary file
under ``<root>/.tmp`` while it is hashed, stops as soon as it passes ``max_bytes`` (so a client
cannot fill the disk), and is renamed into place atomically: a reader never sees half a blob.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from shared.errors import DomainError, NotFound

from .media import sniff_file


@dataclass(frozen=True)
class BlobRef:
    """A stored blob: its SHA-256 (hex), its size in bytes and its sniffed media type."""

    sha256: str
    size: int
    media_type: str
    fresh: bool = field(default=False, compare=False)  # this upload brought the bytes


class BlobStore(Protocol):
    """The port the handlers use; :class:`FileBlobStore` is the filesystem adapter."""

    root: Path

    async def put(self, stream: AsyncIterator[bytes], max_bytes: int) -> BlobRef: ...

    def path_of(self, sha256: str) -> Path: ...

    def require(self, sha256: str) -> Path: ...

    def discard(self, blob: BlobRef) -> None: ...


INLINE_WRITE = 64 * 1024
"""A chunk up to this size is written on the loop's thread (a page-cache copy); a larger one
on a worker thread."""


class Facts:
    """What stored bytes were found to be (media type, a PDF's pages, a video's length), by
    their SHA-256: a function of the bytes alone, so the same file uploaded again (a template
    every nominator sends, a re-sent document) is not sniffed, opened and measured again.
    Only facts of bytes that passed every check are kept; the first read kept go first."""

    KEPT = 4096

    def __init__(self) -> None:
        self._by_digest: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def get(self, sha256: str) -> dict[str, Any] | None:
        found = self._by_digest.get(sha256)
        if found is not None:
            self._by_digest.move_to_end(sha256)
        return found

    def keep(self, sha256: str, **facts: Any) -> None:
        self._by_digest.setdefault(sha256, {}).update(facts)
        self._by_digest.move_to_end(sha256)
        while len(self._by_digest) > self.KEPT:
            self._by_digest.popitem(last=False)


FACTS = Facts()
"""Of this process (touched on the event loop only)."""


def too_large(max_bytes: int) -> DomainError:
    return DomainError(
        code="document_too_large",
        detail=f"the upload is larger than {max_bytes} bytes",
        status=413,
        extra={"max_bytes": max_bytes},
    )


class FileBlobStore:
    """Blobs as files under ``root``, named by their SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / ".tmp"

    def path_of(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (it may not exist)."""
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def require(self, sha256: str) -> Path:
        """The blob's path, or 404 ``blob_not_found``."""
        path = self.path_of(sha256)
        if not path.is_file():
            raise NotFound("blob_not_found", f"no blob {sha256}")
        return path

    async def put(self, stream: AsyncIterator[bytes], max_bytes: int) -> BlobRef:
        """Store ``stream``; 413 ``document_too_large`` as soon as it passes ``max_bytes``."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=self._tmp, delete=False)
        temp = Path(handle.name)
        try:
            with handle:
                sha256, size = await _copy(stream, handle, max_bytes)
                known = FACTS.get(sha256)
                # one hand-over to a thread for the rest (each costs the loop a wake-up)
                fresh, media_type = await asyncio.to_thread(
                    self._finish,
                    handle,
                    temp,
                    self.path_of(sha256),
                    known.get("media_type") if known else None,
                )
        finally:
            # Synchronous on purpose: one unlink is cheap and must happen even while the task
            # is being cancelled, or an aborted upload would leave its partial file behind.
            _discard(temp)
        return BlobRef(sha256=sha256, size=size, media_type=media_type, fresh=fresh)

    @staticmethod
    def _finish(
        out: IO[bytes], temp: Path, target: Path, media_type: str | None
    ) -> tuple[bool, str]:
        """Whether the bytes are new here, and what they are (sniffed, unless ``media_type``
        is known of them already); new ones made durable and moved into place (a known blob
        is discarded by the caller: no need to sync it)."""
        out.flush()
        fresh = not target.is_file()
        if fresh:
            os.fsync(out.fileno())
        media_type = media_type or sniff_file(temp)
        _settle(temp, target)
        return fresh, media_type

    def discard(self, blob: BlobRef) -> None:
        """Remove the bytes of a refused upload, unless an earlier upload had brought them."""
        if blob.fresh:
            self.path_of(blob.sha256).unlink(missing_ok=True)


async def _copy(stream: AsyncIterator[bytes], out: IO[bytes], max_bytes: int) -> tuple[str, int]:
    """Write ``stream`` to ``out`` while hashing it; never write past ``max_bytes``."""
    digest = hashlib.sha256()
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        digest.update(chunk)
        if len(chunk) <= INLINE_WRITE:
            out.write(chunk)  # into the page cache: cheaper than a thread's hand-over
        else:
            await asyncio.to_thread(out.write, chunk)
    return digest.hexdigest(), size


def _discard(temp: Path) -> None:
    temp.unlink(missing_ok=True)


def _settle(temp: Path, target: Path) -> None:
    """Rename into place atomically, unless the same bytes are already stored."""
    if target.is_file():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, target)
