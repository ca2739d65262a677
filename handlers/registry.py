"""What each feature offers: commands (for menus, /help and setMyCommands) and menu
badges (e.g. "3 join requests waiting"), filtered by the viewer's audience."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError

from bot.context import BranchContext
from domain.roles import Audience
from locales.i18n import translator

log = logging.getLogger(__name__)

#: Whose menu is the default one, and who gets the fuller list in their own chat.
MEMBER_MENU = frozenset({Audience.STRANGER, Audience.MEMBER})
REVIEWER_MENU = frozenset({*MEMBER_MENU, Audience.REVIEWER, Audience.SECRETARY})


@dataclass(frozen=True)
class CommandInfo:
    name: str
    description: str  # msgid, marked with N_
    audiences: frozenset[Audience]
    order: int = 100


MenuBadge = Callable[[BranchContext], Awaitable[str | None]]

#: ``/export NAME [ARGS…]`` handlers: receive the update, context and remaining args.
Exporter = Callable[[Update, BranchContext, list[str]], Awaitable[None]]


@dataclass(frozen=True)
class ExporterInfo:
    name: str
    description: str  # msgid
    audiences: frozenset[Audience]
    run: Exporter


#: A periodic task: gets the Application; opens its own unit(s) of work
#: (``app.bot_data["runtime"].unit_of_work()``) and must be idempotent (it may run again
#: after a restart): record what was sent in the database with a unique key.
PeriodicFn = Callable[[Any], Awaitable[object]]


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    every: timedelta
    run: PeriodicFn
    first: timedelta = timedelta(seconds=5)


@dataclass
class Registry:
    commands: list[CommandInfo] = field(default_factory=list)
    badges: list[MenuBadge] = field(default_factory=list)
    exporters: dict[str, ExporterInfo] = field(default_factory=dict)
    periodic_tasks: list[PeriodicTask] = field(default_factory=list)

    def command(
        self, name: str, description: str, audiences: Iterable[Audience], *, order: int = 100
    ) -> None:
        self.commands.append(CommandInfo(name, description, frozenset(audiences), order))

    def badge(self, badge: MenuBadge) -> None:
        self.badges.append(badge)

    def exporter(
        self, name: str, description: str, audiences: Iterable[Audience], run: Exporter
    ) -> None:
        """Offer ``/export NAME``; the first registered exporter is the default."""
        self.exporters[name] = ExporterInfo(name, description, frozenset(audiences), run)

    def periodic(
        self, name: str, every: timedelta, run: PeriodicFn, *, first: timedelta | None = None
    ) -> None:
        """Run ``run(app)`` every ``every`` on the job queue (see ``bot.app``)."""
        self.periodic_tasks.append(
            PeriodicTask(name, every, run, first if first is not None else timedelta(seconds=5))
        )

    def for_audiences(self, audiences: frozenset[Audience]) -> list[CommandInfo]:
        seen: set[str] = set()
        result = []
        for info in sorted(self.commands, key=lambda c: (c.order, c.name)):
            if info.audiences & audiences and info.name not in seen:
                seen.add(info.name)
                result.append(info)
        return result


def bot_commands(
    registry: Registry, audiences: frozenset[Audience], locale: str
) -> list[BotCommand]:
    """The ``setMyCommands`` list for these audiences, translated."""
    t = translator(locale).gettext
    return [BotCommand(c.name, t(c.description)[:256]) for c in registry.for_audiences(audiences)]


async def publish_chat_menu(
    bot: Bot, registry: Registry, telegram_user_id: int, locale: str, *, reviewer: bool
) -> bool:
    """One user's command menu in their own chat: the reviewers' fuller list, or (taken
    away) back to the default members' menu. A failure only costs the menu; logged
    (False)."""
    scope = BotCommandScopeChat(telegram_user_id)
    try:
        if reviewer:
            await bot.set_my_commands(bot_commands(registry, REVIEWER_MENU, locale), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramError as exc:
        log.info("no command menu for chat %s: %s", telegram_user_id, exc)
        return False
    return True


async def refresh_chat_menu(
    ctx: BranchContext, telegram_user_id: int, *, reviewer: bool, locale: str | None = None
) -> None:
    """Re-publish one user's command menu once this update committed (their rights or
    language changed): at once, not at the bot's next start."""
    from handlers.common import locale_of

    registry: Registry = ctx.application.bot_data["registry"]
    bot = ctx.bot
    locale = locale or await locale_of(ctx, telegram_user_id)
    ctx.after_commit(
        lambda: publish_chat_menu(bot, registry, telegram_user_id, locale, reviewer=reviewer)
    )
