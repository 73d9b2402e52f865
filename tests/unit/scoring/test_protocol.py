"""§3/§4 protocols: canonical document → sha256 digest → Ed25519 signatures of chair and secretary."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from services.scoring.domain import commands as c
from services.scoring.domain import initial, replay
from services.scoring.domain.protocol import accept_signature, canonical, digest, document, verify
from services.scoring.domain.signatures import (
    generate_key_pair,
    load_public_key,
    public_key_text,
    sign_digest,
    verify_digest,
)
from services.scoring.events import Person, ProtocolSigned, Signature, as_written, registry
from shared.errors import DomainError
from shared.events import Event
from tests.unit.scoring.builders import (
    AT,
    CHAIR,
    RURAL,
    SECRETARY,
    Desk,
    regional_desk,
    register,
    score_by,
    sheet,
    sitting,
)

CHAIR_KEY, CHAIR_PUBLIC = generate_key_pair()
SECRETARY_KEY, SECRETARY_PUBLIC = generate_key_pair()


@pytest.fixture
def sat() -> Desk:
    desk = regional_desk()
    register(desk, "c1")
    sitting(desk)
    score_by(desk, ("m1", "m2", "m3"), "c1", value=6)
    return desk


def signatures(digest_hex: str) -> tuple[Signature, ...]:
    return (
        Signature(
            role="chair",
            person_id=CHAIR,
            public_key=CHAIR_PUBLIC,
            signature=sign_digest(CHAIR_KEY, digest_hex),
        ),
        Signature(
            role="secretary",
            person_id=SECRETARY.person_id,
            public_key=SECRETARY_PUBLIC,
            signature=sign_digest(SECRETARY_KEY, digest_hex),
        ),
    )


def sign(desk: Desk) -> ProtocolSigned:
    wanted = digest(document(desk.state, "s1"))
    [signed] = desk.do(c.SignProtocol(sitting_id="s1", signatures=signatures(wanted), at=AT))
    assert isinstance(signed, ProtocolSigned)
    return signed


def test_the_protocol_is_canonical_json_of_the_sitting(sat: Desk) -> None:
    doc = document(sat.state, "s1")
    raw = canonical(doc)
    assert raw.startswith(b'{"commission":{') and b", " not in raw and b": " not in raw
    assert [r["event_type"] for r in doc["records"]] == ["AttendanceRecorded"] + [
        "ScoreRecorded"
    ] * 3
    assert len(digest(doc)) == 64


def test_a_signed_protocol_verifies(sat: Desk) -> None:
    signed = sign(sat)
    assert verify(document(sat.state, "s1"), signed).valid


def test_a_protocol_whose_content_changed_fails_verification(sat: Desk) -> None:
    signed = sign(sat)
    doc = copy.deepcopy(document(sat.state, "s1"))
    doc["records"][1]["payload"]["total"] = 100
    assert verify(doc, signed).problems == ("digest_mismatch",)


def test_a_changed_digest_fails_verification(sat: Desk) -> None:
    signed = sign(sat)
    doc = document(sat.state, "s1")
    tampered = signed.model_copy(update={"digest": "0" * 64})
    assert set(verify(doc, tampered).problems) == {
        "digest_mismatch",
        "signature_invalid:chair",
        "signature_invalid:secretary",
    }


def test_a_forged_signature_fails_verification(sat: Desk) -> None:
    signed = sign(sat)
    forger, _ = generate_key_pair()
    chair, secretary = signed.signatures
    forged = chair.model_copy(update={"signature": sign_digest(forger, signed.digest)})
    result = verify(
        document(sat.state, "s1"), signed.model_copy(update={"signatures": (forged, secretary)})
    )
    assert result.problems == ("signature_invalid:chair",)


def test_a_forged_signature_is_refused_at_signing(sat: Desk) -> None:
    wanted = digest(document(sat.state, "s1"))
    forger, _ = generate_key_pair()
    chair, secretary = signatures(wanted)
    forged = chair.model_copy(update={"signature": sign_digest(forger, wanted)})
    error = sat.refuse(c.SignProtocol(sitting_id="s1", signatures=(forged, secretary), at=AT))
    assert (error.code, error.status) == ("signature_invalid", 422)


def test_only_the_chair_and_the_secretary_sign(sat: Desk) -> None:
    wanted = digest(document(sat.state, "s1"))
    chair, secretary = signatures(wanted)
    error = sat.refuse(c.SignProtocol(sitting_id="s1", signatures=(chair,), at=AT))
    assert error.code == "signature_missing"
    impostor = chair.model_copy(update={"person_id": "m2"})
    assert (
        sat.refuse(c.SignProtocol(sitting_id="s1", signatures=(impostor, secretary), at=AT)).status
        == 403
    )


def test_a_signed_sitting_is_sealed(sat: Desk) -> None:
    sign(sat)
    assert sat.refuse(sheet(sat, "m4", "c1")).code == "protocol_signed"
    wanted = digest(document(sat.state, "s1"))
    assert sat.refuse(
        c.SignProtocol(sitting_id="s1", signatures=signatures(wanted), at=AT)
    ).code == ("protocol_already_signed")


def test_replaying_the_stored_log_rebuilds_the_protocol_byte_for_byte(sat: Desk) -> None:
    signed = sign(sat)
    stored = [(e.event_type, e.schema_version, e.to_payload()) for e in sat.log]
    decoded = [registry.decode(t, v, p) for t, v, p in stored]
    rebuilt = replay(decoded, initial())
    assert canonical(document(rebuilt, "s1")) == canonical(document(sat.state, "s1"))
    assert verify(document(rebuilt, "s1"), signed).valid


def test_public_keys_travel_as_hex_or_base64() -> None:
    private, b64 = generate_key_pair()
    hexa = public_key_text(private, "hex")
    assert load_public_key(hexa).public_bytes_raw() == load_public_key(b64).public_bytes_raw()
    signature = sign_digest(private, "ab" * 32)
    assert verify_digest(hexa, "ab" * 32, signature)
    assert not verify_digest("not a key", "ab" * 32, signature)


def test_each_signer_is_checked_alone_against_the_digest_they_read(sat: Desk) -> None:
    read = digest(document(sat.state, "s1"))
    chair, secretary = signatures(read)
    assert accept_signature(sat.state, "s1", chair, read) == read
    assert accept_signature(sat.state, "s1", secretary, read) == read
    sat.do(sheet(sat, "m4", "c1"))  # the protocol changes after it was read
    with pytest.raises(DomainError) as stale:
        accept_signature(sat.state, "s1", chair, read)
    now = digest(document(sat.state, "s1"))
    assert (stale.value.code, stale.value.status, stale.value.extra) == (
        "protocol_digest_mismatch",
        409,
        {"digest": now},
    )
    with pytest.raises(DomainError) as forged:
        accept_signature(sat.state, "s1", chair, now)  # a signature over the old digest
    assert forged.value.code == "signature_invalid"
    impostor = signatures(now)[0].model_copy(update={"person_id": "m2"})
    with pytest.raises(DomainError) as wrong:
        accept_signature(sat.state, "s1", impostor, now)
    assert (wrong.value.code, wrong.value.status) == ("signer_not_chair", 403)


def test_a_protocol_recorded_with_v1_events_keeps_its_digest_after_the_upgrade() -> None:
    """Issue 13 made RankingComputed, FinalistSelected and WinnersDecided v2; a protocol signed
    before holds their v1 payloads, and replaying the stored log writes them as they were."""
    desk = regional_desk()
    for i, q in enumerate((20, 15)):
        register(desk, f"c{i + 1}", questionnaire=q, rural=RURAL[i])
    sitting(desk)
    for cid in ("c1", "c2"):
        score_by(desk, ("m1", "m2", "m3"), cid, value=7)
    desk.do(c.NominateDistrict(sitting_id="s1", district="103200000"))

    def as_stored_by_v1(e: Event) -> tuple[str, int, dict[str, Any]]:
        payload = e.to_payload()
        if e.event_type != "RankingComputed":
            return e.event_type, e.schema_version, payload
        entries = [
            {
                **x,
                "components": [
                    {k: v for k, v in y.items() if k != "count"} for y in x["components"]
                ],
            }
            for x in payload["entries"]
        ]
        return e.event_type, 1, {**payload, "entries": entries}

    stored = [as_stored_by_v1(e) for e in desk.log]
    rebuilt = replay([registry.decode(t, v, p) for t, v, p in stored], initial())
    records = document(rebuilt, "s1")["records"]
    written = [(r["event_type"], r["schema_version"], r["payload"]) for r in records]
    recorded = [s for s in stored if s[2].get("sitting_id") == "s1" and s[0] != "SittingOpened"]
    assert written == recorded  # byte for byte what the v1 service wrote
    assert ("RankingComputed", 1) in [(t, v) for t, v, _ in written]


def test_a_record_only_v2_can_express_is_written_as_v2() -> None:
    from decimal import Decimal

    from services.scoring.events import Component, as_written
    from tests.unit.scoring.builders import finalist

    shown = Component(name="survey_mean", value=None, weight=Decimal(0), weighted=None, count=0)
    picked = finalist("c1", "100000000", "63").model_copy(update={"components": (shown,)})
    version, payload = as_written(picked)
    assert (version, payload["components"][0]["count"]) == (2, 0)
    assert as_written(finalist("c1", "100000000", "63"))[0] == 1


def test_a_sitting_opened_before_the_kazakh_agenda_keeps_its_protocols_digest() -> None:
    """SittingOpened v2 adds the agenda in Kazakh; a sitting opened by v1 (no such field) is
    written into its protocol as it was, and one with a Kazakh agenda says it."""
    desk = regional_desk()
    register(desk, "c1", questionnaire=20, rural=RURAL[0])
    sitting(desk)
    opened = next(e for e in desk.log if e.event_type == "SittingOpened")
    new = ("purpose_kk", "place", "place_kk")
    v1 = {k: v for k, v in opened.to_payload().items() if k not in new}
    rebuilt = replay(
        [registry.decode("SittingOpened", 1, v1) if e is opened else e for e in desk.log],
        initial(),
    )
    assert document(rebuilt, "s1")["sitting"] == v1  # byte for byte what v1 wrote
    with_kk = opened.model_copy(update={"purpose_kk": "I кезең"})
    v2 = {k: v for k, v in with_kk.to_payload().items() if k != "place_kk"}
    assert as_written(with_kk) == (2, v2)


def test_the_signed_document_states_the_number_and_every_name_its_text_shows(sat: Desk) -> None:
    """Issue 18: what the printed protocol names — its number, the region, the commission's
    people with their gender and post, the candidates — is part of what the chair and the
    secretary sign, not a register looked up when it is printed."""
    doc = document(sat.state, "s1")
    names = doc["names"]
    assert doc["format"] == "uzdik/protocol/v2"
    assert names["number"] == 1 and names["chair_id"] == CHAIR
    assert names["candidates"] == {"c1": {"name": "Akim c1"}}
    assert names["members"][0] == {
        "person_id": "m1",
        "name": "Member 1",
        "gender": None,
        "position": "head_of_regional_department",
    }
    assert names["secretary"]["name"] == "Secretary"
    region = sat.state.commission.region if sat.state.commission else None
    assert region is not None and set(names["places"][region]) == {"kk", "ru"}
    renamed = copy.deepcopy(doc)
    renamed["names"]["candidates"]["c1"]["name"] = "Akim Forged"
    signed = sign(sat)
    assert signed.names == names and signed.format == "uzdik/protocol/v2"
    assert verify(renamed, signed).problems == ("names_differ:candidate c1",)


def test_a_signed_protocol_keeps_the_names_it_was_signed_with(sat: Desk) -> None:
    """A member replaced after the signing changes the commission, not the signed document:
    its names are the ones the ProtocolSigned keeps, and it still verifies after a replay."""
    signed = sign(sat)
    incoming = Person(person_id="m10", name="Member 10")
    sat.do(c.ReplaceMember(outgoing_id="m9", incoming=incoming, reason="moved away"))
    doc = document(sat.state, "s1")
    assert [m["person_id"] for m in doc["names"]["members"]][-1] == "m9"
    assert verify(doc, signed).valid
    stored = [(e.event_type, e.schema_version, e.to_payload()) for e in sat.log]
    rebuilt = replay([registry.decode(t, v, p) for t, v, p in stored], initial())
    assert verify(document(rebuilt, "s1"), signed).valid


def test_a_protocol_signed_before_names_were_signed_still_verifies_as_v1(sat: Desk) -> None:
    """A ProtocolSigned v1 signed the facts only (format uzdik/protocol/v1): replayed, its
    sitting's document is that v1 document again, and it verifies."""
    facts = {k: v for k, v in document(sat.state, "s1").items() if k != "names"}
    old = {**facts, "format": "uzdik/protocol/v1"}
    payload = {
        "commission_id": "k",
        "sitting_id": "s1",
        "digest": digest(old),
        "signatures": [s.model_dump(mode="json") for s in signatures(digest(old))],
        "signed_at": AT.isoformat(),
    }
    assert sat.state.commission is not None
    payload["commission_id"] = sat.state.commission.commission_id
    v1 = registry.decode("ProtocolSigned", 1, payload)
    assert isinstance(v1, ProtocolSigned) and v1.format == "uzdik/protocol/v1"
    rebuilt = replay([*sat.log, v1], initial())
    again = document(rebuilt, "s1")
    assert again == old and verify(again, v1).valid


def test_an_auditor_rebuilding_with_names_checks_a_v1_signature_against_the_facts(
    sat: Desk,
) -> None:
    """An auditor's rebuild states the names (v2 shape) whatever the log's age; a protocol
    signed as v1 is checked against the facts alone (35 of the demo's protocols signed before
    names were signed failed with digest_mismatch until it was)."""
    rebuilt = document(sat.state, "s1")
    assert "names" in rebuilt
    facts = {k: v for k, v in rebuilt.items() if k != "names"}
    old = {**facts, "format": "uzdik/protocol/v1"}
    assert sat.state.commission is not None
    v1 = registry.decode(
        "ProtocolSigned",
        1,
        {
            "commission_id": sat.state.commission.commission_id,
            "sitting_id": "s1",
            "digest": digest(old),
            "signatures": [s.model_dump(mode="json") for s in signatures(digest(old))],
            "signed_at": AT.isoformat(),
        },
    )
    assert isinstance(v1, ProtocolSigned)
    assert verify(rebuilt, v1).valid
    tampered = {**rebuilt, "records": rebuilt["records"][:-1]}
    assert "digest_mismatch" in verify(tampered, v1).problems


def test_an_auditor_who_knows_fewer_names_checks_those_the_log_states(sat: Desk) -> None:
    """An auditor's replay of one commission's stream may not know every candidate the signers
    named (the republic's finalists register with their regions): the protocol verifies with
    the names the ProtocolSigned keeps, and a name the log states otherwise is named."""
    signed = sign(sat)
    replayed = copy.deepcopy(document(sat.state, "s1"))
    replayed["names"]["candidates"] = {}
    assert verify(replayed, signed).valid
    replayed["names"]["members"][0]["name"] = "Someone Else"
    replayed["names"]["candidates"] = {"c1": {"name": "Akim Other"}}
    assert verify(replayed, signed).problems == (
        "names_differ:members",
        "names_differ:candidate c1",
    )


def test_a_sitting_opened_before_the_kazakh_place_keeps_its_protocols_digest() -> None:
    """SittingOpened v3 adds the place in Kazakh: a sitting opened with its place in Russian
    only is written into its protocol as v2 wrote it, and one with a Kazakh place says it."""
    desk = regional_desk()
    sitting(desk)
    opened = next(e for e in desk.log if e.event_type == "SittingOpened")
    with_place = opened.model_copy(update={"purpose_kk": "I кезең", "place": "Жезқазған"})
    version, payload = as_written(with_place)
    assert version == 2 and "place_kk" not in payload and payload["place"] == "Жезқазған"
    both = with_place.model_copy(update={"place_kk": "Жезқазған қ."})
    assert as_written(both) == (3, both.to_payload())
