-- Audiences: who an audience-builder session enrols (v2 §5). One row per session that has
-- been given one; an audience-builder session without a row has the default audience (no
-- filter, `manual`). `filters` is compact JSON, `[{"type", "ids"}]`, as v2 shows it,
-- validated before it is written. `company_id` is the session's, so that a change of group
-- membership finds the company's dynamic audiences through one index.
CREATE TABLE session_audiences (
    session_id  TEXT PRIMARY KEY REFERENCES path_sessions (id) ON DELETE CASCADE,
    company_id  TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('dynamic', 'dynamicEnrollment',
        'dynamicUnenrollment', 'manual')),
    filters     TEXT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX session_audiences_company ON session_audiences (company_id, mode)
