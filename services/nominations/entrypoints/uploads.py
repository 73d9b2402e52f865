"""Resumable uploads of an application's documents: a large video survives a dropped line.

The protocol is tus's core, in this API's words: ``POST /v1/applications/{id}/uploads`` with
the kind, the file's name and its size opens an upload (checked at once: the window, the
kind's size limit); ``PATCH /v1/uploads/{upload_id}`` with ``Upload-Offset`` appends the next
bytes (a wrong offset is 409 ``upload_offset_mismatch`` naming the right one); ``GET`` says
how far it got, so that a client that lost its connection resumes where the server is. When
the last byte arrives the file is checked exactly like a one-request upload (sniffed, a video
measured, a PDF opened) and attached in one transaction; a file refused is not kept.

The partial file lives beside the blob store (``<blobs>/.uploads/<id>.part``), flushed to disk
before each answer, so an acknowledged offset survives a restart; only the person who opened
an upload can see or continue it.

An upload nobody continued for ``UZDIK_NOMINATIONS_UPLOAD_TTL_HOURS`` (a week by default; wall
time, whatever the business clock) is abandoned: its bytes are deleted (swept when the service
starts and when an upload is opened, at most every ten minutes), and asking for it again is
404 ``upload_expired``. Each answer about an upload in progress carries ``Upload-Expires``
(tus's header, an HTTP date): when it will be, unless more bytes arrive before.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from shared.auth import Principal
from shared.edge import body_limit, principal
from shared.errors import Conflict, DomainError, NotFound
from shared.http import command
from shared.logging import get_logger
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork

from .. import handlers
from ..adapters import repository
from ..adapters.blobs import BlobStore, too_large
from ..domain.documents import DocumentKind
from .common import NOMINATING, authorised, cause, reading, scope
from .documents import BLOBS, described_by, store_stream
from .ids import uuid7
from .schemas import DocumentView
from .views import document_view

log = get_logger("uzdik.nominations.uploads")

SWEEP_EVERY_S = 600.0

CHUNK = 1 << 20
MAX_CHUNK_BYTES = 64 << 20
"""The most one ``PATCH`` may carry; a client sends a large file in several."""


class OpenUpload(BaseModel):
    kind: DocumentKind = Field(description="the kind of document (§9) the file is")
    filename: str = Field(min_length=1, max_length=255, description="the file's name")
    size: int = Field(ge=1, description="the file's whole size in bytes")


class UploadView(BaseModel):
    upload_id: UUID
    application_id: UUID
    kind: DocumentKind
    filename: str
    size: int = Field(description="the file's whole size in bytes")
    offset: int = Field(description="bytes received and kept so far")
    complete: bool = Field(description="the file arrived whole and is attached")
    document: DocumentView | None = Field(None, description="the attached document, once whole")


_locks: dict[str, asyncio.Lock] = {}


def _lock(upload_id: str) -> asyncio.Lock:
    return _locks.setdefault(upload_id, asyncio.Lock())


class Partials:
    """The uploads in progress, as files beside the blob store; one left alone for ``ttl``
    seconds (since it was opened or last received bytes) is abandoned."""

    def __init__(self, blobs: BlobStore, ttl: float) -> None:
        self.dir = blobs.root / ".uploads"
        self.ttl = ttl
        self._swept = 0.0

    def touched(self, upload_id: str) -> float | None:
        """When the upload last moved (wall time), or None if it is not there."""
        try:
            return self.part_path(upload_id).stat().st_mtime
        except FileNotFoundError:
            return None

    def expires(self, upload_id: str) -> str:
        """``Upload-Expires``: when the upload is abandoned unless more bytes arrive."""
        touched = self.touched(upload_id)
        return formatdate((time.time() if touched is None else touched) + self.ttl, usegmt=True)

    def sweep(self, now: float | None = None, force: bool = False) -> int:
        """Delete the abandoned uploads (at most every :data:`SWEEP_EVERY_S` unless ``force``);
        how many went. A ``.json`` without its ``.part`` (a crash between the two) goes too."""
        now = time.time() if now is None else now
        if not force and now - self._swept < SWEEP_EVERY_S:
            return 0
        self._swept = now
        if not self.dir.is_dir():
            return 0
        gone = 0
        for meta in self.dir.glob("*.json"):
            upload_id = meta.name.removesuffix(".json")
            touched = self.touched(upload_id)
            if touched is None or now - touched > self.ttl:
                self.forget(upload_id)
                gone += 1
        for tmp in self.dir.glob("*.json.tmp"):  # an open that crashed before its rename
            if now - tmp.stat().st_mtime > self.ttl:
                tmp.unlink(missing_ok=True)
        if gone:
            log.info("uploads.swept", abandoned=gone, ttl_hours=round(self.ttl / 3600, 2))
        return gone

    def meta_path(self, upload_id: str) -> Path:
        return self.dir / f"{upload_id}.json"

    def part_path(self, upload_id: str) -> Path:
        return self.dir / f"{upload_id}.part"

    def open(self, upload_id: str, meta: dict[str, object]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.part_path(upload_id).touch()
        tmp = self.dir / f"{upload_id}.json.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, self.meta_path(upload_id))

    def meta(self, upload_id: str, who: Principal) -> dict[str, object]:
        """The upload's description, for its owner only (404 for anyone else)."""
        try:
            meta: dict[str, object] = json.loads(self.meta_path(upload_id).read_text())
        except (FileNotFoundError, ValueError):
            meta = {}
        if meta.get("owner") != who.sub:
            raise NotFound("upload_not_found", f"you have no upload {upload_id} in progress")
        touched = self.touched(upload_id)
        if touched is None or time.time() - touched > self.ttl:
            self.forget(upload_id)
            raise NotFound(
                "upload_expired",
                f"upload {upload_id} was abandoned: nothing arrived for more than "
                f"{self.ttl / 3600:g} hours, and its bytes were deleted; open a new upload",
            )
        return meta

    def offset(self, upload_id: str) -> int:
        try:
            return self.part_path(upload_id).stat().st_size
        except FileNotFoundError:
            return 0

    def forget(self, upload_id: str) -> None:
        for path in (self.part_path(upload_id), self.meta_path(upload_id)):
            path.unlink(missing_ok=True)

    async def read(self, upload_id: str) -> AsyncIterator[bytes]:
        with self.part_path(upload_id).open("rb") as f:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk


def view(upload_id: str, meta: dict[str, object], offset: int) -> UploadView:
    return UploadView(
        upload_id=UUID(upload_id),
        application_id=UUID(str(meta["application_id"])),
        kind=DocumentKind(str(meta["kind"])),
        filename=str(meta["filename"]),
        size=int(str(meta["size"])),
        offset=offset,
        complete=False,
    )


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(tags=["documents"])
    blobs: BlobStore = ctx.extras[BLOBS]
    partials = Partials(blobs, ctx.settings.nominations_upload_ttl_hours * 3600)
    partials.sweep(force=True)  # what was abandoned while the service was down

    @api.post(
        "/v1/applications/{application_id}/uploads", status_code=201, response_model=UploadView
    )
    async def open_upload(
        application_id: UUID, body: OpenUpload, who: Principal = Depends(principal)
    ) -> JSONResponse:
        """Open a resumable upload of one document (nominator or secretary of the region,
        while the window is open). 413 ``document_too_large`` when the size is over the kind's
        limit; then ``PATCH /v1/uploads/{upload_id}`` the bytes."""
        app_id = str(application_id)
        async with reading(ctx.store) as uow:
            await authorised(uow, who, app_id, *NOMINATING)
            limit = await repository.upload_limit(uow, app_id, body.kind, ctx.now())
        if body.size > limit:
            raise too_large(limit)
        upload_id = str(uuid7())
        meta: dict[str, object] = {
            "owner": who.sub,
            "application_id": app_id,
            "kind": str(body.kind),
            "filename": body.filename,
            "size": body.size,
            "limit": limit,
            "opened_at": ctx.now().isoformat(),
        }
        await asyncio.to_thread(partials.sweep)
        await asyncio.to_thread(partials.open, upload_id, meta)
        answer = view(upload_id, meta, 0)
        return JSONResponse(
            answer.model_dump(mode="json"),
            status_code=201,
            headers={
                "Location": f"/v1/uploads/{upload_id}",
                "Upload-Offset": "0",
                "Upload-Expires": partials.expires(upload_id),
            },
        )

    @api.get("/v1/uploads/{upload_id}", response_model=UploadView)
    async def upload_status(upload_id: UUID, who: Principal = Depends(principal)) -> JSONResponse:
        """How far an upload got: resume from ``offset``."""
        who.act_as(*NOMINATING, region=who.region)
        meta = partials.meta(str(upload_id), who)
        offset = partials.offset(str(upload_id))
        answer = view(str(upload_id), meta, offset)
        return JSONResponse(
            answer.model_dump(mode="json"),
            headers={
                "Upload-Offset": str(offset),
                "Upload-Expires": partials.expires(str(upload_id)),
            },
        )

    @api.delete("/v1/uploads/{upload_id}", status_code=204)
    async def cancel_upload(upload_id: UUID, who: Principal = Depends(principal)) -> Response:
        """Give up an upload in progress; its bytes are deleted."""
        who.act_as(*NOMINATING, region=who.region)
        partials.meta(str(upload_id), who)
        partials.forget(str(upload_id))
        _locks.pop(str(upload_id), None)
        return Response(status_code=204)

    @api.patch(
        "/v1/uploads/{upload_id}",
        response_model=UploadView,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    @body_limit(None)  # counted here, against the file's declared size
    async def append_upload(
        upload_id: UUID,
        request: Request,
        upload_offset: int = Header(ge=0, description="where these bytes start in the file"),
        who: Principal = Depends(principal),
    ) -> JSONResponse:
        """Append the next bytes at ``Upload-Offset``. The last ones complete the file: it is
        checked and attached (the answer carries the document); a file refused is deleted."""
        uid = str(upload_id)
        who.act_as(*NOMINATING, region=who.region)
        meta = partials.meta(uid, who)
        size = int(str(meta["size"]))
        async with _lock(uid):
            offset = partials.offset(uid)
            if upload_offset != offset:
                raise Conflict(
                    "upload_offset_mismatch",
                    f"the server has {offset} bytes of this file; send from there",
                    offset=offset,
                )
            offset = await _append(partials.part_path(uid), request.stream(), offset, size)
            if offset < size:
                answer = view(uid, meta, offset)
                return JSONResponse(
                    answer.model_dump(mode="json"),
                    headers={"Upload-Offset": str(offset), "Upload-Expires": partials.expires(uid)},
                )
            try:
                return await _complete(request, uid, meta, who)
            finally:
                partials.forget(uid)
                _locks.pop(uid, None)

    async def _complete(
        request: Request, uid: str, meta: dict[str, object], who: Principal
    ) -> JSONResponse:
        app_id, kind = str(meta["application_id"]), DocumentKind(str(meta["kind"]))
        async with reading(ctx.store) as uow:
            actor = await authorised(uow, who, app_id, *NOMINATING)
            limit = await repository.upload_limit(uow, app_id, kind, ctx.now())
        cmd = await store_stream(
            blobs, partials.read(uid), limit, app_id, kind, str(meta["filename"])
        )

        async def run(uow: UnitOfWork) -> UploadView:
            outcome = await handlers.attach_document(uow, cmd, cause(ctx, request, actor))
            done = view(uid, meta, int(str(meta["size"])))
            return done.model_copy(
                update={"complete": True, "document": document_view(outcome, kind)}
            )

        described = described_by(request, cmd.model_dump_json().encode())
        response = await command(described, ctx.store, scope("attach_document"), run, 200)
        response.headers["Upload-Offset"] = str(meta["size"])
        return response

    return api


async def _append(path: Path, stream: AsyncIterator[bytes], offset: int, size: int) -> int:
    """Write the request's bytes after ``offset``; past ``size`` (or a chunk too large) the
    file is cut back to ``offset`` and 413 answered. Flushed to disk before returning."""
    written = 0
    with path.open("r+b") as f:
        f.seek(offset)
        try:
            async for chunk in stream:
                if offset + written + len(chunk) > size or written + len(chunk) > MAX_CHUNK_BYTES:
                    raise DomainError(
                        "upload_too_large",
                        f"these bytes go past the file's declared size ({size}) or past "
                        f"{MAX_CHUNK_BYTES} bytes in one request",
                        status=413,
                    )
                await asyncio.to_thread(f.write, chunk)
                written += len(chunk)
        except ClientDisconnect:  # the line dropped: what arrived is kept, to resume from
            f.truncate(offset + written)
            f.flush()
            os.fsync(f.fileno())
            raise
        except BaseException:
            f.truncate(offset)
            raise
        f.truncate(offset + written)
        f.flush()
        await asyncio.to_thread(os.fsync, f.fileno())
    return offset + written
