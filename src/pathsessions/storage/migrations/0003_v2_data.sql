-- What the v2 API reads and writes beside v1's fields, over the same rows. Rows written
-- before this migration get the defaults v1 implies (docs/storage.md). JSON-valued columns
-- hold compact JSON text, validated before it is written.

-- Path sessions.
ALTER TABLE path_sessions ADD COLUMN registration_request_validation TEXT NOT NULL
    DEFAULT 'disabled' CHECK (registration_request_validation IN ('disabled', 'instructors',
    'managers', 'adminsAndManagers', 'adminsCoachesInstructorsManagers'));
ALTER TABLE path_sessions ADD COLUMN user_limit INTEGER;
ALTER TABLE path_sessions ADD COLUMN automatic_reenrollment TEXT;
ALTER TABLE path_sessions ADD COLUMN ip_filtering TEXT;
ALTER TABLE path_sessions ADD COLUMN is_audience_builder BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE path_sessions ADD COLUMN translations TEXT NOT NULL DEFAULT '[]';
-- Set on a child session: the root session of the same path it copies its instructors from.
ALTER TABLE path_sessions ADD COLUMN root_session_id TEXT
    REFERENCES path_sessions (id) ON DELETE CASCADE;
CREATE INDEX path_sessions_root ON path_sessions (root_session_id);

-- Paths. A NULL author is the company's platform owner.
ALTER TABLE paths ADD COLUMN author_id TEXT;
ALTER TABLE paths ADD COLUMN co_author_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE paths ADD COLUMN default_lang TEXT NOT NULL DEFAULT 'en';
ALTER TABLE paths ADD COLUMN source_lang TEXT NOT NULL DEFAULT 'en';
ALTER TABLE paths ADD COLUMN options TEXT NOT NULL DEFAULT '{"linearProgression":false,"mandatoryReplay":false,"displayForum":false,"displayClassroomMessages":false,"automatedReminders":false,"notificationOnStepCreation":false}';
ALTER TABLE paths ADD COLUMN certificate_id TEXT;
ALTER TABLE paths ADD COLUMN description TEXT;
ALTER TABLE paths ADD COLUMN additional_information TEXT;
ALTER TABLE paths ADD COLUMN translations TEXT NOT NULL DEFAULT '[]';

-- Users.
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
ALTER TABLE users ADD COLUMN username TEXT;
ALTER TABLE users ADD COLUMN job TEXT;
ALTER TABLE users ADD COLUMN organization TEXT;
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN custom TEXT;
ALTER TABLE users ADD COLUMN primary_group_id TEXT;
CREATE INDEX users_company_username ON users (company_id, username);

-- Groups.
ALTER TABLE company_groups ADD COLUMN custom TEXT;

-- Roles: v2's eight; the older `author` is `editor`. The table is rebuilt because neither
-- engine changes a CHECK constraint in place the same way.
CREATE TABLE user_roles_v2 (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES company_groups (id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'editor', 'coach',
        'contributor', 'learner', 'owner', 'userAdmin')),
    PRIMARY KEY (user_id, group_id)
);
INSERT INTO user_roles_v2 (user_id, group_id, role)
    SELECT user_id, group_id, CASE role WHEN 'author' THEN 'editor' ELSE role END
    FROM user_roles;
DROP TABLE user_roles;
ALTER TABLE user_roles_v2 RENAME TO user_roles;
CREATE INDEX user_roles_group ON user_roles (group_id);

-- v2 API credentials: a client id, the SHA-256 of its secret (never the secret), and its
-- scopes, space-separated. Client ids are unique server-wide: a token request may name only
-- the client.
CREATE TABLE api_credentials (
    id          TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    name        TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE UNIQUE INDEX api_credentials_client ON api_credentials (client_id);
CREATE INDEX api_credentials_company ON api_credentials (company_id);
