"""What no API writes but a test needs to set: a learner's progress in a session, and who
belongs to a group (the sandbox's §6; docs/sandbox.md). Each is one transaction; a change of
membership makes the company's dynamic audiences follow, which enrols or unenrols learners and
records the session events of that."""

from __future__ import annotations

from collections.abc import Sequence

from ..storage import Database, enrollments
from ..storage import groups as group_store
from ..storage import sessions as session_store
from ..storage import users as user_store
from .audiences import follow_memberships
from .clock import Clock
from .events import announcing
from .model import Progress
from .progress import UserStat, user_stat


class UnknownObject(LookupError):
    """An enrollment or group that is not the company's, or users that are not (`ids`)."""

    def __init__(self, kind: str, ids: Sequence[str] = ()) -> None:
        super().__init__(kind)
        self.kind = kind
        self.ids = list(ids)


async def record_progress(
    db: Database, clock: Clock, company_id: str, enrollment_id: str, progress: Progress
) -> UserStat:
    """Record the learner's progress; answer the enrollment's statistics as of now."""
    async with announcing(db) as tx:
        if not await enrollments.set_progress(tx, company_id, enrollment_id, progress):
            raise UnknownObject("enrollment")
        enrollment = await enrollments.get(tx, company_id, enrollment_id)
        assert enrollment is not None
        session = await session_store.get_session(tx, company_id, enrollment.session_id)
        assert session is not None
        return user_stat(enrollment, session.start_date, session.end_date, clock.now_ms())


async def change_members(
    db: Database,
    clock: Clock,
    company_id: str,
    group_id: str,
    add: Sequence[str],
    remove: Sequence[str],
    role: str,
) -> list[tuple[str, str]]:
    """Give the users of `add` `role` in the group (a role they held there is replaced), take
    every role in it from those of `remove`; then the dynamic audiences follow. Answer the
    group's members now: (user id, role), by user id."""
    async with announcing(db) as tx:
        if not await group_store.group_exists(tx, company_id, group_id):
            raise UnknownObject("group")
        wanted = list(dict.fromkeys([*add, *remove]))
        known = await user_store.existing_user_ids(tx, company_id, wanted)
        if missing := [u for u in wanted if u not in known]:
            raise UnknownObject("users", missing)
        for user_id in add:
            await user_store.set_role(tx, user_id, group_id, role)
        for user_id in remove:
            await user_store.remove_role(tx, user_id, group_id)
        await follow_memberships(tx, company_id, clock.now_ms(), [group_id])
        return await user_store.roles_in_group(tx, group_id)
