"""one record of what a consumer applied, per (consumer, source service)

A consumer kept the id of every event it applied (``applied_events``, a row per event,
growing for ever) and, when it tailed a store in process, a checkpoint written in a separate
transaction. From this revision it keeps one record per (consumer, source) in ``checkpoints``,
written in the transaction of the effect: the source's positions applied through
``position``, and the ranges applied above it while a Kafka partition ran ahead of another
(``applied_above``, JSON). An embedded checkpoint was that watermark already and stays as it
is; ``applied_events`` goes. (A consumer on Kafka starts its record at the offsets the group
committed: what it applied before this revision is not delivered again.)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("checkpoints") as batch:
        batch.add_column(sa.Column("applied_above", sa.Text, nullable=False, server_default="[]"))
    op.drop_table("applied_events")


def downgrade() -> None:
    op.create_table(
        "applied_events",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
    )
    with op.batch_alter_table("checkpoints") as batch:
        batch.drop_column("applied_above")
