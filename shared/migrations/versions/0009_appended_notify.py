"""PostgreSQL: a commit that appended events says so (NOTIFY ``uzdik_appended``)

The relay of a service runs in one process (single active); events appended by another process
of the same service — a second replica, the survey's other replicas, a CLI command — were found
only by its poll, every 50 ms. A statement-level trigger on ``events`` now notifies the channel
``uzdik_appended``; PostgreSQL delivers it when the transaction commits (never for one rolled
back) and folds the notifications of one transaction into one, and the relay LISTENs
(``shared.relay``). Every writer is covered: the commands' transactions and the one-statement
batch ``uzdik_write`` (0004) alike. SQLite has one process per store and needs none of it.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"

CHANNEL = "uzdik_appended"

FUNCTION = f"""
CREATE OR REPLACE FUNCTION uzdik_events_appended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END $$
"""

TRIGGER = """
CREATE TRIGGER uzdik_events_appended AFTER INSERT ON events
FOR EACH STATEMENT EXECUTE FUNCTION uzdik_events_appended()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)
        op.execute("DROP TRIGGER IF EXISTS uzdik_events_appended ON events")
        op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS uzdik_events_appended ON events")
        op.execute("DROP FUNCTION IF EXISTS uzdik_events_appended()")
