"""A yes/no roster column that marks a person with a role row (领导干部, 党小组长):
the column's parser and the roster hook that adds or removes the row, audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from domain.membership import ROSTER_HOOKS, MembershipService
from domain.roster import RosterRow, register_column
from store.models import Base, Membership, Person

YES = ("是", "y", "yes", "1", "true", "√", "✓")
NO = ("否", "n", "no", "0", "false", "")

FlagRow = TypeVar("FlagRow", bound=Base)

#: The columns whose hook is registered (once, however often a module is imported).
_HOOKED: set[str] = set()


def register_flag_column(
    key: str,
    aliases: Iterable[str],
    model: type[FlagRow],
    *,
    action: str,
    error: str,
    more_yes: tuple[str, ...] = (),
) -> None:
    """Accept the optional roster column ``key`` (是/否; ``error`` is the translatable
    refusal of any other value, with ``{line}`` and ``{value}``) and keep ``model``'s
    row (``person_id``, ``created_at``) in step with it on every import: added for 是,
    deleted for 否, untouched for an empty cell; each change audited as ``action``."""
    yes = YES + more_yes

    def parse(text: str) -> bool:
        value = text.strip().lower()
        if value in yes:
            return True
        if value in NO:
            return False
        raise ValueError(error)

    async def hook(
        service: MembershipService, person: Person, membership: Membership, row: RosterRow
    ) -> None:
        flag: bool | None = row.extra.get(key)
        if flag is None:
            return
        existing = await service.session.get(model, person.id)
        if flag and existing is None:
            service.session.add(model(person_id=person.id, created_at=service.clock.now()))
        elif not flag and existing is not None:
            await service.session.delete(existing)
        else:
            return
        detail: dict[str, Any] = {key: flag}
        await service.audit(
            action,
            branch_id=membership.branch_id,
            subject_type="person",
            subject_id=person.id,
            **detail,
        )

    register_column(key, aliases, parse)
    if key not in _HOOKED:
        _HOOKED.add(key)
        ROSTER_HOOKS.append(hook)
