"""no plain digest of a request body stays stored (data only)

Idempotency records kept a plain SHA-256 of the request body, and a survey's body holds a
resident's IIN: knowing the birth year, one core finds the IIN behind such a digest in seconds.
From this revision on, a body's fingerprint is ``HMAC-SHA256(pepper, body)``
(``shared.http.fingerprint``). The digests stored before are blanked here: the migration does
not know the pepper, so they cannot be rewritten into fingerprints. A retry with an old key is
then told ``idempotency_key_reused`` (422) and nothing runs twice: old keys simply no longer
match. The paper imports' stored answers also lose the plain SHA-256 of the CSV file (a file
of IINs) they carried.

* ``idempotency_keys.request_hash`` — every row (all services): ``''``.
* ``idempotency_keys.response`` of scope ``paper_import:*`` — without ``sha256``.
* ``documents`` ``survey_idempotent`` — ``request_hash`` ``''``.

Revision ID: 0006
Revises: 0005
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

BLANK = ""
docs = sa.table("documents", sa.column("model"), sa.column("key"), sa.column("doc"))
keys = sa.table(
    "idempotency_keys",
    sa.column("scope"),
    sa.column("key"),
    sa.column("request_hash"),
    sa.column("response"),
)


def _text(value: object) -> str:
    """Canonical JSON, as the store writes documents (frozen here, as in 0005)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(keys.update().values(request_hash=BLANK))
    imports = bind.execute(
        sa.select(keys.c.scope, keys.c.key, keys.c.response).where(
            keys.c.scope.startswith("paper_import:")
        )
    )
    for scope, key, response in list(imports):
        answer = json.loads(response)
        if isinstance(answer, dict) and "sha256" in answer:
            del answer["sha256"]
            bind.execute(
                keys.update()
                .where(keys.c.scope == scope, keys.c.key == key)
                .values(response=json.dumps(answer, ensure_ascii=False))
            )
    stored = bind.execute(
        sa.select(docs.c.key, docs.c.doc).where(docs.c.model == "survey_idempotent")
    )
    for key, text in list(stored):
        answer = json.loads(text)
        if answer.get("request_hash") == BLANK:
            continue
        answer["request_hash"] = BLANK
        bind.execute(
            docs.update()
            .where(docs.c.model == "survey_idempotent", docs.c.key == key)
            .values(doc=_text(answer))
        )


def downgrade() -> None:
    raise NotImplementedError("the blanked digests are gone for good")
