"""Nominations service wiring: the blob store from settings, the HTTP routes."""

from __future__ import annotations

from services.nominations.adapters.blobs import FileBlobStore
from services.nominations.entrypoints import http
from services.nominations.entrypoints.documents import BLOBS
from services.nominations.events import registry
from shared.runtime import ServiceContext, ServiceSpec
from shared.settings import Settings


def blob_store(settings: Settings) -> FileBlobStore:
    """Documents live under ``UZDIK_BLOB_DIR``, by default ``<data dir>/blobs``."""
    return FileBlobStore(settings.blob_dir or settings.data_dir / "blobs")


def setup(ctx: ServiceContext) -> None:
    ctx.extras[BLOBS] = blob_store(ctx.settings)


SPEC = ServiceSpec(
    name="nominations",
    registry=registry,
    routers=lambda ctx: [http.router(ctx)],
    setup=setup,
)
