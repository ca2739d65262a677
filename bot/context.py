"""The per-update scope (one database transaction) and the custom CallbackContext."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, CallbackContext, ExtBot

from domain.reader import Reader
from domain.services import Services
from domain.viewer import Viewer
from locales.i18n import translator

if TYPE_CHECKING:
    from bot.runtime import Runtime


@dataclass
class UpdateScope:
    """Everything one update is handled with. Set by ``BranchApplication.process_update``."""

    session: AsyncSession
    services: Services
    viewer: Viewer | None
    locale: str
    failed: bool = False
    update_id: int | None = None
    #: What the user asked for (command text or callback data), for the audit log.
    request: str | None = None
    #: A refusal of this update has been audited (one entry per update).
    denial_audited: bool = False
    #: Sends that must only happen once the update's transaction committed (messages
    #: to other users with buttons naming rows created in this update).
    after_commit: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    #: Bot API calls running concurrently with the rest of the update (the answer to a
    #: button press); the update is over once they are (``settle``).
    pending: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self, call: Coroutine[Any, Any, None]) -> None:
        """Run ``call`` alongside the update's remaining work (its SQL, the commit)."""
        self.pending.append(asyncio.ensure_future(call))

    async def settle(self) -> None:
        """Wait for the calls ``start`` began (they log their own failures)."""
        while self.pending:
            tasks, self.pending = self.pending, []
            await asyncio.gather(*tasks, return_exceptions=True)


CURRENT_SCOPE: ContextVar[UpdateScope | None] = ContextVar("branchbot_update_scope", default=None)


class BranchContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Adds the update's services, viewer and translations to PTB's context."""

    @property
    def scope(self) -> UpdateScope:
        scope = CURRENT_SCOPE.get()
        if scope is None:
            raise RuntimeError("no update scope: handler called outside process_update")
        return scope

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.application.bot_data["runtime"]
        return runtime

    @property
    def svc(self) -> Services:
        return self.scope.services

    @property
    def viewer(self) -> Viewer:
        viewer = self.scope.viewer
        if viewer is None:
            raise RuntimeError("update has no user")
        return viewer

    @property
    def locale(self) -> str:
        scope = CURRENT_SCOPE.get()
        return scope.locale if scope is not None else "zh_Hans"

    @property
    def reader(self) -> Reader:
        """The acting user's own Reader (replies to them); a message to another person
        uses the recipient's (``handlers.common.deliver`` / ``notify``)."""
        return Reader.of(self.locale)

    def after_commit(self, send: Callable[[], Awaitable[object]]) -> None:
        """Run ``send`` after this update's transaction committed (never if it fails).
        Outside an update (scheduler, tests) it runs when awaited by the caller instead."""
        self.scope.after_commit.append(send)

    def gettext(self, message: str) -> str:
        return translator(self.locale).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translator(self.locale).ngettext(singular, plural, n)


BranchApp = Application[
    ExtBot[None], BranchContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
