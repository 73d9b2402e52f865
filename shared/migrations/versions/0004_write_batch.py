"""PostgreSQL: a batch written in one statement, the append lock held only inside the server

``uzdik_write(...)``, called in autocommit (the statement is its own transaction): takes the
service's append lock, checks that the documents a writer decided on are still as it read
them (else SQLSTATE ``UZ001``, nothing written), places the events at the end of the log and
of their streams, links each to the one before — the same bytes as
``shared.store.canonical.event_bytes_of_text``, assembled from the texts the writer sent and
the position and version placed here — and writes them with the documents that follow from
them: new ones (a key that exists fails the whole statement), new ones keyed by an event's
position, replaced ones, and counters (JSON arrays of integers) added to element by element.
The lock is released when the statement commits.

A group commit of residents' responses held the lock across three round trips and the Python
in between (lock and reads, the decision, the events and documents, the commit); with this,
only the server's own work is done under it. SQLite needs none of it (one writer per process).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"

SIGNATURE = (
    "bigint, text[], text[], text[], text[], text[], text[], integer[], text[], text[], text[], "
    "text[], text[], text[], integer[], text[], text[], text[], text[], text[], text[]"
)

FUNCTION = """
CREATE OR REPLACE FUNCTION uzdik_write(
    lock_key bigint,
    x_models text[], x_keys text[], x_docs text[],
    e_streams text[], e_stream_json text[], e_type_json text[], e_schemas integer[],
    e_ids text[], e_payloads text[], e_metadata text[],
    n_models text[], n_keys text[], n_docs text[], n_at integer[],
    p_models text[], p_keys text[], p_docs text[],
    c_models text[], c_keys text[], c_docs text[]
) RETURNS TABLE(global_position bigint, stream_version integer, prev_hash text, hash text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    found_doc text;
    pos bigint;
    prev text;
    link text;
    ver integer;
    seen text[] := '{}';
    tops integer[] := '{}';
    at integer;
    positions bigint[] := '{}';
    versions integer[] := '{}';
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    FOR i IN 1 .. coalesce(array_length(x_keys, 1), 0) LOOP
        SELECT d.doc INTO found_doc FROM documents AS d
        WHERE d.model = x_models[i] AND d.key = x_keys[i];
        IF found_doc IS DISTINCT FROM x_docs[i] THEN
            RAISE EXCEPTION 'document %/% changed since it was read', x_models[i], x_keys[i]
                USING ERRCODE = 'UZ001';
        END IF;
    END LOOP;
    SELECT e.global_position, e.hash INTO pos, prev
    FROM events AS e ORDER BY e.global_position DESC LIMIT 1;
    IF pos IS NULL THEN
        pos := 0;
        prev := repeat('0', 64);
    END IF;
    FOR i IN 1 .. coalesce(array_length(e_streams, 1), 0) LOOP
        at := array_position(seen, e_streams[i]);
        IF at IS NULL THEN
            SELECT coalesce(max(e.stream_version), 0) INTO ver
            FROM events AS e WHERE e.stream_id = e_streams[i];
            seen := seen || e_streams[i];
            tops := tops || ver;
            at := array_length(seen, 1);
        END IF;
        tops[at] := tops[at] + 1;
        pos := pos + 1;
        link := encode(sha256(convert_to(
            prev || '{"event_type":' || e_type_json[i] || ',"global_position":' || pos
            || ',"metadata":' || e_metadata[i] || ',"payload":' || e_payloads[i]
            || ',"schema_version":' || e_schemas[i] || ',"stream_id":' || e_stream_json[i]
            || ',"stream_version":' || tops[at] || '}', 'UTF8')), 'hex');
        positions := positions || pos;
        versions := versions || tops[at];
        prevs := prevs || prev;
        hashes := hashes || link;
        prev := link;
    END LOOP;
    INSERT INTO events (global_position, stream_id, stream_version, event_type, schema_version,
                        event_id, payload, metadata, prev_hash, hash)
    SELECT u.p, u.s, u.v, u.t #>> '{}', u.sv, u.id, u.pl, u.md, u.ph, u.h
    FROM unnest(positions, e_streams, versions, e_type_json::json[], e_schemas, e_ids,
                e_payloads, e_metadata, prevs, hashes)
         AS u(p, s, v, t, sv, id, pl, md, ph, h);
    INSERT INTO documents (model, key, doc)
    SELECT u.m, CASE WHEN u.a > 0 THEN u.k || CASE WHEN positions[u.a] >= 1000000000000
                                               THEN positions[u.a]::text
                                               ELSE lpad(positions[u.a]::text, 12, '0') END
                     ELSE u.k END,
           u.d
    FROM unnest(n_models, n_keys, n_docs, n_at) AS u(m, k, d, a);
    INSERT INTO documents (model, key, doc)
    SELECT u.m, u.k, u.d FROM unnest(p_models, p_keys, p_docs) AS u(m, k, d)
    ON CONFLICT (model, key) DO UPDATE SET doc = EXCLUDED.doc;
    INSERT INTO documents AS t (model, key, doc)
    SELECT u.m, u.k, u.d FROM unnest(c_models, c_keys, c_docs) AS u(m, k, d)
    ON CONFLICT (model, key) DO UPDATE SET doc = (
        SELECT '[' || string_agg((coalesce(a.v::bigint, 0) + coalesce(b.v::bigint, 0))::text,
                                 ',' ORDER BY coalesce(a.i, b.i)) || ']'
        FROM json_array_elements_text(t.doc::json) WITH ORDINALITY AS a(v, i)
        FULL JOIN json_array_elements_text(EXCLUDED.doc::json) WITH ORDINALITY AS b(v, i)
        ON a.i = b.i
    );
    RETURN QUERY SELECT u.p, u.v, u.ph, u.h
        FROM unnest(positions, versions, prevs, hashes) WITH ORDINALITY AS u(p, v, ph, h, i)
        ORDER BY u.i;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS uzdik_write({SIGNATURE})")
