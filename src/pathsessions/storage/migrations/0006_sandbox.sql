-- The sandbox's state (docs/sandbox.md), kept in the database so that every worker process
-- and every server on the database shares it. Used only when the control API is on.

-- Clocks: '' is the server's, any other key a company's. A frozen clock has `frozen_at`; a
-- running one is the machine's time plus `offset_ms`.
CREATE TABLE sandbox_clocks (
    company_id TEXT PRIMARY KEY,
    frozen_at  BIGINT,
    offset_ms  BIGINT NOT NULL
);

-- Counters shared by the processes (the journal's entry ids, faults' creation order): one
-- row each, made or incremented by a single upsert.
CREATE TABLE sandbox_counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- The request journal, newest last by id. Headers are JSON text; bodies text, cut at 64 KiB.
CREATE TABLE sandbox_journal (
    id                      BIGINT PRIMARY KEY,
    at                      BIGINT NOT NULL,
    company_id              TEXT,
    method                  TEXT NOT NULL,
    path                    TEXT NOT NULL,
    query                   TEXT NOT NULL,
    headers                 TEXT NOT NULL,
    body                    TEXT,
    body_truncated          BOOLEAN NOT NULL,
    status                  INTEGER,
    response_body           TEXT,
    response_body_truncated BOOLEAN NOT NULL,
    duration_ms             DOUBLE PRECISION NOT NULL,
    operation               TEXT,
    fault_id                TEXT
);
CREATE INDEX sandbox_journal_company ON sandbox_journal (company_id, id);

-- Faults: the matching columns, the whole fault as created (JSON), and its counts. A fault
-- with `times_left` 0 is spent: gone from the list, never fired again.
CREATE TABLE sandbox_faults (
    id         TEXT PRIMARY KEY,
    position   BIGINT NOT NULL,
    definition TEXT NOT NULL,
    times_left INTEGER,
    fired      INTEGER NOT NULL
);

-- Snapshots: each named one holds the rows of every table it covers, as JSON text.
CREATE TABLE sandbox_snapshots (
    name       TEXT PRIMARY KEY,
    company_id TEXT,
    created_at BIGINT NOT NULL,
    data       TEXT NOT NULL
);
