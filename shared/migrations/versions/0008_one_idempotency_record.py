"""one idempotency record for every service: documents of model ``idempotency``

The answers kept for an ``Idempotency-Key`` lived in two places: the commands' rows of
``idempotency_keys`` (scope, key, request hash, status, response) and the survey's
``survey_idempotent/<survey>:<key>`` documents (0005), which its one-statement batch writes.
From this revision both are documents ``idempotency/<scope>|<key>`` holding
``{"request_hash", "status", "response"}`` (``shared.store.idempotency``); the table goes.

The scope of a command is now always qualified by the principal that sent it. The
nominations' scopes already were (``nominations.<command>:<subject>``), and keep their
records; a scoring or notifications record made before this revision (scope
``scoring.<command>``) names no principal and is moved as it is, where no new request finds it:
a retry of such a request after the upgrade runs as a new request, and the command's own rule
(a sheet already given, a commission that exists) answers it.

Revision ID: 0008
Revises: 0007
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

docs = sa.table("documents", sa.column("model"), sa.column("key"), sa.column("doc"))
keys = sa.table(
    "idempotency_keys",
    sa.column("scope"),
    sa.column("key"),
    sa.column("request_hash"),
    sa.column("status_code"),
    sa.column("response"),
)


def _text(value: object) -> str:
    """Canonical JSON, as the store writes documents (frozen here)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _doc_key(scope: str, key: str) -> str:
    found = f"{scope}|{key}"
    if len(found) > 300:
        found = f"{hashlib.sha256(scope.encode()).hexdigest()}|{key}"
    return found


def upgrade() -> None:
    bind = op.get_bind()
    existing = {
        k for (k,) in bind.execute(sa.select(docs.c.key).where(docs.c.model == "idempotency"))
    }
    moved: list[tuple[str, str]] = []
    rows = bind.execute(
        sa.select(
            keys.c.scope, keys.c.key, keys.c.request_hash, keys.c.status_code, keys.c.response
        )
    )
    for scope, key, request_hash, status, response in list(rows):
        record = {"request_hash": request_hash, "status": status, "response": json.loads(response)}
        moved.append((_doc_key(scope, key), _text(record)))
    survey = bind.execute(
        sa.select(docs.c.key, docs.c.doc).where(docs.c.model == "survey_idempotent")
    )
    for old_key, text in list(survey):
        survey_id, _, key = old_key.partition(":")
        answer = json.loads(text)
        record = {"request_hash": answer["request_hash"], "status": 201, **answer}
        moved.append((_doc_key(f"survey.respond:{survey_id}", key), _text(record)))
    for new_key, text in moved:
        if new_key not in existing:
            existing.add(new_key)
            bind.execute(docs.insert().values(model="idempotency", key=new_key, doc=text))
    bind.execute(docs.delete().where(docs.c.model == "survey_idempotent"))
    op.drop_table("idempotency_keys")


def downgrade() -> None:
    raise NotImplementedError("the idempotency records are not moved back")
