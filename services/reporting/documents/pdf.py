"""A protocol's PDF/A-3b, laid out here and written by fpdf2.

The page is the very content of the protocol's HTML (:func:`protocol.view`: the same words in
the same order) set on A4 by a small layout of our own: paragraphs wrapped at word boundaries,
tables drawn a row at a time with their header repeated on every page they continue on, a row
never split unless it is taller than a page, the signatures kept on one page, the annex from a
new page, "page / pages" at the foot. A protocol is mostly fixed-pitch figures (the summary's
and the annex's lines, thousands of them), and a layout engine made for arbitrary HTML spent a
millisecond on each (WeasyPrint: 117 s of CPU for the demo's 70 PDFs); drawn as text at known
positions they cost microseconds.

The fonts are DejaVu (Serif for the text, Sans Mono for the figures), shipped with the code
(``fonts/``, their licence beside them): the same glyphs and widths wherever the protocol is
rendered again, so ``uzdik verify-protocol`` on another machine lays out the same lines.
Widths are computed from the fonts' advance widths (no kerning: fpdf2 draws without it too).

Byte-identical across replays: the creation date is the signing time, and the file identifier
is derived from the content (fpdf2's default, with that date).

A process reads each font once (:func:`_face`: what fpdf2 derives from it, every character's
width and glyph); each document opens its own fontTools font from the bytes read, its tables
parsed only as writing the document subsets it, in place (:func:`_add_fonts`)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from html import escape
from io import BytesIO
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

Doc = dict[str, Any]

FONTS = Path(__file__).parent / "fonts"
FACES = {
    "serif": FONTS / "DejaVuSerif.ttf",
    "serif-bold": FONTS / "DejaVuSerif-Bold.ttf",
    "mono": FONTS / "DejaVuSansMono.ttf",
}
PT = 25.4 / 72  # mm per point
PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT, TOP, BOTTOM = 16.0, 16.0, 18.0, 20.0
WIDTH = PAGE_W - LEFT - RIGHT
FLOOR = PAGE_H - BOTTOM  # nothing is drawn below this
BORDER = 0.6 * PT
GREY = 238  # a table header's background
INK = (17, 17, 17)
MUTED = (51, 51, 51)
FAINT = (119, 119, 119)
BAD = (170, 0, 0)
LEADING = 1.22  # line height / font size


@cache
def _advances(face: str) -> tuple[dict[int, float], float]:
    """Each character's advance at 1 pt, in mm, and the advance of a missing one."""
    font = TTFont(str(FACES[face]), lazy=True)
    per_mm = PT / font["head"].unitsPerEm
    metrics = font["hmtx"].metrics
    widths = {code: metrics[glyph][0] * per_mm for code, glyph in font.getBestCmap().items()}
    return widths, metrics[".notdef"][0] * per_mm


def measure(text: str, face: str, size: float) -> float:
    """The width of ``text`` in mm at ``size`` points."""
    widths, missing = _advances(face)
    get = widths.get
    return sum(get(ord(c), missing) for c in text) * size


def wrap(text: str, width: float, face: str, size: float) -> list[str]:
    """``text`` in lines no wider than ``width`` (mm), broken between words (a word wider than
    a line is broken between characters); its own line breaks are kept."""
    lines: list[str] = []
    space = measure(" ", face, size)
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for word in paragraph.split(" "):
            w = measure(word, face, size)
            if line and used + space + w <= width:
                line, used = f"{line} {word}", used + space + w
                continue
            if line:
                lines.append(line)
            while w > width and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and measure(word[:cut], face, size) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
                w = measure(word, face, size)
            line, used = word, w
        lines.append(line)
    return lines


@dataclass
class Cell:
    """A table cell: its text (``pre``: its lines as given, never wrapped), how it is set, and
    which of its lines are struck through (a corrected sheet)."""

    text: str = ""
    face: str = "serif"
    size: float = 8.5
    align: str = "L"  # L, R, C
    pre: bool = False
    color: tuple[int, int, int] = INK
    struck: frozenset[int] = frozenset()
    mark: str = ""  # drawn after the text in the monospace face (✔: not in DejaVu Serif)
    notes: tuple[str, ...] = ()  # small lines under the text
    span: int = 1


class Writer:
    """The layout: a cursor ``y`` down the page, page breaks where the content asks for them."""

    def __init__(self, lang: str, title: str, at: datetime | None) -> None:
        self.pdf = pdf = _Pdf(format="A4", unit="mm", enforce_compliance="PDF/A-3B")
        _add_fonts(pdf)
        pdf.set_auto_page_break(False)
        pdf.set_margins(LEFT, TOP, RIGHT)
        pdf.set_lang(lang)
        pdf.set_title(title)
        pdf.set_creator("uzdik")
        pdf.set_producer("uzdik (fpdf2)")
        created = at or datetime(2020, 1, 1, tzinfo=UTC)
        pdf.set_creation_date(created)
        pdf.set_xmp_metadata(_xmp(title, created))
        pdf.set_line_width(BORDER)
        pdf.set_draw_color(68)
        self.y = TOP
        self.page()

    def page(self) -> None:
        self.pdf.add_page()
        self.y = TOP

    def room(self, height: float) -> None:
        """A new page unless ``height`` fits under the cursor (or the page is still empty)."""
        if self.y + height > FLOOR and self.y > TOP:
            self.page()

    def text(
        self,
        x: float,
        top: float,
        line: str,
        face: str,
        size: float,
        color: tuple[int, int, int] = INK,
    ) -> None:
        """One line whose box starts at ``top`` (its baseline under it by the font's ascent)."""
        pdf = self.pdf
        pdf.set_font(face, "", size)
        pdf.set_text_color(*color)
        pdf.text(x, top + size * PT * 0.93, line)

    def paragraph(
        self,
        text: str,
        size: float = 10.0,
        face: str = "serif",
        color: tuple[int, int, int] = INK,
        align: str = "L",
        after: float = 2.0,
        indent: float = 0.0,
    ) -> None:
        lead = size * PT * LEADING
        lines = wrap(text, WIDTH - indent, face, size)
        if len(lines) <= 4:  # a short paragraph is not split across pages
            self.room(lead * len(lines))
        for line in lines:
            self.room(lead)
            x = LEFT + indent
            if align == "C":
                x = LEFT + (WIDTH - measure(line, face, size)) / 2
            self.text(x, self.y, line, face, size, color)
            self.y += lead
        self.y += after

    def heading(self, text: str) -> None:
        """A section's title with a rule under it, kept with what follows (room for 20 mm)."""
        size = 11.5
        self.y += 4.0
        self.room(size * PT * LEADING + 22.0)
        self.text(LEFT, self.y, text, "serif-bold", size)
        self.y += size * PT * LEADING + 0.8
        self.pdf.line(LEFT, self.y, LEFT + WIDTH, self.y)
        self.y += 2.0

    def table(
        self,
        widths: list[float],
        head: list[list[Cell]],
        rows: list[list[Cell]],
        pad: float = 1.0,
        borders: bool = True,
    ) -> None:
        """Rows under ``head`` (repeated at the top of every page the table continues on)."""
        laid = [self._lay(widths, row, pad) for row in head]
        head_h = sum(h for h, _ in laid)
        self.room(head_h + (self._lay(widths, rows[0], pad)[0] if rows else 0))
        self._rows(widths, laid, pad, borders, fill=True)
        for row in rows:
            height, cells = self._lay(widths, row, pad)
            if self.y + height > FLOOR:
                if height <= FLOOR - TOP - head_h:
                    self.page()
                    self._rows(widths, laid, pad, borders, fill=True)
                else:  # taller than a page: its lines continue on the next
                    self._split(widths, laid, height, cells, pad, borders)
                    continue
            self._rows(widths, [(height, cells)], pad, borders, fill=False)
        self.y += 2.0

    def _lay(
        self, widths: list[float], row: list[Cell], pad: float
    ) -> tuple[float, list[tuple[Cell, float, list[str]]]]:
        """Each cell with its width and its lines; the row's height."""
        cells, i, height = [], 0, 0.0
        for cell in row:
            width = sum(widths[i : i + cell.span])
            i += cell.span
            inner = width - 2 * pad
            if cell.pre:
                lines = cell.text.split("\n")
            else:
                room = inner - (measure(" " + cell.mark, "mono", cell.size) if cell.mark else 0)
                lines = wrap(cell.text, room, cell.face, cell.size)
            note_lines = [
                line for n in cell.notes for line in wrap(n, inner, "serif", cell.size - 1)
            ]
            tall = len(lines) * cell.size * PT * LEADING
            tall += len(note_lines) * (cell.size - 1) * PT * LEADING + (1.0 if note_lines else 0)
            height = max(height, tall + 2 * pad)
            cells.append((cell, width, [*lines, *(["\x00" + n for n in note_lines])]))
        return height, cells

    def _rows(
        self,
        widths: list[float],
        rows: list[tuple[float, list[tuple[Cell, float, list[str]]]]],
        pad: float,
        borders: bool,
        fill: bool,
    ) -> None:
        pdf = self.pdf
        for height, cells in rows:
            x = LEFT
            for cell, width, lines in cells:
                if borders:
                    if fill:
                        pdf.set_fill_color(GREY)
                    pdf.rect(x, self.y, width, height, style="DF" if fill else "D")
                self._cell_text(x, self.y + pad, width, cell, lines, pad)
                x += width
            self.y += height

    def _cell_text(
        self, x: float, top: float, width: float, cell: Cell, lines: list[str], pad: float
    ) -> None:
        lead = cell.size * PT * LEADING
        small = (cell.size - 1) * PT * LEADING
        y = top
        last = sum(1 for line in lines if not line.startswith("\x00")) - 1  # the text's last line
        for n, line in enumerate(lines):
            if line.startswith("\x00"):  # a note under the text
                if not lines[n - 1].startswith("\x00"):
                    y += 1.0
                self.text(x + pad, y, line[1:], "serif", cell.size - 1, MUTED)
                y += small
                continue
            face, size = cell.face, cell.size
            struck = n in cell.struck
            marked = bool(cell.mark) and n == last
            # the line's width only where it is used (most lines: left-aligned, plain)
            shown = measure(line, face, size) if cell.align != "L" or struck or marked else 0.0
            at = x + pad
            if cell.align == "R":
                at = x + width - pad - shown
            elif cell.align == "C":
                at = x + (width - shown) / 2
            self.text(at, y, line, face, size, FAINT if struck else cell.color)
            if struck:
                middle = y + size * PT * 0.62
                self.pdf.set_draw_color(*FAINT)
                self.pdf.line(at, middle, at + shown, middle)
                self.pdf.set_draw_color(68)
            if marked:
                self.text(at + shown + measure(" ", face, size), y, cell.mark, "mono", size)
            y += lead

    def _split(
        self,
        widths: list[float],
        head: list[tuple[float, list[tuple[Cell, float, list[str]]]]],
        height: float,
        cells: list[tuple[Cell, float, list[str]]],
        pad: float,
        borders: bool,
    ) -> None:
        """A row taller than a page, as pieces of its lines page by page."""
        lead = max(c.size for c, _, _ in cells) * PT * LEADING
        start = 0
        longest = max(len(lines) for _, _, lines in cells)
        while start < longest:
            if FLOOR - self.y < lead * 2 + 2 * pad:
                self.page()
                self._rows(widths, head, pad, borders, fill=True)
            fits = max(1, int((FLOOR - self.y - 2 * pad) / lead))
            piece = [
                (
                    Cell(**{**c.__dict__, "struck": frozenset(i - start for i in c.struck)}),
                    w,
                    lines[start : start + fits],
                )
                for c, w, lines in cells
            ]
            tall = max(len(lines) for _, _, lines in piece) * lead + 2 * pad
            self._rows(widths, [(tall, piece)], pad, borders, fill=False)
            start += fits

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _xmp(title: str, created: datetime) -> str:
    """The document's XMP: PDF/A-3b, its title, and every date the signing time (fpdf2's own
    would date the modification now, and the file would differ from one rendering to the
    next)."""
    when = escape(created.astimezone(UTC).isoformat(timespec="seconds"))
    return "\n".join(
        [
            '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="uzdik">',
            '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
            '    <rdf:Description rdf:about=""',
            '        xmlns:dc="http://purl.org/dc/elements/1.1/"',
            '        xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
            '        xmlns:pdf="http://ns.adobe.com/pdf/1.3/"',
            '        xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"',
            '        pdfaid:part="3" pdfaid:conformance="B"',
            '        xmp:CreatorTool="uzdik"',
            f'        xmp:CreateDate="{when}" xmp:ModifyDate="{when}" xmp:MetadataDate="{when}"',
            '        pdf:Producer="uzdik (fpdf2)">',
            "      <dc:title><rdf:Alt>",
            f'        <rdf:li xml:lang="x-default">{escape(title)}</rdf:li>',
            "      </rdf:Alt></dc:title>",
            "    </rdf:Description>",
            "  </rdf:RDF>",
            "</x:xmpmeta>",
        ]
    )


def warm() -> None:
    """Read the fonts now (a render worker does it before its first protocol)."""
    for face in FACES:
        _advances(face)
        _face(face)


# What fpdf2 2.8's TTFFont holds: what it reads from the font file once and only reads after,
# shared by the documents a process writes; what a document changes (its subset, the glyphs it
# misses, its widths looked up, its descriptor's object number and name, its fontTools font,
# subset in place and closed when the file is written), each document's own.
_SHARED = {"type", "name", "cmap", "glyph_ids", "sp", "ss", "up", "ut", "ttffile", "fontkey"}
_SHARED |= {"emphasis", "scale", "unicode_range", "palette_index", "is_compressed", "is_cff"}
_SHARED |= {"is_cid_keyed", "is_symbol", "cff_ros", "collection_font_number"}
_OWN = {"i", "ttfont", "cw", "desc", "subset", "missing_glyphs", "biggest_size_pt", "_hbfont"}
_OWN |= {"color_font"}


@cache
def _face(face: str) -> tuple[dict[str, Any], bytes] | None:
    """The font ``face`` as fpdf2's ``add_font`` reads it, once per process: what documents
    share of it (:data:`_SHARED`; its widths and descriptor, to copy), and the file's bytes.
    None where fpdf2 holds more than :data:`_SHARED` and :data:`_OWN` (another version of it:
    each document reads its fonts then, as fpdf2 does)."""
    probe = FPDF()
    probe.add_font(face, "", str(FACES[face]))
    font = probe.fonts[face]
    if (
        not isinstance(font, TTFFont)
        or set(TTFFont.__slots__) != _SHARED | _OWN
        or font.color_font is not None
        or font.is_compressed
        or font.is_cff
    ):
        return None
    font.close()  # its fontTools font: each document opens its own
    data = FACES[face].read_bytes()
    if ".notdef" not in TTFont(BytesIO(data), lazy=True)["glyf"]:
        return None  # fpdf2 draws one into the fontTools font it opened
    shared = {slot: getattr(font, slot) for slot in sorted(_SHARED) if hasattr(font, slot)}
    return {**shared, "cw": font.cw, "desc": font.desc}, data


def _add_fonts(pdf: FPDF) -> None:
    """The faces in ``pdf``, as ``add_font`` would add them but for reading them: what fpdf2
    reads from a font (its widths, its glyphs' numbers, its metrics) is the process's
    (:func:`_face`), and the document has its own fontTools font, opened (tables are parsed
    when first used: writing the file, it is subset) from the bytes the process read."""
    for face, path in FACES.items():
        read = _face(face)
        if read is None:
            pdf.add_font(face, "", str(path))
            continue
        shared, data = read
        font = TTFFont.__new__(TTFFont)
        for slot, value in shared.items():
            setattr(font, slot, value)
        font.i = len(pdf.fonts) + 1
        font.ttfont = TTFont(
            BytesIO(data),
            recalcTimestamp=False,
            fontNumber=font.collection_font_number,
            lazy=True,
        )  # as fpdf2 opens it
        font.cw = copy.copy(font.cw)  # a defaultdict: looking a character up adds it
        font.desc = copy.copy(font.desc)  # numbered and named when the document is written
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font._hbfont = None
        font.color_font = None
        font.subset = SubsetMap(font)
        pdf.fonts[face] = font


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_font("serif", "", 8)
        self.set_text_color(85, 85, 85)
        label = f"{self.page_no()} / {{nb}}"
        self.set_xy(LEFT, PAGE_H - 12)
        self.cell(WIDTH, 4, label, align="C")


def write(page: Doc, attachments: dict[str, bytes] | None = None, at: str | None = None) -> bytes:
    """The protocol ``page`` (:func:`protocol.page`) as PDF/A-3b, with ``attachments``
    embedded (relationship Source: a signed protocol proves itself from the file alone) and
    dated ``at`` (RFC 3339: when it was signed)."""
    when = datetime.fromisoformat(at) if at else None
    L = page["L"]
    number = f" № {page['number']}" if page.get("number") else ""
    w = Writer(page["lang"], f"{L['title']}{number} — {page['commission_title']}", when)
    for name, data in sorted((attachments or {}).items()):
        w.pdf.embed_file(
            bytes=data,
            basename=name,
            modification_date=when,
            mime_type="application/json",
            associated_file_relationship="Source",
        )
    w.paragraph(f"{L['title']}{number}", 15, "serif-bold", align="C", after=1.5)
    w.paragraph(L["subtitle"], 10.5, align="C", after=0)
    w.paragraph(page["commission_title"], 10.5, align="C", after=4)
    meta = [
        [Cell(label, size=10, color=MUTED), Cell(value, size=10)] for label, value in page["meta"]
    ]
    w.table([0.32 * WIDTH, 0.68 * WIDTH], [], meta, pad=0.6, borders=False)

    w.heading(f"1. {L['attendance']}")
    widths = [0.07 * WIDTH, 0.63 * WIDTH, 0.30 * WIDTH]
    head = [[Cell("№", size=10), Cell(L["member"], size=10), Cell("", size=10)]]
    rows = [
        [
            Cell(str(n), size=10, align="R"),
            Cell(m["name"] + (f" ({L['chair']})" if m["chair"] else ""), size=10),
            Cell(m["status"], size=10),
        ]
        for n, m in enumerate(page["members"], 1)
    ]
    rows.append(
        [
            Cell("", size=10),
            Cell(f"{L['secretary']}: {page['secretary']}", size=10),
            Cell("", size=10),
        ]
    )
    w.table(widths, head, rows, pad=1.2)
    if page.get("quorum") is not None:
        quorate, text = page["quorum"]
        word = L["quorate"] if quorate else L["not_quorate"]
        w.paragraph(f"{L['quorum']}: {word} — {text}.", color=INK if quorate else BAD)

    if page["summary"]:
        w.heading(f"2. {L['summary']}")
        for g in page["summary"]:
            mono = g["mono_mm"]
            widths = [WIDTH - mono, mono]
            head = [
                [Cell(g["kind_label"], span=2)],
                [Cell(L["candidate"]), Cell(g["head"], face="mono", size=g["mono_pt"], pre=True)],
            ]
            rows = [
                [Cell(r["candidate"]), Cell(r["figures"], face="mono", size=g["mono_pt"], pre=True)]
                for r in g["rows"]
            ]
            w.table(widths, head, rows, pad=0.8)
        w.paragraph(L["summary_note"], 8.5, color=MUTED)

    for n, r in enumerate(page["rankings"]):
        scope = f" — {r['scope_name']}" if r.get("scope") else ""
        w.heading(f"{3 + n}. {L['ranking']}{scope}")
        parts = len(r["components"])
        share = 0.32 if parts <= 3 else 0.22  # the names on one line where the figures leave room
        rest = (0.82 - share) * WIDTH / max(1, parts)
        widths = [0.07 * WIDTH, share * WIDTH, 0.11 * WIDTH] + [rest] * parts
        head = [
            [
                Cell(L["rank"], align="R"),
                Cell(L["candidate"]),
                Cell(L["points"], align="R"),
                *(Cell(c, size=7.5) for c in r["components"]),
            ]
        ]
        rows = [
            [
                Cell(str(e["rank"]), align="R"),
                Cell(e["candidate"], mark="✔" if e["selected"] else ""),
                Cell(e["total"], align="R"),
                *(Cell(c, size=7.5) for c in e["cells"]),
            ]
            for e in r["entries"]
        ]
        w.table(widths, head, rows, pad=0.8)
        if r["steps"]:
            w.paragraph(L["tie_break"], 10, "serif-bold", after=1)
            widths = [0.30 * WIDTH, 0.15 * WIDTH, 0.55 * WIDTH]
            what = f"{L['advanced']} / {L['eliminated']} / {L['still_tied']}"
            head = [[Cell(L["step"], size=10), Cell("", size=10), Cell(what)]]
            rows = [
                [
                    Cell(f"{i}. {s['criterion']}", size=10),
                    Cell(L["applied"] if s["applied"] else L["not_applied"], size=10),
                    Cell(s["text"]),
                ]
                for i, s in enumerate(r["steps"], 1)
            ]
            w.table(widths, head, rows, pad=1.2)

    if page["casting_votes"]:
        w.heading(L["casting"])
        for c in page["casting_votes"]:
            w.paragraph(f"• {c['text']}", after=1, indent=4)
    if page["decisions"]:
        w.heading(L["decisions"])
        for i, d in enumerate(page["decisions"], 1):
            w.paragraph(f"{i}. {d}", after=1, indent=4)

    _signatures(w, page)

    if page["annex"]:
        w.page()
        w.heading(f"{L['annex']}. {L['sheets']}")
        w.paragraph(L["annex_note"], 8.5, color=MUTED)
        for g in page["annex"]:
            legend = [
                [Cell(str(number), size=10, align="R"), Cell(name, color=MUTED)]
                for number, name in g["legend"]
            ]
            head = [[Cell(f"{L['criteria']}: {g['kind_label']}", size=10, span=2)]]
            w.table([0.06 * WIDTH, 0.94 * WIDTH], head, legend, pad=1.0)
            mono = g["mono_mm"]
            size = g["mono_pt"]
            head = [
                [Cell(f"{L['sheets']}: {g['kind_label']}", size=8, span=2)],
                [Cell(L["candidate"], size=8), Cell("\n".join(g["head"]), "mono", size, pre=True)],
            ]
            rows = [
                [
                    Cell(c["name"], size=8, notes=tuple(c["notes"])),
                    Cell(
                        "\n".join(line["text"] for line in c["lines"]),
                        "mono",
                        size,
                        pre=True,
                        struck=frozenset(i for i, line in enumerate(c["lines"]) if line["old"]),
                    ),
                ]
                for c in g["candidates"]
            ]
            w.table([WIDTH - mono, mono], head, rows, pad=0.6)
    return w.output()


def _signatures(w: Writer, page: Doc) -> None:
    """The signatures on one page: the lines to sign, and for a signed protocol its digest and
    each signer's key and signature."""
    L = page["L"]
    signed = page.get("signed")
    count = 4 + (3 + 2 * len(signed["signers"]) if signed else 1)
    w.y += 4.0
    w.room(count * 6.0 + 30.0)
    w.heading(L["signatures"])
    lead = 10 * PT * LEADING
    for role, name in ((L["chair"], page["chair"]), (L["secretary"], page["secretary"])):
        w.y += 7.0
        lines = wrap(f"{role}: {name}", 0.6 * WIDTH, "serif", 10)
        w.text(LEFT + 0.64 * WIDTH, w.y + lead * (len(lines) - 1), "_" * 24, "serif", 10)
        for line in lines:
            w.text(LEFT + 1, w.y, line, "serif", 10)
            w.y += lead
        w.y += 1.0
    w.y += 2.0
    if signed:
        w.paragraph(f"{L['signed_at']}: {signed['signed_at']}", 8.5, color=MUTED, after=1)
        w.paragraph(f"{L['digest']}:", 8.5, color=MUTED, after=0.5)
        w.paragraph(signed["digest"], 8, "mono", after=1.5)
        if page.get("verified"):
            w.paragraph(L["digest_checked"], 8.5, color=MUTED, after=1)
        for s in signed["signers"]:
            w.paragraph(f"{s['role']}: {s['name']}", 8.5, color=MUTED, after=0.5)
            w.paragraph(f"Ed25519 {s['public_key']} · {s['signature']}", 8, "mono", after=1.5)
    else:
        w.paragraph(L["not_signed"], color=BAD)
    w.paragraph(f"{L['sitting']}: {page['sitting_id']}", 8.5, color=MUTED)
