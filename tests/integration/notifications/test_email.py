"""Email to the people the methodology says are told (§10–§11), through a real SMTP server."""

from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from services.nominations.domain.documents import DocumentKind
from services.notifications import handlers
from shared.audit import verify_chain
from shared.metrics import CONSUMER_DUPLICATES
from shared.relay import record_of_row, topic_for
from tests.integration.nominations.support import REGION

from .conftest import IN_WINDOW, Smtp, World, wait_for

UNLIFTED = {"kind": "disciplinary", "imposed_on": "2019-11-04", "lifted": False}
SKIP = [DocumentKind.project_presentation, DocumentKind.project_video]
KK = "nominator.kk@example.kz"
RU = "nominator.ru@example.kz"
KK_REASONS = (
    "Әкім лауазымындағы өтілі жеткіліксіз",
    "Тәртіптік жаза алынбаған",
    "Құжат жоқ",
)
RU_REASONS = (
    "Недостаточный срок в должности акима",
    "Дисциплинарное взыскание не снято",
    "Отсутствует документ",
)


async def reject(world: World, edition: str, nominator: str) -> str:
    """An application by ``nominator`` that the secretary rejects for three reasons."""
    api = world.api
    api.clock.set(IN_WINDOW)
    api.nominator = api.bearer(nominator, ["nominator"], REGION)
    application = await api.submitted(edition, appointed_akim_on="2019-07-01", sanctions=[UNLIFTED])
    await api.attach_all(application, skip=SKIP)
    decision = await api.check(application)
    assert decision.status_code == 201, decision.text
    assert [e["code"] for e in decision.json()["errors"]] == [
        "akim_term_too_short",
        "sanction_not_lifted",
        "document_missing",
    ]
    return application


async def record(world: World, recipient: str, email: str, language: str, **who: str) -> None:
    headers = world.bearer(
        who.get("sub", "organiser-1"), [who.get("role", "organiser")], who.get("region")
    )
    body = {"recipient": recipient, "email": email, "language": language}
    r = await world.client.post("/v1/contacts", json=body, headers=headers)
    assert r.status_code == 201, r.text


async def all_records(bootstrap: str, prefix: str) -> dict[str, list[bytes]]:
    """Every record of every topic of the test (its prefix), from offset zero."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(f"{prefix}.")]
    finally:
        await admin.close()
    found: dict[str, list[bytes]] = {}
    for topic in topics:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            values: list[bytes] = []
            quiet = 0
            while quiet < 4:  # two seconds without a record: the topic is read
                batch = await consumer.getmany(timeout_ms=500)
                quiet = 0 if batch else quiet + 1
                for records in batch.values():
                    values.extend(r.value for r in records)
            found[topic] = values
        finally:
            await consumer.stop()
    return found


async def test_a_rejection_reaches_the_nominator_by_email_with_every_reason_in_kazakh_and_russian(
    world: World, smtp: Smtp
) -> None:
    inbox = smtp.inbox
    await record(world, "user:nominator-kk", KK, "kk")  # by the organiser
    await record(
        world, "user:nominator-ru", RU, "ru", sub="nominator-ru", role="nominator", region=REGION
    )  # by themself
    edition = await world.api.announce()
    kk_app = await reject(world, edition, "nominator-kk")
    ru_app = await reject(world, edition, "nominator-ru")

    async def both_arrived_and_recorded() -> bool:  # the mail first, then its record
        sent = {e.payload["notification_id"] for e in await world.events("NotificationSent")}
        queued = [e.payload for e in await world.events("NotificationQueued")]
        nominators = {
            q["notification_id"] for q in queued if q["recipient"].startswith("user:nominator-")
        }
        return bool(inbox.to(KK)) and bool(inbox.to(RU)) and len(nominators & sent) == 2

    await wait_for(both_arrived_and_recorded)
    [kk] = inbox.to(KK)
    [ru] = inbox.to(RU)
    assert "өтінім қабылданбады" in str(kk["Subject"])
    assert "заявка не допущена" in str(ru["Subject"])
    kk_body, ru_body = kk.get_content(), ru.get_content()
    assert kk_app in kk_body and ru_app in ru_body
    assert all(reason in kk_body for reason in KK_REASONS), kk_body
    assert all(reason in ru_body for reason in RU_REASONS), ru_body

    # on the record: queued for the nominator and the candidate, sent to the nominator
    queued = [e.payload for e in await world.events("NotificationQueued")]
    assert {(q["recipient"], q["template"], q["language"]) for q in queued} >= {
        ("user:nominator-kk", "application_rejected", "kk"),
        ("user:nominator-ru", "application_rejected", "ru"),
        (f"candidate:{kk_app}", "application_rejected", "kk"),
    }
    sent = {e.payload["notification_id"] for e in await world.events("NotificationSent")}
    by_recipient = {q["recipient"]: q["notification_id"] for q in queued}
    assert {by_recipient["user:nominator-kk"], by_recipient["user:nominator-ru"]} <= sent

    # a redelivered rejection (the same record on the topic again) sends no second email
    rows = [
        r
        for r in await world.nominations.store.read_rows(limit=10_000)
        if r.event_type == "ApplicationRejected"
    ]
    before = CONSUMER_DUPLICATES.labels("notifications-nominations")._value.get()
    producer = AIOKafkaProducer(bootstrap_servers=world.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for row in rows:
            rec = record_of_row("nominations", row)
            await producer.send_and_wait(
                topic_for("nominations", world.settings.topic_prefix), rec.value, key=rec.key
            )
    finally:
        await producer.stop()

    async def seen_twice() -> bool:
        return CONSUMER_DUPLICATES.labels("notifications-nominations")._value.get() >= before + 2

    await wait_for(seen_twice)
    await asyncio.sleep(1.0)  # a few of the sender's rounds: a second mail would be out
    assert len(inbox.to(KK)) == 1 and len(inbox.to(RU)) == 1
    assert len(await world.events("NotificationQueued")) == len(queued)

    # no address in any topic of the deployment (the nominations, notifications… topics)
    topics = await all_records(
        world.settings.kafka_bootstrap_servers or "", world.settings.topic_prefix
    )
    assert f"{world.settings.topic_prefix}.notifications.events" in topics
    assert topics[f"{world.settings.topic_prefix}.notifications.events"]  # it did publish
    for topic, values in topics.items():
        for value in values:
            assert b"@example.kz" not in value, topic
            assert b"example.kz" not in value, topic

    # erased on request by the person: gone from the store, the chain still verifies
    nominator = world.bearer("nominator-kk", ["nominator"], REGION)
    r = await world.client.post(
        "/v1/contacts/user:nominator-kk/erasure", json={}, headers=nominator
    )
    assert r.status_code == 200, r.text
    again = await world.client.post(
        "/v1/contacts/user:nominator-kk/erasure", json={}, headers=nominator
    )
    assert again.status_code == 404 and again.json()["code"] == "contact_not_found"
    other = await world.client.post(
        "/v1/contacts/user:nominator-ru/erasure", json={}, headers=nominator
    )
    assert other.status_code == 403
    async with world.notifications.store.reader() as uow:
        assert await uow.docs.get("contacts", "user:nominator-kk") is None
        assert await uow.docs.get("contacts", "user:nominator-ru") == {"email": RU}
    assert [e.payload["recipient"] for e in await world.events("ContactErased")] == [
        "user:nominator-kk"
    ]
    assert (await verify_chain(world.notifications.store)).ok


async def test_an_smtp_outage_during_a_nomination_delays_the_mail_and_loses_none(
    world: World, smtp: Smtp
) -> None:
    address = "nominator.outage@example.kz"
    await record(world, "user:nominator-out", address, "ru")
    edition = await world.api.announce()
    smtp.stop()
    await reject(world, edition, "nominator-out")

    async def queued_id() -> str | None:
        for e in await world.events("NotificationQueued"):
            if e.payload["recipient"] == "user:nominator-out":
                return str(e.payload["notification_id"])
        return None

    async def failed_for_it() -> bool:
        nid = await queued_id()
        return any(
            e.payload["notification_id"] == nid for e in await world.events("NotificationFailed")
        )

    await wait_for(failed_for_it)
    assert smtp.inbox.to(address) == []
    smtp.start()

    async def arrived_and_recorded() -> bool:  # the mail first, then its record
        nid = await queued_id()
        stream = await world.notifications.store.load(handlers.stream_of(str(nid)))
        return bool(smtp.inbox.to(address)) and stream[-1].event_type == "NotificationSent"

    await wait_for(arrived_and_recorded)
    nid = await queued_id()
    stream = await world.notifications.store.load(handlers.stream_of(str(nid)))
    types = [e.event_type for e in stream]
    assert types[0] == "NotificationQueued" and types[-1] == "NotificationSent"
    assert "NotificationFailed" in types
    assert not any(e.payload.get("final") for e in stream if e.event_type == "NotificationFailed")
    assert stream[-1].payload["attempt"] == types.count("NotificationFailed") + 1
    assert len(smtp.inbox.to(address)) == 1
    assert "заявка не допущена" in str(smtp.inbox.to(address)[0]["Subject"])
    json.dumps([e.payload for e in stream])  # nothing but JSON on the record


async def test_an_address_the_relay_refuses_is_a_dead_letter_at_once_and_not_on_the_record(
    world: World, smtp: Smtp
) -> None:
    address = "nobody.here@example.kz"
    smtp.inbox.refused.add(address)
    await record(world, "user:nominator-gone", address, "kk")
    edition = await world.api.announce()
    await reject(world, edition, "nominator-gone")

    async def dead() -> bool:
        auditor = world.bearer("auditor-1", ["auditor"])
        r = await world.client.get(
            "/v1/notifications?recipient=user:nominator-gone", headers=auditor
        )
        return [n["status"] for n in r.json()["items"]] == ["dead"]

    await wait_for(dead)
    [failed] = [
        e.payload
        for e in await world.events("NotificationFailed")
        if e.payload["final"] and "550" in e.payload["error"]
    ]
    assert failed["attempt"] == 1  # a 5xx is not retried
    assert "@" not in failed["error"] and "example.kz" not in failed["error"]
    assert smtp.inbox.to(address) == []


async def test_a_round_of_mails_shares_one_smtp_session_and_a_dropped_one_is_opened_again(
    smtp: Smtp,
) -> None:
    """One connection, greeting and login per round, not per mail; a refused recipient leaves
    the session to the next mail; a relay restarted between two mails costs no mail."""
    import aiosmtplib
    import pytest

    from services.notifications.adapters.email import SmtpMailer
    from services.notifications.config import NotifySettings
    from services.notifications.domain.messages import Message

    settings = NotifySettings(smtp_port=smtp.port, smtp_timeout_seconds=2)
    mailer = SmtpMailer(settings)
    smtp.inbox.refused.add("nobody@example.kz")

    def message(n: int) -> Message:
        return Message(template="t", language="kk", subject=f"№{n}", body=f"хат {n}")

    try:
        for n in range(3):
            await mailer.send(f"n-{n}", f"r{n}@example.kz", message(n))
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await mailer.send("n-x", "nobody@example.kz", message(9))
        await mailer.send("n-3", "r3@example.kz", message(3))
        assert mailer.sessions == 1
        smtp.stop()  # the relay goes away between two mails, and comes back
        smtp.start()
        await mailer.send("n-4", "r4@example.kz", message(4))
        assert mailer.sessions == 2
    finally:
        await mailer.close()
    assert [m["Subject"] for m in smtp.inbox.messages] == [f"№{n}" for n in range(5)]
    await mailer.close()  # nothing open: nothing to do
