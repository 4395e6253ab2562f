"""The sandbox: a control API under /__admin/ (state, journal, faults, time) and what it adds
to each API request. On only when `PATHSESSIONS_ADMIN_TOKEN` is set; app.py composes it.

Version-neutral: it knows the core, storage and web/, never an API version.
"""

from __future__ import annotations

from ..api.openapi import Description
from ..settings import Settings
from .admin import PREFIX, Admin
from .console import Console
from .hooks import SandboxHooks
from .openapi import description
from .routes import ROUTES


class Sandbox:
    def __init__(self, settings: Settings) -> None:
        # The console's pages first (they sign in by cookie), then the control API.
        self.admin = Console(settings.admin_token, Admin(settings.admin_token, ROUTES))
        self.hooks = SandboxHooks(settings.journal_size)
        self.description: Description = description()
        self.routes = ROUTES

    @staticmethod
    def owns(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")


def sandbox_for(settings: Settings) -> Sandbox | None:
    """The sandbox when the admin token is set; None (nothing of it anywhere) otherwise."""
    return Sandbox(settings) if settings.admin_token else None
