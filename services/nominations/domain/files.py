"""Checks on one file of an application (§9, §11.2): size, media type, a video's length."""

from __future__ import annotations

from shared.errors import DomainError, ErrorItem

from .documents import PAGED_KINDS, VIDEO_KINDS, DocumentKind
from .edition_rules import NominationRules


def require_size(rules: NominationRules, kind: DocumentKind, size_bytes: int) -> None:
    """Refuse with 413 ``document_too_large`` above the edition's limit for ``kind``."""
    limit = rules.max_document_bytes.get(kind)
    if limit is not None and size_bytes > limit:
        raise DomainError(
            code="document_too_large",
            detail=f"{kind} is {size_bytes} bytes; at most {limit} are accepted",
            status=413,
            extra={"max_bytes": limit},
        )


def file_problems(
    rules: NominationRules,
    kind: DocumentKind,
    media_type: str,
    duration_seconds: float | None,
    page_count: int | None = None,
) -> list[ErrorItem]:
    """Every reason the file cannot stand as ``kind`` (none when it can)."""
    field = f"documents.{kind}"
    accepted = rules.accepted_media_types.get(kind)
    if accepted is None:
        return [ErrorItem("document_kind_not_accepted", f"{kind} is not taken this edition", field)]
    problems: list[ErrorItem] = []
    if media_type not in accepted:
        detail = f"{kind} must be one of {', '.join(accepted)}; got {media_type}"
        problems.append(ErrorItem("document_media_type_not_allowed", detail, field))
    if kind in VIDEO_KINDS:
        problems.extend(video_problems(rules, kind, duration_seconds))
    if kind in PAGED_KINDS:
        problems.extend(page_problems(rules, kind, page_count))
    return problems


def page_problems(
    rules: NominationRules, kind: DocumentKind, page_count: int | None
) -> list[ErrorItem]:
    """§14.4: the essay is a PDF of at most ``essay_max_pages`` pages, counted from its bytes."""
    field = f"documents.{kind}"
    if page_count is None:
        return [ErrorItem("document_pages_unknown", f"the pages of {kind} are unknown", field)]
    if page_count > rules.essay_max_pages:
        detail = (
            f"the essay has {page_count} pages; at most {rules.essay_max_pages} are allowed (§14.4)"
        )
        return [ErrorItem("essay_too_long", detail, field)]
    return []


def video_problems(
    rules: NominationRules, kind: DocumentKind, duration_seconds: float | None
) -> list[ErrorItem]:
    """§9 item 6: a video of at most ``video_max_seconds`` whose length was measured."""
    field = f"documents.{kind}"
    if duration_seconds is None:
        return [ErrorItem("video_duration_unknown", f"the length of {kind} is unknown", field)]
    if duration_seconds > rules.video_max_seconds:
        detail = (
            f"the video lasts {duration_seconds:g} s; at most {rules.video_max_seconds} s "
            "are allowed (§9)"
        )
        return [ErrorItem("video_too_long", detail, field)]
    return []
