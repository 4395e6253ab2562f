-- Learners' statistics page by enrollment id: one session's (user stats), and the whole
-- company's (path stats). Each page starts where the last ended, through these indexes.
CREATE INDEX session_users_session_id ON session_users (session_id, id);
CREATE INDEX session_users_company_id ON session_users (company_id, id)
