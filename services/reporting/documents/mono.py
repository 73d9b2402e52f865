"""Figures set in a monospace font so that they stand in columns, a line of text per row.

A protocol's tables of figures (the summary's members' totals, the annex's sheets) hold
thousands of numbers. As a table cell each, every one is laid out and drawn by the PDF
renderer on its own (about a millisecond each with WeasyPrint: most of a large protocol's
rendering); as a line of monospace text, a row is one line. The name beside the figures stays
in its own cell, in the document's font."""

from __future__ import annotations

from dataclasses import dataclass

EM_MM = 0.602 * 25.4 / 72  # advance of a DejaVu Sans Mono glyph at 1 pt, in mm
WIDEST_MM = 135.0  # the widest a column of figures gets (the names' column takes the rest)
PADDING_MM = 3.0  # a cell's padding and borders, with a margin
SIZE_PT = 8.0


@dataclass(frozen=True)
class Fit:
    """The font size and the column width (mm) that a line of ``chars`` characters takes."""

    size_pt: float
    width_mm: float


def fit(chars: int) -> Fit:
    """At most :data:`SIZE_PT`, smaller when the line would be wider than :data:`WIDEST_MM`."""
    size = min(SIZE_PT, round(WIDEST_MM / (max(chars, 1) * EM_MM), 1))
    return Fit(size, round(chars * EM_MM * size + PADDING_MM, 1))


def width(*texts: object, least: int = 0) -> int:
    """The width of a column holding ``texts``, with two spaces before it."""
    return 2 + max(least, *(len(str(t)) for t in texts))
