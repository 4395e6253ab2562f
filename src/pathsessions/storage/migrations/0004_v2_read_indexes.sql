-- v2 lists a group's roles a page at a time, by user id: an index on the group alone would
-- sort the whole group for every page. This one also serves every lookup by group.
CREATE INDEX user_roles_group_user ON user_roles (group_id, user_id);
DROP INDEX user_roles_group;
