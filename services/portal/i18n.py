"""The portal's languages: Kazakh, Russian and English, chosen by the person and remembered.

An explicit choice (``?lang=``, then the ``lang`` cookie it sets) wins over
``Accept-Language`` (API.md "Pages"); Kazakh when nothing says otherwise. Texts come from the
Babel catalogs in ``locales/`` (domain ``messages``, see its README); dates and times are
shown in Asia/Almaty, numbers by the page's locale.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.support import Translations

from shared.territory import latin, load_territory

Lang = Literal["kk", "ru", "en"]
LANGS: tuple[Lang, ...] = ("kk", "ru", "en")
DEFAULT: Lang = "kk"
NAMES: dict[Lang, str] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LOCALES = Path(__file__).parent / "locales"
ZONE = ZoneInfo("Asia/Almaty")
_ALIASES = {"kz": "kk"}


def N_(text: str) -> str:
    """Marks a message for ``pybabel extract``; translated where it is shown."""
    return text


@cache
def translations(lang: Lang) -> Translations:
    loaded = Translations.load(str(LOCALES), [lang], "messages")
    if not isinstance(loaded, Translations):
        raise FileNotFoundError(f"no compiled catalog for {lang} under {LOCALES}")
    return loaded


def gettext(lang: Lang, text: str, **params: object) -> str:
    found = translations(lang).gettext(text)
    return found % params if params else found


def as_lang(value: str | None) -> Lang | None:
    wanted = (value or "").strip().lower()
    wanted = _ALIASES.get(wanted, wanted)
    return next((lang for lang in LANGS if lang == wanted), None)


def pick(query: str | None, cookie: str | None, accept_language: str | None) -> Lang:
    """``?lang=``, else the remembered choice, else the best of ``Accept-Language``."""
    chosen = as_lang(query) or as_lang(cookie)
    if chosen:
        return chosen
    best: tuple[float, int, Lang] | None = None
    for order, part in enumerate((accept_language or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        lang = as_lang(tag.strip().split("-")[0])
        if lang is None:
            continue
        match = re.search(r"q\s*=\s*([0-9.]+)", rest)
        try:
            quality = float(match.group(1)) if match else 1.0
        except ValueError:
            quality = 0.0
        if 0 < quality <= 1 and (best is None or (quality, -order) > best[:2]):
            best = (quality, -order, lang)
    return best[2] if best else DEFAULT


def when(value: str | datetime | None, lang: Lang) -> str:
    """An instant in Almaty time, in the page's words (``3 дек. 2026 г., 14:05``)."""
    if value is None or value == "":
        return "—"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(instant, "d MMMM y, HH:mm", tzinfo=ZONE, locale=lang)


def number(value: float | int | None, lang: Lang) -> str:
    if value is None:
        return "—"
    return format_decimal(value, locale=lang)


def place(kato: str | None, lang: Lang) -> str:
    """A region, district or rural district by name in the page's language (English pages: the
    Russian name in the Latin script — the KATO names units in Kazakh and Russian only)."""
    if not kato:
        return ""
    unit = load_territory().find(kato)
    if unit is None:
        return kato
    if lang == "en":
        return latin(unit.name_ru)
    return unit.name_kk if lang == "kk" else unit.name_ru


ROLE_NAMES = {
    "organiser": N_("organiser"),
    "secretary": N_("secretary"),
    "member": N_("member"),
    "chair": N_("chair"),
    "ethics": N_("ethics commissioner"),
    "operator": N_("operator"),
    "auditor": N_("auditor"),
    "nominator": N_("nominator"),
    "integrator": N_("integrator"),
}

KIND_NAMES = {
    "project": N_("Project (Annex 4)"),
    "essay": N_("Essay (Annex 6)"),
    "interview": N_("Interview (§15)"),
    "stage2": N_("Project defence (Annex 7)"),
}
