"""The per-update scope (one database transaction) and the custom CallbackContext."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import translator
from domain.services import Services
from domain.viewer import Viewer

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

    def gettext(self, message: str) -> str:
        return translator(self.locale).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translator(self.locale).ngettext(singular, plural, n)


BranchApp = Application[
    ExtBot[None], BranchContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
