-- Enrollments: one user in one session, kept when unenrolled (`archived`, with the time) so
-- that v2 can answer `archivedAt`, and a learner included again gets the same enrollment back.
-- The table keeps v1's name; `enrolled_at` is the enrollment's `createdAt`. `company_id` and
-- `path_id` are copied from the session (which never changes path) so that a path's
-- enrollments page by id through one index, however many sessions the path has.
ALTER TABLE session_users ADD COLUMN id TEXT;
ALTER TABLE session_users ADD COLUMN company_id TEXT;
ALTER TABLE session_users ADD COLUMN path_id TEXT;
ALTER TABLE session_users ADD COLUMN self_enrolled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE session_users ADD COLUMN status TEXT NOT NULL DEFAULT 'published'
    CHECK (status IN ('published', 'archived'));
ALTER TABLE session_users ADD COLUMN archived_at BIGINT;
ALTER TABLE session_users ADD COLUMN modified_at BIGINT;
-- Learner progress, recorded by fixtures and the sandbox only (no API writes it). A NULL
-- `progress` means none was recorded: statuses then follow the session's dates.
ALTER TABLE session_users ADD COLUMN progress INTEGER;
ALTER TABLE session_users ADD COLUMN progress_status TEXT;
ALTER TABLE session_users ADD COLUMN progress_reason TEXT;
ALTER TABLE session_users ADD COLUMN time_spent BIGINT;
ALTER TABLE session_users ADD COLUMN score DOUBLE PRECISION;
ALTER TABLE session_users ADD COLUMN completed_at BIGINT;
ALTER TABLE session_users ADD COLUMN started_at BIGINT;
ALTER TABLE session_users ADD COLUMN certificate_id TEXT;
UPDATE session_users SET
    company_id = (SELECT s.company_id FROM path_sessions s WHERE s.id = session_users.session_id),
    path_id = (SELECT s.path_id FROM path_sessions s WHERE s.id = session_users.session_id),
    modified_at = enrolled_at;
-- Ids of rows written before this migration are made after these statements, by the
-- program's ObjectId factory (storage/migrate.py), before the indexes below are used.
CREATE UNIQUE INDEX session_users_id ON session_users (id);
CREATE INDEX session_users_path ON session_users (path_id, id);
CREATE INDEX session_users_company_user ON session_users (company_id, user_id)
