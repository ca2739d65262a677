"""Routing of free text, files and photos: to the member's open dialog (kept in the
database, see ``domain.dialogs``) or to a polite "I did not understand".

Registered last in handler group 0, so it only sees messages no feature handler took
(PTB runs the first matching handler of a group)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.context import BranchApp, BranchContext
from domain.dialogs import Dialog
from handlers.common import reply
from handlers.registry import Registry

StepHandler = Callable[[Update, BranchContext, Dialog], Awaitable[None]]


class DialogRouter:
    """Maps (flow, step) to the function that takes the member's next message."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, str], StepHandler] = {}

    def on(self, flow: str, step: str) -> Callable[[StepHandler], StepHandler]:
        def decorator(fn: StepHandler) -> StepHandler:
            self._steps[(flow, step)] = fn
            return fn

        return decorator

    def add(self, flow: str, step: str, fn: StepHandler) -> None:
        self._steps[(flow, step)] = fn

    def get(self, flow: str, step: str) -> StepHandler | None:
        return self._steps.get((flow, step))


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(private & ~filters.COMMAND & filters.UpdateType.MESSAGE, route))


async def unknown_command(update: Update, ctx: BranchContext) -> None:
    await reply(
        update, ctx, ctx.gettext("I do not know that command. Send /help to see what I can do.")
    )


async def route(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    router: DialogRouter = ctx.application.bot_data["dialogs"]
    if ctx.viewer.is_member:
        dialog = await ctx.svc.dialogs.get(ctx.viewer.telegram_user_id)
        if dialog is not None:
            step = router.get(dialog.flow, dialog.step)
            if step is not None:
                await step(update, ctx, dialog)
                return
            await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    if not ctx.viewer.is_member:
        await reply(
            update, ctx, _("I can only help members of a branch. Send /start to see how to join.")
        )
        return
    await reply(update, ctx, _("I did not understand that. Send /help to see what I can do."))
