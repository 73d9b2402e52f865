"""PostgreSQL: the append lock and the reads a decision depends on, in one round trip

``uzdik_lock(lock_key, models, keys, streams)`` takes the service's append lock (a transaction
advisory lock) and only then reads — each statement of a VOLATILE PL/pgSQL function has a fresh
snapshot, so what it returns includes every transaction that held the lock before: the head of
the log (position and hash), the documents asked for (one index probe per key: a plain
``key IN (…)`` is planned as a scan on a table autovacuum has not analysed yet) and the current
version of each stream asked for. A group commit of residents' responses spent two round
trips on the lock and its head and one per read, all while holding the lock every other writer
of the service waits for. SQLite needs none of it (one writer per process, no round trips).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"

FUNCTION = """
CREATE OR REPLACE FUNCTION uzdik_lock(
    lock_key bigint, models text[], keys text[], streams text[]
) RETURNS TABLE(kind text, model text, key text, doc text, n bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY
        SELECT 'head', NULL::text, e.hash::text, NULL::text, e.global_position
        FROM events AS e ORDER BY e.global_position DESC LIMIT 1;
    RETURN QUERY
        SELECT 'doc', d.model::text, d.key::text, d.doc, NULL::bigint
        FROM unnest(models, keys) AS w(m, k)
        CROSS JOIN LATERAL (
            SELECT t.model, t.key, t.doc FROM documents AS t
            WHERE t.model = w.m AND t.key = w.k LIMIT 1
        ) AS d;
    RETURN QUERY
        SELECT 'stream', NULL::text, s.s, NULL::text,
               (SELECT max(e.stream_version)::bigint FROM events AS e WHERE e.stream_id = s.s)
        FROM unnest(streams) AS s(s);
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS uzdik_lock(bigint, text[], text[], text[])")
