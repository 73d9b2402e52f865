"""PostgreSQL: the writers no longer NOTIFY; the store does, after the commit (drops 0009's trigger)

0009's trigger made every transaction that appended events NOTIFY ``uzdik_appended``. Such a
transaction takes PostgreSQL's cluster-wide notify lock in ``PreCommit_Notify`` and holds it
until its commit has ended — including the commit's WAL flush with ``synchronous_commit`` on —
so the appending transactions of every database committed one at a time, one WAL flush each:
group commit was gone (one row per transaction at 64 connections: 1.0 row per flush, 251
rows/s against 2.7 and 430 without it; bench/README.md, "Relay wake-up").

Now ``PostgresEventStore`` (``shared.store.postgres``) sends the notification after a commit that
appended events, in a short transaction of its own with ``synchronous_commit`` off, at most one
at a time per process; the relay's LISTEN (``shared.relay``) is unchanged. This migration drops
the trigger and its function; the downgrade puts 0009's back.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"

# 0009's, for the downgrade (a migration stays as it was written: no import of another)
FUNCTION = """
CREATE OR REPLACE FUNCTION uzdik_events_appended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('uzdik_appended', '');
    RETURN NULL;
END $$
"""

TRIGGER = """
CREATE TRIGGER uzdik_events_appended AFTER INSERT ON events
FOR EACH STATEMENT EXECUTE FUNCTION uzdik_events_appended()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS uzdik_events_appended ON events")
        op.execute("DROP FUNCTION IF EXISTS uzdik_events_appended()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)
        op.execute("DROP TRIGGER IF EXISTS uzdik_events_appended ON events")
        op.execute(TRIGGER)
