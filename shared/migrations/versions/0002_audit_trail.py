"""reporting's audit trail as a table of its own (it was one JSON document per event)

Revision ID: 0002
Revises: 0001
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

COLUMNS = (
    "service",
    "position",
    "event_id",
    "event_type",
    "stream_id",
    "stream_version",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "actor_role",
    "actor_region",
    "correlation_id",
    "causation_id",
    "hash",
)


def upgrade() -> None:
    op.create_table(
        "audit_trail",
        sa.Column("service", sa.String(50), primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("occurred_at", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("actor_role", sa.Text, nullable=False),
        sa.Column("actor_region", sa.Text, nullable=True),
        sa.Column("correlation_id", sa.Text, nullable=False),
        sa.Column("causation_id", sa.Text, nullable=True),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # 0001's audit documents (one per event) become rows of the new table.
    bind = op.get_bind()
    docs = sa.table("documents", sa.column("model"), sa.column("key"), sa.column("doc"))
    trail = sa.table("audit_trail", *(sa.column(c) for c in COLUMNS))
    rows = bind.execute(sa.select(docs.c.doc).where(docs.c.model == "audit")).scalars()
    batch: list[dict[str, object]] = []
    for text in rows:
        d = json.loads(text)
        actor = d.get("actor") or {}
        batch.append(
            {
                **{c: d.get(c) for c in COLUMNS if not c.startswith("actor_")},
                "actor_id": actor.get("id"),
                "actor_role": actor.get("role"),
                "actor_region": actor.get("region"),
            }
        )
    for i in range(0, len(batch), 5000):
        bind.execute(trail.insert(), batch[i : i + 5000])
    bind.execute(docs.delete().where(docs.c.model == "audit"))


def downgrade() -> None:
    op.drop_table("audit_trail")
