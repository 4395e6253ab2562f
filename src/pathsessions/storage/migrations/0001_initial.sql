-- Companies, their keys, groups, users, paths and path sessions.
-- Portable SQL: the same text runs on SQLite and PostgreSQL. Instants are BIGINT milliseconds
-- since the epoch (UTC); ids are 24-character ObjectId strings.

CREATE TABLE companies (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    -- The platform owner, a user of this company (no FK: users reference companies too).
    owner_user_id TEXT,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX companies_name ON companies (name);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    -- SHA-256 of the key, hex; the key itself is never stored.
    key_hash   TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash, company_id);
CREATE INDEX api_keys_company ON api_keys (company_id);

CREATE TABLE company_groups (
    id         TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    public     BOOLEAN NOT NULL,
    parent_id  TEXT REFERENCES company_groups (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX company_groups_company ON company_groups (company_id, id);

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    mail       TEXT NOT NULL,
    -- mail trimmed and lower-cased: addresses are unique and matched case-insensitively.
    mail_key   TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name  TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'invited', 'deleted')),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_company_mail ON users (company_id, mail_key);
CREATE INDEX users_company ON users (company_id, id);

CREATE TABLE user_roles (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES company_groups (id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('learner', 'author', 'coach', 'admin')),
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_roles_group ON user_roles (group_id);

CREATE TABLE paths (
    id          TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    group_id    TEXT NOT NULL REFERENCES company_groups (id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('published', 'archived')),
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX paths_company ON paths (company_id, id);

CREATE TABLE path_sessions (
    id                     TEXT PRIMARY KEY,
    company_id             TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    path_id                TEXT NOT NULL REFERENCES paths (id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    start_date             BIGINT NOT NULL,
    end_date               BIGINT,
    owner_group_id         TEXT NOT NULL REFERENCES company_groups (id) ON DELETE CASCADE,
    additional_information TEXT,
    created_at             BIGINT NOT NULL,
    modified_at            BIGINT NOT NULL
);
-- (company_id, id) serves the company-wide listing in keyset order.
CREATE INDEX path_sessions_company ON path_sessions (company_id, id);
CREATE INDEX path_sessions_path ON path_sessions (path_id, id);
CREATE INDEX path_sessions_group ON path_sessions (owner_group_id);

CREATE TABLE session_instructors (
    session_id TEXT NOT NULL REFERENCES path_sessions (id) ON DELETE CASCADE,
    -- 0 is the main instructor.
    position   INTEGER NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (session_id, position)
);
CREATE INDEX session_instructors_user ON session_instructors (user_id);
