"""Protocols from the log, and what an auditor's tools find when the log is tampered with."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from demo.scenario import Scale, Scenario, SimClock, behind_local_proxy
from services.audit import compare_topic, verify_protocols
from services.embedded import Embedded
from services.scoring.domain.signatures import generate_key_pair, sign_digest
from services.scoring.events import ProtocolSigned, Signature, registry
from shared.auth import issue_dev_token
from shared.events import Actor
from shared.settings import Settings
from shared.store.eventstore import open_store
from tests.conftest import run_uzdik
from tests.harness import Distributed
from tests.kernel_events import ACTOR, Noted

SMALL = Scale(regions=["620000000"], per_district=2, responses_per_survey=2, seed=11)


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small embedded edition (one region, every stage), run once for this module."""
    import asyncio

    data = tmp_path_factory.mktemp("edition")

    async def run() -> None:
        clock, settings = SimClock(), behind_local_proxy(Settings())
        async with Embedded(settings, data, clock=clock.now) as system:
            await Scenario(system.clients, settings, clock=clock).edition(SMALL, system.drain)
            await system.drain()

    asyncio.run(run())
    return data


def docs(data: Path, model: str) -> dict[str, dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{data / 'reporting.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT key, doc FROM documents WHERE model = :m"), {"m": model}
        ).all()
    engine.dispose()
    return {k: json.loads(d) for k, d in rows}


def test_each_protocols_totals_equal_the_sum_of_its_live_sheets(edition: Path) -> None:
    protocols = docs(edition, "protocols")
    assert {p["stage"] for p in protocols.values()} == {
        "stage1_selection",
        "stage1_interview",
        "stage2",
    }
    checked = 0
    for protocol in protocols.values():
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for sheet in protocol["sheets"].values():
            if not sheet["superseded_by"]:
                sums[(sheet["candidate_id"], sheet["kind"])] += sheet["total"]
        for ranking in protocol["rankings"]:
            for entry in ranking["entries"]:
                for kind, total in entry["sheet_sums"].items():
                    assert sums[(entry["candidate_id"], kind)] == total
                    checked += 1
    assert checked > 10


def uzdik(*args: str) -> subprocess.CompletedProcess[str]:
    return run_uzdik(*args)


def test_a_replayed_protocol_is_byte_identical_in_html_and_pdf(edition: Path) -> None:
    async def render(sitting: str) -> tuple[bytes, bytes]:
        settings = Settings()
        async with Embedded(settings, edition) as system:
            token = issue_dev_token(settings, "auditor-1", ["auditor"])
            h = {"Authorization": f"Bearer {token}"}
            client = system.clients["reporting"]
            html = (await client.get(f"/v1/protocols/{sitting}.html?lang=kk", headers=h)).content
            pdf = (await client.get(f"/v1/protocols/{sitting}.pdf", headers=h)).content
        return html, pdf

    import asyncio

    final = next(k for k, p in docs(edition, "protocols").items() if p["stage"] == "stage2")
    before = asyncio.run(render(final))
    for _ in range(2):  # replay twice from the same log
        result = uzdik("replay", "--data-dir", str(edition))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.strip().splitlines()[-1])["identical"] is True
        assert asyncio.run(render(final)) == before
    assert before[1].startswith(b"%PDF") and "ХАТТАМА" in before[0].decode()


def test_audit_trail_prints_a_candidates_sheets(edition: Path) -> None:
    winner = next(iter(docs(edition, "results")["winners"]["winners"]))["candidate_id"]
    result = uzdik("audit", "trail", "--candidate", winner, "--data-dir", str(edition))
    assert result.returncode == 0, result.stderr
    assert "ScoreRecorded" in result.stdout and "FinalistSelected" in result.stdout


def scoring_facts(data: Path, event_type: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{data / 'scoring.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT payload FROM events WHERE event_type = :t"), {"t": event_type}
        ).all()
    engine.dispose()
    return [json.loads(p) for (p,) in rows]


def test_audit_trail_finds_a_candidate_by_name_and_names_the_actors(edition: Path) -> None:
    winner = next(iter(docs(edition, "results")["winners"]["winners"]))["candidate_id"]
    (name,) = [
        c["name"]
        for c in scoring_facts(edition, "CandidateRegistered")
        if c["candidate_id"] == winner
    ]
    by_name = uzdik("audit", "trail", "--candidate", name.upper(), "--data-dir", str(edition))
    assert by_name.returncode == 0, by_name.stderr
    assert winner in by_name.stdout and name in by_name.stdout
    members = {m["name"] for c in scoring_facts(edition, "CommissionFormed") for m in c["members"]}
    assert any(member in by_name.stdout for member in members)  # who scored, by name
    part = name.split()[0][:2]
    several = uzdik("audit", "trail", "--candidate", part, "--data-dir", str(edition))
    if several.returncode == 2:  # a part of a name that fits several lists them
        assert winner in several.stdout and "match" in several.stdout
    nobody = uzdik("audit", "trail", "--candidate", "nobody-at-all", "--data-dir", str(edition))
    assert nobody.returncode == 1 and "no candidate" in nobody.stderr


async def test_a_forged_protocol_signature_is_found(edition: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copy(edition / "scoring.db", tmp_path / "scoring.db")
    store = open_store("scoring", f"sqlite+aiosqlite:///{tmp_path / 'scoring.db'}")
    assert await verify_protocols(store) == []
    signed = [e for e in await store.read_all(limit=100000) if e.event_type == "ProtocolSigned"]
    genuine = registry.load(signed[-1])
    assert isinstance(genuine, ProtocolSigned)
    key, public = generate_key_pair()  # not the chair's key
    forged = genuine.model_copy(
        update={
            "signatures": (
                Signature(
                    role="chair",
                    person_id=genuine.signatures[0].person_id,
                    public_key=public,
                    signature=sign_digest(key, "00" * 32),
                ),
                *genuine.signatures[1:],
            )
        }
    )
    # appended through the store, so the hash chain itself is intact
    await store.append(signed[-1].stream_id, None, [forged], Actor(id="intruder", role="chair"))
    problems = await verify_protocols(store)
    await store.close()
    assert len(problems) == 1 and "signature_invalid:chair" in problems[0]


def test_an_altered_event_is_named_by_audit_verify(edition: Path, tmp_path: Path) -> None:
    import shutil

    for name in ("nominations", "scoring", "survey"):
        shutil.copy(edition / f"{name}.db", tmp_path / f"{name}.db")
    assert uzdik("audit", "verify", "--data-dir", str(tmp_path)).returncode == 0
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'scoring.db'}")
    with engine.begin() as conn:
        row = conn.execute(
            sa.text(
                "SELECT global_position, event_id FROM events "
                "WHERE event_type = 'ScoreRecorded' LIMIT 1"
            )
        ).one()
        conn.execute(
            sa.text(
                "UPDATE events SET payload = replace(payload, :a, :b) WHERE global_position = :p"
            ),
            {"a": '"total":', "b": '"total":1', "p": row[0]},
        )
    engine.dispose()
    result = uzdik("audit", "verify", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert row[1] in result.stdout + result.stderr


async def test_an_event_missing_from_the_topic_is_found(
    pg_url_factory: Any, kafka_bootstrap: str, topic_prefix: str
) -> None:
    async with Distributed(pg_url_factory, kafka_bootstrap, topic_prefix) as system:
        rt = system.runtimes["nominations"]
        for i in range(5):
            await rt.store.append(f"n-{i}", 0, [Noted(text="x", n=i)], ACTOR)
        await system.settled()
        topic = f"{topic_prefix}.nominations.events"
        assert await compare_topic(rt.store, kafka_bootstrap, topic) is None
        await system.runtimes["nominations"].stop()  # the relay stops; nothing else publishes
        [lost] = await rt.store.append("n-lost", 0, [Noted(text="lost", n=9)], ACTOR)
        async with rt.store.engine.begin() as conn:  # a relay that claims it published it
            await conn.execute(
                sa.text("UPDATE relay_state SET published_position = :p"),
                {"p": lost.global_position},
            )
        problem = await compare_topic(
            open_store("nominations", system.url("nominations")), kafka_bootstrap, topic
        )
    assert problem is not None and str(lost.event_id) in problem and "missing" in problem


def test_a_protocol_is_published_only_as_the_document_that_was_signed(
    edition: Path, tmp_path: Path
) -> None:
    """Every signed protocol's records, rebuilt by reporting, give the digest the chair and the
    secretary signed, and the protocol says it was checked; a record altered in reporting's
    read model is refused (409 protocol_unverified), not printed under a signed digest."""
    import asyncio
    import shutil
    import sqlite3

    copy = tmp_path / "edition"
    shutil.copytree(edition, copy)
    signed = [k for k, p in docs(copy, "protocols").items() if p.get("signatures")]
    assert signed

    async def fetch(sitting: str) -> Any:
        settings = Settings()
        async with Embedded(settings, copy) as system:
            token = issue_dev_token(settings, "auditor-1", ["auditor"])
            h = {"Authorization": f"Bearer {token}"}
            return await system.clients["reporting"].get(f"/v1/protocols/{sitting}.html", headers=h)

    for sitting in signed:
        page = asyncio.run(fetch(sitting))
        assert page.status_code == 200, page.text
        assert "Сумма проверена" in page.text
    victim = signed[0]
    with sqlite3.connect(copy / "reporting.db") as db:
        (text,) = db.execute(
            "SELECT doc FROM documents WHERE model = 'protocols' AND key = ?", (victim,)
        ).fetchone()
        doc = json.loads(text)
        record = next(r for r in doc["records"] if r["event_type"] in ("ScoreRecorded",))
        record["payload"]["total"] = int(record["payload"]["total"]) + 1
        db.execute(
            "UPDATE documents SET doc = ? WHERE model = 'protocols' AND key = ?",
            (json.dumps(doc), victim),
        )
    refused = asyncio.run(fetch(victim))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "protocol_unverified"
    assert "not published" in refused.json()["detail"]


def test_a_protocols_pdf_proves_itself_and_names_what_was_altered(
    edition: Path, tmp_path: Path
) -> None:
    """`uzdik verify-protocol` passes on a fresh protocol and names the change on one whose
    attachment, whose visible text or whose signature was altered, and a key the edition did
    not register."""
    import asyncio

    from pypdf import PdfReader

    from services.reporting.documents.protocol import render_pdf

    sitting = next(k for k, p in docs(edition, "protocols").items() if p.get("signatures"))

    async def fetch() -> tuple[str, bytes]:
        settings = Settings()
        async with Embedded(settings, edition) as system:
            token = issue_dev_token(settings, "auditor-1", ["auditor"])
            h = {"Authorization": f"Bearer {token}"}
            client = system.clients["reporting"]
            html = (await client.get(f"/v1/protocols/{sitting}.html?lang=kk", headers=h)).text
            pdf = (await client.get(f"/v1/protocols/{sitting}.pdf?lang=kk", headers=h)).content
        return html, pdf

    html, pdf = asyncio.run(fetch())
    attached = {n: c[0] for n, c in PdfReader(io.BytesIO(pdf)).attachments.items()}
    assert set(attached) == {"protocol.json", "signatures.json", "rendering.json"}
    sealed = json.loads(attached["signatures.json"])
    assert hashlib.sha256(attached["protocol.json"]).hexdigest() == sealed["digest"]

    def check(name: str, data: bytes, *extra: str) -> subprocess.CompletedProcess[str]:
        path = tmp_path / name
        path.write_bytes(data)
        return uzdik("verify-protocol", str(path), *extra)

    fresh = check("fresh.pdf", pdf)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "verified" in fresh.stdout and sealed["digest"] in fresh.stdout

    document = json.loads(attached["protocol.json"])
    record = next(r for r in document["records"] if r["event_type"] == "ScoreRecorded")
    record["payload"]["total"] += 1
    page = signed_page(attached)
    altered = {**attached, "protocol.json": canonical_bytes(document)}
    doc_changed = check("document.pdf", render_pdf(page, altered, sealed["signed_at"]))
    assert doc_changed.returncode == 1
    assert "not the signed" in " ".join(doc_changed.stdout.split())

    assert "Кворум" in html
    shown = replaced(page, "Кворум", "Кв0рум")
    text_changed = check("text.pdf", render_pdf(shown, attached, sealed["signed_at"]))
    assert text_changed.returncode == 1
    assert "visible text is not the signed document" in " ".join(text_changed.stdout.split())

    forged = json.loads(attached["signatures.json"])
    chair = next(s for s in forged["signatures"] if s["role"] == "chair")
    chair["signature"] = chair["signature"][::-1]
    resigned = {**attached, "signatures.json": json.dumps(forged).encode()}
    sig_changed = check("signature.pdf", render_pdf(page, resigned, sealed["signed_at"]))
    assert sig_changed.returncode == 1
    assert "chair's signature" in " ".join(sig_changed.stdout.split())

    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({s["person_id"]: "AAAA" for s in sealed["signatures"]}))
    unregistered = check("keys.pdf", pdf, "--keys", str(keys))
    assert unregistered.returncode == 1
    assert "did not register" in " ".join(unregistered.stdout.split())


def test_a_name_altered_in_the_text_and_in_rendering_json_is_caught(
    edition: Path, tmp_path: Path
) -> None:
    """The names a protocol shows are signed with it (uzdik/protocol/v2): rendering.json holds
    only the language, and a forger who renames a candidate or the chair in the visible text
    and writes the new name into rendering.json is named by `uzdik verify-protocol`."""
    import asyncio

    from pypdf import PdfReader

    from services.reporting.documents.protocol import render_pdf

    signed = [k for k, p in docs(edition, "protocols").items() if p.get("signatures")]

    async def fetch(sitting: str) -> tuple[str, bytes]:
        settings = Settings()
        async with Embedded(settings, edition) as system:
            token = issue_dev_token(settings, "auditor-1", ["auditor"])
            h = {"Authorization": f"Bearer {token}"}
            client = system.clients["reporting"]
            html = (await client.get(f"/v1/protocols/{sitting}.html?lang=ru", headers=h)).text
            pdf = (await client.get(f"/v1/protocols/{sitting}.pdf?lang=ru", headers=h)).content
        return html, pdf

    sitting = next(k for k in signed if docs(edition, "protocols")[k]["signatures"]["names"])
    html, pdf = asyncio.run(fetch(sitting))
    attached = {n: c[0] for n, c in PdfReader(io.BytesIO(pdf)).attachments.items()}
    document = json.loads(attached["protocol.json"])
    assert json.loads(attached["rendering.json"]) == {"lang": "ru"}
    assert document["format"] == "uzdik/protocol/v2"
    names = document["names"]
    candidate_id, candidate = next(iter(names["candidates"].items()))
    chair = next(m for m in names["members"] if m["person_id"] == names["chair_id"])
    assert candidate["name"] in html and chair["name"] in html
    sealed = json.loads(attached["signatures.json"])

    def forged(real: str, fake: str, rendering: dict[str, Any]) -> str:
        files = {**attached, "rendering.json": json.dumps(rendering).encode()}
        path = tmp_path / f"{fake}.pdf"
        page = replaced(signed_page(attached), real, fake)
        path.write_bytes(render_pdf(page, files, sealed["signed_at"]))
        result = uzdik("verify-protocol", str(path))
        assert result.returncode == 1, result.stdout
        return " ".join(result.stdout.split())

    fake = "Подставной Кандидат Иванович"
    said = forged(
        candidate["name"], fake, {"lang": "ru", "candidates": {candidate_id: {"name": fake}}}
    )
    assert "visible text is not the signed document" in said and fake in said
    assert candidate["name"] in said  # the name the chair and the secretary signed
    fake = "Подставной Председатель Петрович"
    members = [{**m, "name": fake} if m is chair else m for m in names["members"]]
    said = forged(chair["name"], fake, {"lang": "ru", "commission": {"members": members}})
    assert "visible text is not the signed document" in said and fake in said


def signed_page(attached: dict[str, bytes]) -> dict[str, Any]:
    """The printable page of a signed protocol, from its PDF's attachments (what a forger
    would start from)."""
    from services.reporting.documents import signed

    document, sealed, rendering = (
        json.loads(attached[n]) for n in ("protocol.json", "signatures.json", "rendering.json")
    )
    return signed.render_signed(document, sealed, rendering, registry).page


def replaced(value: Any, real: str, fake: str) -> Any:
    """``value`` with ``real`` written as ``fake`` in every string it holds."""
    if isinstance(value, str):
        return value.replace(real, fake)
    if isinstance(value, dict):
        return {k: replaced(v, real, fake) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(replaced(v, real, fake) for v in value)
    return value


def canonical_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
