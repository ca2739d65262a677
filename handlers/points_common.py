# i18n-domain: points
"""What the points handlers share: the refusal guard, item lines, the indicator and
item buttons, dialog text checks and the direct message of the periodic tasks."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Coroutine, Sequence
from decimal import Decimal
from typing import Any, TypeVar, cast

from telegram import Update

from bot.context import BranchApp, BranchContext
from domain import points_rules as rules
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.periods import Quarter
from domain.points import (
    ItemInfo,
)
from domain.points_catalogue import BLOCK_LABELS, indicator_keys, indicator_name
from domain.reader import Reader
from domain.services import Services
from handlers.callbacks import Callback
from handlers.common import (
    Gettext,
    answer_callback,
    button,
    deliver,
    esc,
    render_error,
    reply,
)

# -- small helpers --------------------------------------------------------------------
_Handler = TypeVar("_Handler", bound=Callable[..., Coroutine[Any, Any, None]])


def guarded(fn: _Handler) -> _Handler:
    """A command whose domain refusals (not found, already revoked, not allowed …) are
    answered, not left to the error handler ("something went wrong")."""

    @functools.wraps(fn)
    async def run(update: Update, ctx: BranchContext, *args: Any) -> None:
        try:
            await fn(update, ctx, *args)
        except DomainError as exc:
            await fail(update, ctx, exc)

    return cast(_Handler, run)


def fmt(value: Decimal) -> str:
    return rules.fmt(value)


def item_line(item: ItemInfo, t: Gettext, locale: str) -> str:
    cap = (
        t("cap {cap} a quarter").format(cap=fmt(item.cap)) if item.cap is not None else t("no cap")
    )
    extras = [t(BLOCK_LABELS[item.block.value]), cap]
    if item.evidence:
        extras.append(t("evidence needed"))
    return f"{esc(item.name(locale))} <b>{rules.signed(item.points)}</b> ({', '.join(extras)})"


async def fail(update: Update, ctx: BranchContext, exc: DomainError) -> None:
    if update.callback_query is not None:
        await answer_callback(update, render_error(ctx, exc), alert=True)
    else:
        await reply(update, ctx, render_error(ctx, exc))


def require_member(ctx: BranchContext) -> bool:
    return ctx.viewer.is_member


async def not_member(update: Update, ctx: BranchContext) -> None:
    text = ctx.gettext("I can only help members of a branch. Send /start to see how to join.")
    if update.callback_query is not None:
        await answer_callback(update, text, alert=True)
    else:
        await reply(update, ctx, text)


async def use_buttons(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    await reply(
        update,
        ctx,
        ctx.gettext("Please choose with the buttons above, or send /cancel to stop."),
    )


def indicator_rows(t: Gettext, locale: str, make: Callable[[str], Callback]) -> list[list[Any]]:
    keys = indicator_keys()
    buttons = [button(indicator_name(k, locale), make(k)) for k in keys]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def item_rows(items: Sequence[ItemInfo], locale: str, action: str) -> list[list[Any]]:
    return [
        [
            button(
                f"{item.name(locale)[:40]} {rules.signed(item.points)}",
                Callback("pt", item.id, action),
            )
        ]
        for item in items
    ]


def item_id_branch(ctx: BranchContext) -> int:
    assert ctx.viewer.branch_id is not None
    return ctx.viewer.branch_id


def reviewers_only() -> str:
    from domain.points import REVIEWERS_ONLY

    return REVIEWERS_ONLY


def quarter_arg(args: Sequence[str]) -> Quarter | None:
    for arg in args:
        with contextlib.suppress(ValueError):
            return Quarter.parse(arg)
    return None


def dialog_text(update: Update) -> str:
    """The text a member typed into a dialog step, trimmed ('' for a photo, a file…)."""
    message = update.effective_message
    return (message.text or "").strip() if message is not None else ""


async def bounded_text(update: Update, ctx: BranchContext, limit: int, empty: str) -> str | None:
    """The typed text, or None after telling the member it is missing (``empty``, a
    msgid) or longer than ``limit`` characters; the dialog stays where it is."""
    text = dialog_text(update)
    if not text:
        await reply(update, ctx, ctx.gettext(empty))
        return None
    if len(text) > limit:
        await reply(
            update,
            ctx,
            ctx.gettext("That is {n} characters; please shorten it to at most {max}.").format(
                n=len(text), max=limit
            ),
        )
        return None
    return text


# -- periodic tasks -------------------------------------------------------------------
async def send_to(
    app: BranchApp, svc: Services, telegram_id: int, render: Callable[[Reader], str]
) -> bool:
    sent = await deliver(app.bot, svc, telegram_id, lambda r: (render(r), None))
    return sent is not None
