"""A signed protocol's PDF proves itself, whichever document shape was signed: a
``uzdik/protocol/v2`` one states its own names (rendering.json holds only the language); a
``uzdik/protocol/v1`` one, signed before names were, still verifies and says its names were not
signed."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

from pypdf import PdfReader

from services.cli.protocol import verify
from services.reporting.documents import signed
from services.reporting.documents.protocol import render_pdf
from services.scoring.domain.protocol import digest, document
from services.scoring.domain.signatures import generate_key_pair, sign_digest
from services.scoring.events import registry
from tests.unit.scoring.builders import (
    AT,
    CHAIR,
    MEMBERS,
    REGION,
    SECRETARY,
    regional_desk,
    register,
    score_by,
    sitting,
)


def signed_pdf(v1: bool) -> tuple[bytes, dict[str, Any]]:
    desk = regional_desk()
    register(desk, "c1")
    sitting(desk)
    score_by(desk, ("m1", "m2", "m3"), "c1", value=6)
    doc = document(desk.state, "s1")
    if v1:
        doc = {k: v for k, v in doc.items() if k != "names"} | {"format": "uzdik/protocol/v1"}
    sealed: dict[str, Any] = {"digest": digest(doc), "signed_at": AT.isoformat()}
    sealed["signatures"] = []
    for role, person in (("chair", CHAIR), ("secretary", SECRETARY.person_id)):
        key, public = generate_key_pair()
        signature = sign_digest(key, sealed["digest"])
        sealed["signatures"].append(
            {"role": role, "person_id": person, "public_key": public, "signature": signature}
        )
    commission = {
        "level": "regional",
        "region": REGION,
        "chair_id": CHAIR,
        "members": [m.model_dump(mode="json") for m in MEMBERS],
        "secretary": SECRETARY.model_dump(mode="json"),
        "sittings": [{"sitting_id": "s1", "opened_at": AT.isoformat()}],
    }
    rendering = signed.rendering_inputs(doc, commission, {"c1": {"name": "Akim c1"}}, "ru", 1)
    made = signed.render_signed(doc, sealed, rendering, registry)
    files = signed.attachments(doc, sealed, rendering)
    return render_pdf(made.page, files, sealed["signed_at"]), rendering


def test_a_v2_protocol_is_rendered_from_its_signed_names_alone() -> None:
    pdf, rendering = signed_pdf(v1=False)
    assert rendering == {"lang": "ru"}
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages)
    assert "Akim c1" in text and "Member 1" in text and "ПРОТОКОЛ № 1" in text
    verdict = verify(pdf)
    assert verdict.ok, verdict.says
    assert "not signed" not in verdict.says and "Member 1 (m1)" in verdict.says


def test_a_v1_protocol_still_verifies_and_says_its_names_were_not_signed() -> None:
    pdf, rendering = signed_pdf(v1=True)
    attached = PdfReader(BytesIO(pdf)).attachments
    assert json.loads(attached["protocol.json"][0])["format"] == "uzdik/protocol/v1"
    assert rendering["candidates"] == {"c1": {"name": "Akim c1"}}
    verdict = verify(pdf)
    assert verdict.ok, verdict.says
    assert "the number and the names shown beside them are the register's, not signed" in (
        verdict.says
    )
