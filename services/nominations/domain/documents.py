"""The documents of an application file (§9, §11.2).

§9 lists six items. Item 6, the project work, is "a presentation (slides), videos of at most
5 minutes": two different files with different checks (a video has a duration), one kind of
document each. **Reading** (DOMAIN "Eligibility"): by default either one satisfies item 6 (a
video, when given, is at most 5 minutes); an edition may require both
(:attr:`.rules.NominationRules.project_work_requires_both`). Which kinds an edition requires is
edition data (:attr:`.rules.NominationRules.required_document_kinds`); the kinds of one §9 item
are alternatives unless the edition requires them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from .values import Names


class DocumentKind(StrEnum):
    application_form = "application_form"
    identity_document = "identity_document"
    service_record = "service_record"
    questionnaire = "questionnaire"
    socio_economic_indicators = "socio_economic_indicators"
    project_presentation = "project_presentation"
    project_video = "project_video"
    essay = "essay"
    photo = "photo"


@dataclass(frozen=True)
class DocumentSpec:
    """A kind of document, the §9 item it belongs to (None: not part of §9), its names."""

    kind: DocumentKind
    item: int | None
    names: Names


def _spec(kind: DocumentKind, item: int | None, ru: str, en: str) -> DocumentSpec:
    return DocumentSpec(kind=kind, item=item, names=Names(ru=ru, en=en))


_K = DocumentKind
DOCUMENTS = MappingProxyType(
    {
        spec.kind: spec
        for spec in (
            _spec(
                _K.application_form,
                1,
                "Заявление об участии в конкурсе (приложение 1)",
                "Application to take part in the competition (Annex 1)",
            ),
            _spec(
                _K.identity_document,
                2,
                "Копия удостоверения личности",
                "Copy of the identity document",
            ),
            _spec(
                _K.service_record,
                3,
                "Послужной список, заверенный кадровой службой",
                "Service record certified by the HR service",
            ),
            _spec(
                _K.questionnaire,
                4,
                "Анкета участника конкурса (приложение 2)",
                "Participant's questionnaire (Annex 2)",
            ),
            _spec(
                _K.socio_economic_indicators,
                5,
                "Показатели социально-экономического развития села на 1 января",
                "Socio-economic indicators of the village as of 1 January",
            ),
            _spec(
                _K.project_presentation,
                6,
                "Проектная работа: презентация (слайды)",
                "Project work: slide presentation",
            ),
            _spec(
                _K.project_video,
                6,
                "Проектная работа: видеоролик (не более 5 минут)",
                "Project work: video (at most 5 minutes)",
            ),
            _spec(
                _K.essay,
                None,
                "Эссе «Почему я достоин звания «Үздік ауыл әкімі»» (не более 3 страниц)",
                'Essay "Why I deserve the title «Үздік ауыл әкімі»" (at most 3 pages, §14.4)',
            ),
            _spec(
                _K.photo,
                None,
                "Фотография участника (место для фото в анкете, приложение 2)",
                "The participant's photograph (the photo of the questionnaire, Annex 2)",
            ),
        )
    }
)
"""Every kind of document of §9, in the order of §9, then the essay of §14.4 and the photo
of the questionnaire (Annex 2), which no edition requires for completeness."""

VIDEO_KINDS = frozenset({DocumentKind.project_video})
"""Kinds whose file must be a video with a measured duration (§9 item 6)."""

PAGED_KINDS = frozenset({DocumentKind.essay})
"""Kinds whose file must be a PDF of at most ``essay_max_pages`` pages (§14.4); the essay
is no part of the §9 completeness check: an edition never lists it as required."""


def missing_kinds(
    required: Iterable[DocumentKind], attached: Iterable[DocumentKind], *, all_of_item: bool
) -> list[tuple[DocumentKind, ...]]:
    """The required items not satisfied, in the order of ``required`` (§9, §11.2): each as
    the kinds any one of which would satisfy it (``all_of_item``: each kind on its own)."""
    present = set(attached)
    items: dict[int | DocumentKind | None, list[DocumentKind]] = {}
    for kind in required:
        items.setdefault(kind if all_of_item else DOCUMENTS[kind].item, []).append(kind)
    return [tuple(kinds) for kinds in items.values() if not any(kind in present for kind in kinds)]
