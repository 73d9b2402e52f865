"""The demo edition tells everyone the methodology says must be told (§12, §17, §23): by mail
through a real SMTP server and by webhook to a real HTTP endpoint, each on the record."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console

from demo.notify import PostOffice
from demo.run import run_demo
from demo.scenario import Scale
from services.notifications.config import catalogue
from services.notifications.domain.signing import verify
from shared.settings import Settings

# Zhambyl reads Kazakh, Karaganda Russian in the demo's contacts
REGIONS = ["310000000", "350000000"]


def rows(db: Path, query: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return [(str(a), str(b)) for a, b in conn.execute(sa.text(query)).all()]
    finally:
        engine.dispose()


async def test_the_demo_edition_tells_everyone_by_mail_and_webhook(tmp_path: Path) -> None:
    out = io.StringIO()
    with PostOffice() as post:
        code = await run_demo(
            Settings(),
            tmp_path,
            fresh=True,
            console=Console(file=out, width=120),
            scale=Scale(regions=REGIONS, per_district=2, responses_per_survey=2),
            pdf="none",
            post=post,
        )
    assert code == 0, out.getvalue()[-3000:]

    # every message the notifications service sent arrived, and each is on its log
    log = Counter(
        t for t, _ in rows(tmp_path / "notifications.db", "SELECT event_type, 1 FROM events")
    )
    assert log["NotificationFailed"] == 0
    assert log["NotificationSent"] == log["NotificationQueued"] == len(post.mails) + len(post.hooks)

    kinds = Counter((m["x-uzdik-template"], m["content-language"]) for m in post.mails)
    for template in (
        "application_admitted",
        "application_rejected",
        "nominated",
        "finalist",
        "winner",
        "award_ceremony",
        "sitting_called",
        "stage_closable",
    ):
        assert kinds[(template, "kk")] + kinds[(template, "ru")] > 0, (template, kinds)
    assert kinds[("application_admitted", "kk")] and kinds[("application_admitted", "ru")]

    # a rejection names every reason, in the recipient's language
    reasons = catalogue()["reasons"]
    rejected = rows(
        tmp_path / "nominations.db",
        "SELECT payload, 1 FROM events WHERE event_type = 'ApplicationRejected'",
    )
    assert rejected
    for payload, _ in rejected:
        found = json.loads(payload)
        to = f"candidate.{found['application_id']}@demo.uzdik.kz"
        [mail] = [
            m
            for m in post.mails
            if m["to"] == to and m["x-uzdik-template"] == "application_rejected"
        ]
        for error in found["errors"]:
            text = reasons.get(error["code"], {}).get(mail["content-language"]) or error["detail"]
            assert text in mail["body"], (error, mail["body"])

    # the integrator's endpoint got the results, each signed with its subscription's secret
    assert post.hooks
    [(doc, _)] = rows(
        tmp_path / "notifications.db",
        "SELECT doc, 1 FROM documents WHERE model = 'webhook_secrets'",
    )
    secret = json.loads(doc)["secret"]
    for headers, body in post.hooks:
        assert verify(
            secret,
            headers["webhook-id"],
            int(headers["webhook-timestamp"]),
            body,
            headers["webhook-signature"],
        )
    said = out.getvalue()
    assert "Who was told what" in said and "with a valid signature" in said
