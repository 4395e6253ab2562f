-- Enrolments of users and groups in path sessions, and the server's own secrets.

CREATE TABLE session_users (
    session_id  TEXT NOT NULL REFERENCES path_sessions (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    enrolled_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX session_users_user ON session_users (user_id);

CREATE TABLE session_groups (
    session_id  TEXT NOT NULL REFERENCES path_sessions (id) ON DELETE CASCADE,
    group_id    TEXT NOT NULL REFERENCES company_groups (id) ON DELETE CASCADE,
    enrolled_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, group_id)
);
CREATE INDEX session_groups_group ON session_groups (group_id);

-- Generated once and shared by every worker and host on this database (token signing key),
-- unless PATHSESSIONS_TOKEN_SECRET sets one.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
