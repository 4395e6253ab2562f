-- Enrollments by company and user were indexed twice: `session_users_user` (user_id) finds
-- the same rows, as a user belongs to one company, and it must stay for the cascade from
-- `users`. Each enrollment written (a whole company's, by a snapshot restore or a fixture
-- load) paid for the second index.
DROP INDEX session_users_company_user
