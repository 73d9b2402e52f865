"""The content-addressed blob store (documents of §9)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.nominations.adapters.blobs import FileBlobStore
from services.nominations.adapters.media import PDF
from shared.errors import DomainError, NotFound

PAYLOAD = b"%PDF-1.7\n" + b"x" * 100_000


class Chunks:
    """An upload in chunks that counts how many chunks were read."""

    def __init__(self, data: bytes, size: int = 8192, fail_after: int | None = None) -> None:
        self.parts = [data[i : i + size] for i in range(0, len(data), size)]
        self.read = 0
        self.fail_after = fail_after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            if self.fail_after is not None and self.read == self.fail_after:
                raise ConnectionResetError("client went away")
            self.read += 1
            yield part


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_same_bytes_stored_twice_are_stored_once(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    first = await store.put(aiter(Chunks(PAYLOAD)), max_bytes=1_000_000)
    second = await store.put(aiter(Chunks(PAYLOAD, size=1000)), max_bytes=1_000_000)
    assert first == second
    assert files_under(tmp_path) == [store.path_of(first.sha256)]


async def test_blob_is_named_by_its_sha256_and_typed_by_its_bytes(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    ref = await store.put(aiter(Chunks(PAYLOAD)), max_bytes=len(PAYLOAD))
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    assert (ref.sha256, ref.size, ref.media_type) == (sha, len(PAYLOAD), PDF)
    assert store.require(sha) == tmp_path / sha[:2] / sha
    assert store.require(sha).read_bytes() == PAYLOAD


async def test_oversized_upload_is_refused_without_leaving_a_file(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    upload = Chunks(PAYLOAD, size=10_000)
    with pytest.raises(DomainError) as refused:
        await store.put(aiter(upload), max_bytes=25_000)
    assert (refused.value.code, refused.value.status) == ("document_too_large", 413)
    assert upload.read == 3  # stopped at the first chunk past the limit
    assert files_under(tmp_path) == []


async def test_broken_upload_leaves_no_file(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    with pytest.raises(ConnectionResetError):
        await store.put(aiter(Chunks(PAYLOAD, fail_after=2)), max_bytes=1_000_000)
    assert files_under(tmp_path) == []


async def test_unknown_blob_is_not_found(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    assert not store.exists("00" * 32)
    with pytest.raises(NotFound):
        store.require("00" * 32)
