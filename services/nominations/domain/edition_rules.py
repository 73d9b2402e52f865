"""The rules an edition fixes, as data carried by ``EditionAnnounced`` (DOMAIN intro).

Every figure comes from the edition's data (``data/edition-2020.json`` for 2020), so that a
later edition changes it without code; a setting added after 2020 has the 2020 reading as its
default, so that editions announced before it keep their meaning.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Self

from pydantic import Field, model_validator

from .documents import DOCUMENTS, DocumentKind
from .rubric import Rubric
from .values import Frozen

Positive = Annotated[int, Field(gt=0)]


class NominationRules(Frozen):
    """The nominations section of an edition's rules (§6, §9, §11, Annex 3)."""

    min_years_in_post: Positive = Field(description="§6: at least this many years as akim")
    video_max_seconds: Positive = Field(description="§9 item 6: the video's maximum length")
    required_document_kinds: tuple[DocumentKind, ...] = Field(
        description="§9: the kinds a complete file holds (item 6: presentation, video)"
    )
    project_work_requires_both: bool = Field(
        False,
        description="§9 item 6: true requires both the presentation and the video; by "
        "default (DOMAIN's reading) either one satisfies the item",
    )
    max_document_bytes: dict[DocumentKind, Positive] = Field(
        description="largest accepted upload per kind of document, bytes"
    )
    accepted_media_types: dict[DocumentKind, tuple[str, ...]] = Field(
        description="media types (sniffed from the bytes) accepted per kind of document"
    )
    indicators_as_of: date = Field(description="§9 item 5: the indicators' reference date")
    essay_max_pages: Positive = Field(3, description="§14.4: the essay's most pages (a PDF)")
    rubric: Rubric = Field(description="Annex 3: the questionnaire score")

    @model_validator(mode="after")
    def _every_required_kind_has_limits(self) -> Self:
        for kind in self.required_document_kinds:
            if kind not in self.max_document_bytes or kind not in self.accepted_media_types:
                raise ValueError(f"{kind} needs a size limit and accepted media types")
            if DOCUMENTS[kind].item is None:
                raise ValueError(f"{kind} is no document of §9's file; it cannot be required")
        return self


class EditionRules(Frozen):
    """One section per service; ``scoring`` and ``survey`` are defined by those services."""

    nominations: NominationRules = Field(description="§6, §9, §11, Annex 3")
    scoring: dict[str, Any] = Field(default_factory=dict, description="the scoring service's")
    survey: dict[str, Any] = Field(default_factory=dict, description="the survey service's")
