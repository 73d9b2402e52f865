"""The portal's kk/ru/en catalogs: complete, compiled and in step with the source strings."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from services.portal import i18n

PORTAL = Path(i18n.__file__).parent
LANGS = ("kk", "ru", "en")
SAME = {"№"}  # the same in every language


def catalog(lang: str, kind: str):  # type: ignore[no-untyped-def]
    path = PORTAL / "locales" / lang / "LC_MESSAGES" / f"messages.{kind}"
    with path.open("rb") as handle:
        return read_po(handle, locale=lang) if kind == "po" else read_mo(handle)


def source_ids() -> set[str]:
    keywords = {"N_": None, "_": None, "gettext": (2,)}
    found: set[str] = set()
    sources = [("python", path) for path in sorted(PORTAL.rglob("*.py"))] + [
        ("jinja2", path) for path in sorted((PORTAL / "templates").glob("*.html"))
    ]
    options = {"extensions": "jinja2.ext.i18n"}
    for method, path in sources:
        found_in = extract_from_file(method, str(path), keywords=keywords, options=options)
        for _, message, _, _ in found_in:
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("lang", LANGS)
def test_every_source_string_is_in_the_catalog(lang: str) -> None:
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog(lang, "po") if m.id}
    assert source_ids() <= ids


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated_and_not_fuzzy(lang: str) -> None:
    for m in catalog(lang, "po"):
        if m.id:
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            assert all(strings) and not m.fuzzy, m.id


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_kazakh_and_russian_are_not_english(lang: str) -> None:
    same = [m.id for m in catalog(lang, "po") if m.id and m.string == m.id and m.id not in SAME]
    assert same == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_compiled_catalog_matches_its_source(lang: str) -> None:
    def table(cat) -> dict[object, object]:  # type: ignore[no-untyped-def]
        def frozen(value: object) -> object:
            return tuple(value) if isinstance(value, list | tuple) else value

        return {frozen(m.id): frozen(m.string) for m in cat if m.id}

    assert table(catalog(lang, "mo")) == table(catalog(lang, "po"))


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_survive_translation(lang: str) -> None:
    import re

    for m in catalog(lang, "po"):
        if not m.id:
            continue
        source = m.id[0] if isinstance(m.id, tuple) else m.id
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for text in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", text)) == set(
                re.findall(r"%\(\w+\)[sd]", source)
            )
