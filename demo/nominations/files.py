"""Small but real files for the demo's applications: a PDF (one page by default), a one-slide
PPTX and a short MP4 video, each made once per process (the blob store keeps one copy of each)."""

from __future__ import annotations

import io
import zipfile
from fractions import Fraction
from functools import cache

import av
from av.video.stream import VideoStream


@cache
def pdf(pages: int = 1) -> bytes:
    """A PDF 1.4 of ``pages`` pages with a line of text each, its cross-reference table exact
    (pypdf opens it; the essay's page rule counts its pages)."""
    kids = b" ".join(b"%d 0 R" % (4 + 2 * n) for n in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for n in range(pages):
        text = b"BT /F1 18 Tf 72 720 Td (uzdik - Best Rural Akim 2020 - page %d) Tj ET" % (n + 1)
        objects += [
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * n),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


_P = "http://schemas.openxmlformats.org/presentationml/2006/main"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.presentationml"
_NS = f'xmlns:a="{_A}" xmlns:r="{_R}" xmlns:p="{_P}"'
_TREE = '<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>'


def _rels(*items: tuple[str, str]) -> str:
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="{_REL}/{kind}" Target="{target}"/>'
        for n, (kind, target) in enumerate(items, start=1)
    )
    return _xml(f'<Relationships xmlns="{_PKG}">{rels}</Relationships>')


def _xml(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{body}'


def _content_types() -> str:
    parts = {
        "/ppt/presentation.xml": f"{_CT}.presentation.main+xml",
        "/ppt/slides/slide1.xml": f"{_CT}.slide+xml",
        "/ppt/slideLayouts/slideLayout1.xml": f"{_CT}.slideLayout+xml",
        "/ppt/slideMasters/slideMaster1.xml": f"{_CT}.slideMaster+xml",
        "/ppt/theme/theme1.xml": "application/vnd.openxmlformats-officedocument.theme+xml",
    }
    overrides = "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in parts.items())
    return _xml(
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f"{overrides}</Types>"
    )


def _theme() -> str:
    colours = "".join(
        f"<a:{name}><a:srgbClr val='{value}'/></a:{name}>"
        for name, value in (
            ("dk1", "000000"), ("lt1", "FFFFFF"), ("dk2", "1F497D"), ("lt2", "EEECE1"),
            ("accent1", "4F81BD"), ("accent2", "C0504D"), ("accent3", "9BBB59"),
            ("accent4", "8064A2"), ("accent5", "4BACC6"), ("accent6", "F79646"),
            ("hlink", "0000FF"), ("folHlink", "800080"),
        )
    )  # fmt: skip
    font = '<a:latin typeface="Arial"/><a:ea typeface=""/><a:cs typeface=""/>'
    fill = '<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>'
    line = f'<a:ln w="9525">{fill}</a:ln>'
    effect = "<a:effectStyle><a:effectLst/></a:effectStyle>"
    return _xml(
        f'<a:theme xmlns:a="{_A}" name="uzdik"><a:themeElements>'
        f'<a:clrScheme name="uzdik">{colours}</a:clrScheme>'
        f'<a:fontScheme name="uzdik"><a:majorFont>{font}</a:majorFont>'
        f"<a:minorFont>{font}</a:minorFont></a:fontScheme>"
        f'<a:fmtScheme name="uzdik"><a:fillStyleLst>{fill * 3}</a:fillStyleLst>'
        f"<a:lnStyleLst>{line * 3}</a:lnStyleLst>"
        f"<a:effectStyleLst>{effect * 3}</a:effectStyleLst>"
        f"<a:bgFillStyleLst>{fill * 3}</a:bgFillStyleLst></a:fmtScheme>"
        "</a:themeElements></a:theme>"
    )


def _slide(title: str) -> str:
    shape = (
        '<p:sp><p:nvSpPr><p:cNvPr id="2" name="Title"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>'
        '<p:spPr><a:xfrm><a:off x="457200" y="457200"/><a:ext cx="8229600" cy="1143000"/>'
        '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr>'
        f'<p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="ru-RU"/><a:t>{title}</a:t>'
        "</a:r></a:p></p:txBody></p:sp>"
    )
    return _xml(f"<p:sld {_NS}><p:cSld><p:spTree>{_TREE}{shape}</p:spTree></p:cSld></p:sld>")


def _pptx_parts() -> dict[str, str]:
    tree = f"<p:cSld><p:spTree>{_TREE}</p:spTree></p:cSld>"
    colours = (
        'bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" '
        'accent3="accent3" accent4="accent4" accent5="accent5" accent6="accent6" '
        'hlink="hlink" folHlink="folHlink"'
    )
    return {
        "[Content_Types].xml": _content_types(),
        "_rels/.rels": _rels(("officeDocument", "ppt/presentation.xml")),
        "ppt/presentation.xml": _xml(
            f'<p:presentation {_NS}><p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rId1"/>'
            '</p:sldMasterIdLst><p:sldIdLst><p:sldId id="256" r:id="rId2"/></p:sldIdLst>'
            '<p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/>'
            "</p:presentation>"
        ),
        "ppt/_rels/presentation.xml.rels": _rels(
            ("slideMaster", "slideMasters/slideMaster1.xml"),
            ("slide", "slides/slide1.xml"),
            ("theme", "theme/theme1.xml"),
        ),
        "ppt/slides/slide1.xml": _slide("Ауыл — ел бесігі: проект устойчивого развития села"),
        "ppt/slides/_rels/slide1.xml.rels": _rels(
            ("slideLayout", "../slideLayouts/slideLayout1.xml")
        ),
        "ppt/slideLayouts/slideLayout1.xml": _xml(
            f'<p:sldLayout {_NS} type="blank">{tree}</p:sldLayout>'
        ),
        "ppt/slideLayouts/_rels/slideLayout1.xml.rels": _rels(
            ("slideMaster", "../slideMasters/slideMaster1.xml")
        ),
        "ppt/slideMasters/slideMaster1.xml": _xml(
            f"<p:sldMaster {_NS}>{tree}<p:clrMap {colours}/>"
            '<p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/></p:sldLayoutIdLst>'
            "</p:sldMaster>"
        ),
        "ppt/slideMasters/_rels/slideMaster1.xml.rels": _rels(
            ("slideLayout", "../slideLayouts/slideLayout1.xml"), ("theme", "../theme/theme1.xml")
        ),
        "ppt/theme/theme1.xml": _theme(),
    }


@cache
def pptx() -> bytes:
    """A one-slide PowerPoint presentation (Office Open XML), the parts PowerPoint needs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _pptx_parts().items():
            archive.writestr(name, text)
    return buffer.getvalue()


@cache
def video(seconds: int = 10, size: int = 32) -> bytes:
    """An MP4 (MPEG-4 Part 2) of ``seconds`` seconds, one grey frame a second, ``size`` px."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=1)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        stream.time_base = Fraction(1, 1)
        for second in range(seconds):
            frame = av.VideoFrame(size, size, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([128]) * plane.buffer_size)
            frame.pts = second
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()
