"""Expected refusals, carried as translatable messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class DomainError(Exception):
    """A rule said no. ``msgid`` is an English gettext id with ``{name}`` placeholders;
    handlers translate it for the viewer and fill in ``params`` (escaped for HTML)."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


class NotAllowed(DomainError):
    """The viewer may not do this (role, branch, ownership)."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the viewer)."""


class Conflict(DomainError):
    """The thing already happened (double tap, duplicate, already decided)."""


@dataclass(frozen=True)
class RowError:
    """One bad line of an imported file: a msgid with ``{line}`` and other placeholders."""

    line: int
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


class FileRejected(Exception):
    """An imported file (roster, question bank) has bad lines: nothing of it is imported.
    ``errors`` lists every bad line."""

    what = "file"

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} {self.what} error(s)")
        self.errors = errors
