"""A render worker reads its fonts once and writes many PDFs with them: each document still
embeds the glyphs it draws and no other's (writing a PDF subsets its fontTools font in place),
its text reads back, and the file is the very file fpdf2 writes reading the fonts itself."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from fpdf import FPDF
from pypdf import PdfReader

from services.reporting.documents import pdf
from services.reporting.documents.pdf import Cell, Writer

AT = datetime(2020, 7, 28, 6, 0, tzinfo=UTC)
# two documents drawing different letters in each face: serif, serif-bold, mono
KAZAKH = {
    "serif": "Әділқазылар алқасының шешімі: ғылыми жұмыс үздік деп танылды",
    "serif-bold": "ҚОРЫТЫНДЫ ӨҢІР",
    "mono": "0123 ӘҒҚ",
}
RUSSIAN = {
    "serif": "Съешь же ещё этих мягких французских булок, да выпей чаю",
    "serif-bold": "ИТОГ ГОЛОСОВАНИЯ",
    "mono": "789 ✔",
}
BASE_FONTS = {
    "DejaVuSerifBook": "serif",
    "DejaVuSerifBold": "serif-bold",
    "DejaVuSansMonoBook": "mono",
}


def document(lines: dict[str, str]) -> bytes:
    w = Writer("kk", "fonts", AT)
    w.heading(lines["serif-bold"])
    w.paragraph(lines["serif"])
    w.table([60.0, 60.0], [], [[Cell(lines["mono"], face="mono", pre=True), Cell("")]])
    return w.output()


def text_of(made: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(made)).pages).split())


def embedded(made: bytes) -> dict[str, set[str]]:
    """Each face's embedded subset: its glyphs' names."""
    found: dict[str, set[str]] = {}
    for page in PdfReader(BytesIO(made)).pages:
        resources: Any = page["/Resources"]
        for ref in resources["/Font"].values():
            font = ref.get_object()
            face = BASE_FONTS[str(font["/BaseFont"]).split("+", 1)[1]]
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            data = descriptor["/FontFile2"].get_object().get_data()
            found[face] = set(TTFont(BytesIO(data)).getGlyphOrder())
    return found


def glyphs(face: str, text: str) -> set[str]:
    """The names of ``text``'s glyphs in the whole font ``face``."""
    cmap = TTFont(str(pdf.FACES[face]), lazy=True).getBestCmap()
    return {cmap[ord(c)] for c in text if c != " "}


def read_by_fpdf(target: FPDF) -> None:
    for name, path in pdf.FACES.items():
        target.add_font(name, "", str(path))


def test_the_fonts_are_read_once_per_process() -> None:
    for face in pdf.FACES:
        assert pdf._face(face) is not None, f"{face}: read again for every document (fpdf2?)"


def test_documents_written_one_after_another_embed_their_own_glyphs_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = document(KAZAKH)
    second = document(RUSSIAN)
    again = document(KAZAKH)

    for made, lines, other in ((first, KAZAKH, RUSSIAN), (second, RUSSIAN, KAZAKH)):
        text = text_of(made)
        for face, line in lines.items():
            assert line in text
            assert other[face] not in text
        subsets = embedded(made)
        assert set(subsets) == set(pdf.FACES)
        for face, subset in subsets.items():
            mine, theirs = glyphs(face, lines[face]), glyphs(face, other[face])
            assert mine <= subset, f"{face}: {sorted(mine - subset)} not embedded"
            assert not (theirs - mine) & subset, f"{face}: {sorted((theirs - mine) & subset)}"
    assert again == first  # nothing of the second document stays behind

    # the very files fpdf2 writes when each document reads the fonts itself
    monkeypatch.setattr(pdf, "_add_fonts", read_by_fpdf)
    assert document(RUSSIAN) == second
    assert document(KAZAKH) == first


def reading(face: str) -> tuple[dict[int, str], dict[int, float], dict[str, Any]]:
    """What the process read of ``face`` and documents share: its cmap, widths, descriptor."""
    read = pdf._face(face)
    assert read is not None
    shared = read[0]
    return dict(shared["cmap"]), dict(shared["cw"]), dict(vars(shared["desc"]))


def test_writing_leaves_the_process_reading_unchanged() -> None:
    document(KAZAKH)
    before = {face: reading(face) for face in pdf.FACES}
    document(RUSSIAN)
    assert {face: reading(face) for face in pdf.FACES} == before
    for _, _, descriptor in before.values():
        assert descriptor["font_name"] is None  # named in a document's copy only
