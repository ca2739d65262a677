"""What each feature offers: commands (for menus, /help and setMyCommands) and menu
badges (e.g. "3 join requests waiting"), filtered by the viewer's audience."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

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


@dataclass
class Registry:
    commands: list[CommandInfo] = field(default_factory=list)
    badges: list[MenuBadge] = field(default_factory=list)
    exporters: dict[str, ExporterInfo] = field(default_factory=dict)

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

    def for_audiences(self, audiences: frozenset[Audience]) -> list[CommandInfo]:
        seen: set[str] = set()
        result = []
        for info in sorted(self.commands, key=lambda c: (c.order, c.name)):
            if info.audiences & audiences and info.name not in seen:
                seen.add(info.name)
                result.append(info)
        return result
