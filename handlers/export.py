"""``/export [NAME] [ARGS…]``: one command, many exporters (points, fees, reports …),
each registered by its feature with ``registry.exporter``."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain.roles import Audience
from handlers.common import esc, reply
from handlers.registry import Registry
from locales.i18n import N_


def register(app: BranchApp, registry: Registry) -> None:
    app.add_handler(CommandHandler("export", export, filters=filters.ChatType.PRIVATE))
    registry.command("export", N_("Download spreadsheets (XLSX)"), [Audience.REVIEWER], order=80)


async def export(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    registry: Registry = ctx.application.bot_data["registry"]
    audiences = ctx.viewer.audiences
    available = {n: e for n, e in registry.exporters.items() if e.audiences & audiences}
    if not available:
        await reply(update, ctx, _("There is nothing you can export."))
        return
    args = list(ctx.args or [])
    if args and args[0].lower() in available:
        await available[args[0].lower()].run(update, ctx, args[1:])
        return
    if not args and len(available) == 1:
        await next(iter(available.values())).run(update, ctx, [])
        return
    lines = [_("Which export? Send one of:")]
    lines.extend(f"/export {esc(n)} — {esc(_(e.description))}" for n, e in available.items())
    await reply(update, ctx, "\n".join(lines))
