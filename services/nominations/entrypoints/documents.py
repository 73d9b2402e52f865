"""Documents of an application file (§9): raw uploads into the blob store, then the event.

The bytes are checked, not the client's word: the size limit is enforced while streaming
(413 before the disk fills), the media type is sniffed, a video's length is measured, a PDF
is opened and its pages counted, an image is opened; a file refused as unreadable is not kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.types import Message

from shared.auth import Principal
from shared.edge import body_limit, principal
from shared.errors import DomainError, NotFound
from shared.http import command
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork

from .. import handlers
from ..adapters import repository
from ..adapters.blobs import FACTS, BlobRef, BlobStore, too_large
from ..adapters.media import JPEG, PDF, PNG, VIDEO_TYPES, check_image, measure_video
from ..adapters.pdf import count_pages
from ..domain.application import AttachDocument
from ..domain.documents import VIDEO_KINDS, DocumentKind
from .common import NOMINATING, READERS, authorised, cause, reading, scope
from .schemas import DocumentView
from .views import document_view

BINARY = {"schema": {"type": "string", "format": "binary"}}
BLOBS = "blobs"
"""The key of the blob store in ``ServiceContext.extras`` (set by ``bootstrap``)."""


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1/applications", tags=["documents"])
    blobs: BlobStore = ctx.extras[BLOBS]

    @api.put(
        "/{application_id}/documents/{kind}",
        response_model=DocumentView,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    @body_limit(None)  # streamed into the blob store under the kind's own limit
    async def upload_document(
        application_id: UUID,
        kind: DocumentKind,
        request: Request,
        filename: str | None = Query(None, min_length=1, max_length=255, description="file name"),
        who: Principal = Depends(principal),
    ) -> JSONResponse:
        """Upload one document of the file as the raw request body (§9). Nominator or secretary
        of the region, while the window is open. The same bytes again change nothing."""
        app_id = str(application_id)
        async with reading(ctx.store) as uow:
            actor = await authorised(uow, who, app_id, *NOMINATING)
            limit = await repository.upload_limit(uow, app_id, kind, ctx.now())
        cmd = await store_upload(blobs, request, limit, app_id, kind, filename or str(kind))

        async def run(uow: UnitOfWork) -> DocumentView:
            outcome = await handlers.attach_document(uow, cmd, cause(ctx, request, actor))
            return document_view(outcome, kind)

        described = described_by(request, cmd.model_dump_json().encode())
        return await command(described, ctx.store, scope("attach_document"), run, 200)

    @api.get(
        "/{application_id}/documents/{kind}",
        response_class=FileResponse,
        responses={200: {"description": "the bytes, as sniffed", "content": {"*/*": BINARY}}},
    )
    async def download_document(
        application_id: UUID, kind: DocumentKind, who: Principal = Depends(principal)
    ) -> FileResponse:
        """The bytes of one document of the file, with its sniffed media type."""
        async with reading(ctx.store) as uow:
            await authorised(uow, who, str(application_id), *READERS)
            state, _ = await repository.load_application(uow, str(application_id))
        doc = state.documents.get(kind)
        if doc is None:
            raise NotFound("document_not_attached", f"no {kind} is attached to {application_id}")
        return FileResponse(
            blobs.require(doc.sha256), media_type=doc.media_type, filename=doc.filename
        )

    return api


async def store_upload(
    blobs: BlobStore,
    request: Request,
    limit: int,
    application_id: str,
    kind: DocumentKind,
    filename: str,
) -> AttachDocument:
    """Stream the body into the blob store (at most ``limit`` bytes); what the bytes are."""
    refuse_declared_oversize(request, limit)
    return await store_stream(blobs, request.stream(), limit, application_id, kind, filename)


async def store_stream(
    blobs: BlobStore,
    stream: AsyncIterator[bytes],
    limit: int,
    application_id: str,
    kind: DocumentKind,
    filename: str,
) -> AttachDocument:
    """:func:`store_upload` of any stream of bytes (a resumable upload's assembled file)."""
    blob = await blobs.put(stream, limit)
    known = FACTS.get(blob.sha256)
    video = kind in VIDEO_KINDS
    if known is not None and "pages" in known and (not video or "duration" in known):
        # these bytes passed every check before: what they are is known of them
        duration, page_count = known["duration"] if video else None, known["pages"]
    else:
        try:
            if blob.media_type in (PNG, JPEG):
                await check_image(blobs.path_of(blob.sha256))
            duration, page_count = await measured(blobs, blob, kind), await pages(blobs, blob)
        except DomainError:  # unreadable: its bytes are not kept either
            blobs.discard(blob)
            raise
        FACTS.keep(blob.sha256, media_type=blob.media_type, pages=page_count)
        if video:
            FACTS.keep(blob.sha256, duration=duration)
    return AttachDocument(
        application_id=application_id,
        kind=kind,
        sha256=blob.sha256,
        size_bytes=blob.size,
        media_type=blob.media_type,
        filename=filename,
        duration_seconds=duration,
        page_count=page_count,
    )


def refuse_declared_oversize(request: Request, limit: int) -> None:
    """413 at once when the declared ``Content-Length`` is already past the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)


async def measured(blobs: BlobStore, blob: BlobRef, kind: DocumentKind) -> float | None:
    """A video's measured length; None for other kinds or files that are no video."""
    if kind not in VIDEO_KINDS or blob.media_type not in VIDEO_TYPES:
        return None
    return await measure_video(blobs.path_of(blob.sha256))


async def pages(blobs: BlobStore, blob: BlobRef) -> int | None:
    """A PDF's page count, which also proves it opens (422 ``document_unreadable`` if not);
    None for files that are no PDF."""
    if blob.media_type != PDF:
        return None
    return await count_pages(blobs.path_of(blob.sha256))


def described_by(request: Request, body: bytes) -> Request:
    """The request, its (already streamed) body replaced by a description of the upload, so
    that an ``Idempotency-Key`` replay is matched on the bytes' digest, not re-read."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)
