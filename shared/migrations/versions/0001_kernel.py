"""kernel tables: events, relay state, applied events, checkpoints, idempotency, documents

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def _documents(name: str) -> None:
    op.create_table(
        name,
        sa.Column("model", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("doc", sa.Text, nullable=False),
    )


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("global_position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("stream_id", "stream_version", name="uq_events_stream_version"),
    )
    op.create_table(
        "relay_state",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("published_position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "applied_events",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
    )
    op.create_table(
        "checkpoints",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
    )
    _documents("documents")


def downgrade() -> None:
    for name in ("documents", "idempotency_keys", "checkpoints", "applied_events"):
        op.drop_table(name)
    op.drop_table("relay_state")
    op.drop_table("events")
