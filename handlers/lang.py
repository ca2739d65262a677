"""/lang: choose simplified Chinese, traditional Chinese or English."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain.roles import Audience
from handlers.callbacks import Callback, parse, pattern
from handlers.common import answer_callback, button, esc, keyboard, reply
from handlers.registry import Registry, refresh_chat_menu
from locales.i18n import EN, LANGUAGE_NAMES, N_, SUPPORTED_LOCALES, ZH_HANS, ZH_HANT

#: What a user may type after /lang.
TYPED = {
    "zh_cn": ZH_HANS, "zh_hans": ZH_HANS, "zh": ZH_HANS, "cn": ZH_HANS, "简体": ZH_HANS,
    "zh_tw": ZH_HANT, "zh_hant": ZH_HANT, "zh_hk": ZH_HANT, "tw": ZH_HANT, "繁體": ZH_HANT,
    "繁体": ZH_HANT, "en": EN, "english": EN,
}  # fmt: skip


def register(app: BranchApp, registry: Registry) -> None:
    app.add_handler(CommandHandler("lang", lang, filters=filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(choose, pattern=pattern("lang")))
    registry.command(
        "lang",
        N_("Language: 简体 / 繁體 / English"),
        [Audience.STRANGER, Audience.MEMBER],
        order=95,
    )


async def lang(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if ctx.args:
        wanted = ctx.args[0].strip()
        locale = TYPED.get(wanted.replace("-", "_").lower())
        if locale is not None:
            await _set(update, ctx, locale)
            return
        await reply(
            update,
            ctx,
            _("Unknown language {value}. Choose one below.").format(value=esc(wanted[:20])),
        )
    rows = [
        [button(LANGUAGE_NAMES[loc], Callback("lang", 0, "set", loc))] for loc in SUPPORTED_LOCALES
    ]
    await reply(update, ctx, _("Choose your language:"), keyboard(rows))


async def choose(update: Update, ctx: BranchContext) -> None:
    cb = parse(update.callback_query.data if update.callback_query else None)
    if cb is None or cb.action != "set" or cb.arg not in SUPPORTED_LOCALES:
        await answer_callback(update, ctx.gettext("This button is no longer valid."), alert=True)
        return
    await answer_callback(update)
    await _set(update, ctx, cb.arg)


async def _set(update: Update, ctx: BranchContext, locale: str) -> None:
    await ctx.svc.membership.set_locale(ctx.viewer, locale)
    ctx.scope.locale = locale
    if ctx.viewer.is_reviewer:  # their own fuller menu, now in the new language
        await refresh_chat_menu(ctx, ctx.viewer.telegram_user_id, reviewer=True, locale=locale)
    await reply(
        update,
        ctx,
        ctx.gettext("Language set: {language}.").format(language=LANGUAGE_NAMES[locale]),
    )
