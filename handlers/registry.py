"""What each feature offers: commands (for menus, /help and setMyCommands) and menu
badges (e.g. "3 join requests waiting"), filtered by the viewer's audience."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Update

from bot.context import BranchContext
from domain.roles import Audience


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
