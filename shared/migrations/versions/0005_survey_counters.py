"""the survey's live tally as a counter, its idempotency answers as documents (data only)

A batch of residents' answers is written in one statement (0004) that expects the ``survey``
document unchanged; so the document no longer carries what every batch changes — its stream
version and the live tally (``count``, ``sums``, ``flagged``). The tally moves to the counter
``survey_tally/<survey>`` (a JSON array: responses, flagged, then the sum per criterion), and
the answers stored for an ``Idempotency-Key`` (``idempotency_keys`` rows of scope
``survey_response``) to ``survey_idempotent/<survey>:<key>`` documents, which the same statement
writes. Other services' databases have no such rows: nothing changes there.

Revision ID: 0005
Revises: 0004
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

MOVED = ("version", "count", "sums", "flagged")
docs = sa.table("documents", sa.column("model"), sa.column("key"), sa.column("doc"))
keys = sa.table(
    "idempotency_keys",
    sa.column("scope"),
    sa.column("key"),
    sa.column("request_hash"),
    sa.column("response"),
)


def _text(value: object) -> str:
    """Canonical JSON, as the store writes documents (frozen here: a migration does not follow
    the live code)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def upgrade() -> None:
    bind = op.get_bind()
    existing = {
        (m, k)
        for m, k in bind.execute(
            sa.select(docs.c.model, docs.c.key).where(
                docs.c.model.in_(["survey_tally", "survey_idempotent"])
            )
        )
    }
    surveys = list(bind.execute(sa.select(docs.c.key, docs.c.doc).where(docs.c.model == "survey")))
    for key, text in surveys:
        doc = json.loads(text)
        if not any(field in doc for field in MOVED):
            continue
        count, flagged = int(doc.get("count", 0)), int(doc.get("flagged", 0))
        if (count or flagged) and ("survey_tally", key) not in existing:
            counter = [count, flagged, *(int(s) for s in doc.get("sums", ()))]
            bind.execute(docs.insert().values(model="survey_tally", key=key, doc=_text(counter)))
        kept = {k: v for k, v in doc.items() if k not in MOVED}
        bind.execute(
            docs.update().where(docs.c.model == "survey", docs.c.key == key).values(doc=_text(kept))
        )
    answers = bind.execute(
        sa.select(keys.c.key, keys.c.request_hash, keys.c.response).where(
            keys.c.scope == "survey_response"
        )
    )
    for key, request_hash, response in list(answers):
        if ("survey_idempotent", key) in existing:
            continue
        answer = {"request_hash": request_hash, "response": json.loads(response)}
        bind.execute(docs.insert().values(model="survey_idempotent", key=key, doc=_text(answer)))
    bind.execute(keys.delete().where(keys.c.scope == "survey_response"))


def downgrade() -> None:
    raise NotImplementedError("the survey's documents are not moved back")
