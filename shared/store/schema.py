"""Tables every service database has. Migrations (Alembic) create them; see shared/migrations."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
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

# The transactional outbox's mark: events up to this position are on Kafka.
relay_state = sa.Table(
    "relay_state",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("published_position", sa.BigInteger, nullable=False),
)

# What a consumer applied of a source service, written in the transaction of the effect
# (shared.store.tracking): every position through ``position``, and the ranges above it
# applied while a Kafka partition ran ahead of another (JSON ``[[first, last], ...]``).
checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("source", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("applied_above", sa.Text, nullable=False, server_default="[]"),
)

# Read models (projections and the lookups a service needs) as JSON documents.
documents = sa.Table(
    "documents",
    metadata,
    sa.Column("model", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("doc", sa.Text, nullable=False),
)


def documents_table(name: str, md: sa.MetaData | None = None) -> sa.Table:
    """A documents table under another name (replay builds into fresh tables, then swaps)."""
    return sa.Table(
        name,
        md or sa.MetaData(),
        sa.Column("model", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("doc", sa.Text, nullable=False),
    )


def audit_trail_table(
    name: str = "audit_trail", md: sa.MetaData | None = None, primary_key: bool = True
) -> sa.Table:
    """Reporting's audit trail: one row per event of every log (who, what, when, through which
    command). Timestamps are kept as the log's own text, so a row's bytes are stable.
    ``primary_key=False``: without its key (service, position), for a bulk load that adds it
    after (a replay's fresh table)."""
    return sa.Table(
        name,
        md or sa.MetaData(),
        sa.Column("service", sa.String(50), primary_key=primary_key, nullable=False),
        sa.Column(
            "position", sa.BigInteger, primary_key=primary_key, autoincrement=False, nullable=False
        ),
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


audit_trail = audit_trail_table("audit_trail", metadata)
