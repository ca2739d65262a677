# i18n-domain: org
"""Across the organisation's branches: ``/move TELEGRAM_ID BRANCH_NO`` (组织关系转接:
the receiving branch's secretary confirms with a button) and ``/notice TEXT`` (通知公告
to every member, paced through the deliveries outbox, with a "read" button whose
presses are counted; ``/notice`` alone lists the latest with their read receipts)."""

from __future__ import annotations

import contextlib
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain.errors import DomainError
from domain.org_moves import MAX_NOTICE_CHARS, TransferInfo
from domain.reader import Reader
from handlers.callbacks import Callback, pattern
from handlers.common import (
    Gettext,
    answer_callback,
    button,
    button_router,
    edit,
    esc,
    keyboard,
    message_text,
    notify,
    queue_broadcast,
    render_error,
    reply,
)
from handlers.org import parse_number
from handlers.registry import Registry, refresh_chat_menu
from scheduler.deliveries import drain

TRANSFER, NOTICE = "tr", "nt"


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("move", move_command, filters=private))
    app.add_handler(CommandHandler("notice", notice_command, filters=private))
    transfer_actions = {"ok": _on_accept, "no": _on_decline}
    app.add_handler(
        CallbackQueryHandler(
            button_router(TRANSFER, transfer_actions, members_only=True),
            pattern=pattern(TRANSFER),
        )
    )
    app.add_handler(
        CallbackQueryHandler(button_router(NOTICE, {"read": _on_read}), pattern=pattern(NOTICE))
    )


# -- /move ---------------------------------------------------------------------------------
def _transfer_text(t: Gettext, info: TransferInfo) -> str:
    return t(
        "<b>Membership transfer</b>\n{name} is to move from {source} to {target}. "
        "Do you take them into your branch?"
    ).format(name=esc(info.person_name), source=esc(info.from_branch), target=esc(info.to_branch))


async def move_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    args = list(ctx.args or [])
    try:
        await ctx.svc.organisation.require_admin(ctx.viewer)
        member = parse_number(args[0]) if len(args) == 2 else None
        target = parse_number(args[1]) if len(args) == 2 else None
        if member is None or target is None:
            await reply(update, ctx, _("Send: /move TELEGRAM_ID BRANCH_NO"))
            return
        info = await ctx.svc.org_moves.request_transfer(ctx.viewer, member, target)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    if info.receiving_secretary is None:
        await reply(
            update,
            ctx,
            _("{branch} has no secretary to confirm the transfer yet.").format(
                branch=esc(info.to_branch)
            ),
        )
        return
    await reply(
        update,
        ctx,
        _("Asked the secretary of {target} to take in {name} (from {source}).").format(
            target=esc(info.to_branch), name=esc(info.person_name), source=esc(info.from_branch)
        ),
    )

    def render(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
        return _transfer_text(r.gettext, info), keyboard(
            [
                [
                    button(r.gettext("✅ Take in"), Callback(TRANSFER, info.id, "ok")),
                    button(r.gettext("✖ Decline"), Callback(TRANSFER, info.id, "no")),
                ]
            ]
        )

    await notify(ctx, info.receiving_secretary, render)


async def _decide(update: Update, ctx: BranchContext, cb: Callback, accept: bool) -> None:
    info = await ctx.svc.org_moves.decide_transfer(ctx.viewer, cb.id, accept)
    _ = ctx.gettext
    if accept:
        done = _("{name} now belongs to your branch.").format(name=esc(info.person_name))
    else:
        done = _("You declined to take in {name}.").format(name=esc(info.person_name))
    await edit(update, _transfer_text(_, info) + "\n\n" + done)
    await answer_callback(update)

    def to_admin(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
        message = (
            r.gettext("{target} took in {name} (from {source}).")
            if accept
            else r.gettext("{target} declined to take in {name}.")
        )
        return message.format(
            target=esc(info.to_branch), name=esc(info.person_name), source=esc(info.from_branch)
        ), None

    await notify(ctx, info.requested_by, to_admin)
    if accept and info.member_telegram_id is not None:

        def to_member(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
            return r.gettext(
                "Your Party membership was transferred from {source} to {target}."
            ).format(source=esc(info.from_branch), target=esc(info.to_branch)), None

        await notify(ctx, info.member_telegram_id, to_member)
        await refresh_chat_menu(ctx, info.member_telegram_id, reviewer=False)


async def _on_accept(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await _decide(update, ctx, cb, True)


async def _on_decline(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await _decide(update, ctx, cb, False)


# -- /notice -------------------------------------------------------------------------------
async def notice_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    # The command, then the text (line breaks kept).
    parts = message_text(update).strip().split(None, 1)
    text = parts[1].strip() if len(parts) == 2 else ""
    try:
        if not text:
            await _list_notices(update, ctx)
            return
        if len(text) > MAX_NOTICE_CHARS:
            await reply(
                update,
                ctx,
                _("A notice is 1 to {n} characters; yours has {m}.").format(
                    n=MAX_NOTICE_CHARS, m=len(text)
                ),
            )
            return
        sent = await ctx.svc.org_moves.publish_notice(ctx.viewer, text)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    notice_id, organisation = sent.id, sent.organisation

    def render(r: Reader, telegram_id: int) -> list[tuple[str, int | None]]:
        head = r.gettext("📢 <b>Notice</b> · {org}").format(org=esc(organisation))
        return [(head + "\n\n" + esc(text), None)]

    def read_button(r: Reader, telegram_id: int) -> InlineKeyboardMarkup:
        label = r.gettext("✅ I have read it")
        return keyboard([[button(label, Callback(NOTICE, notice_id, "read"))]])

    await queue_broadcast(ctx.svc, sent.recipients, render, markup=read_button)
    app = ctx.application
    ctx.after_commit(lambda: _drain_later(app))
    await reply(
        update,
        ctx,
        ctx.ngettext(
            "Notice No. {id} is being sent to {n} member.",
            "Notice No. {id} is being sent to {n} members.",
            len(sent.recipients),
        ).format(id=sent.id, n=len(sent.recipients)),
    )


async def _drain_later(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.create_task(drain(app), name="notice")


async def _list_notices(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    notices = await ctx.svc.org_moves.notices(ctx.viewer)
    if not notices:
        await reply(update, ctx, _("No notice yet. Send: /notice TEXT"))
        return
    lines = [_("<b>Latest notices</b> (read / sent)")]
    for n in notices:
        lines.append(
            _("No. {id} · {read}/{total} read · {text}").format(
                id=n.id, read=n.read, total=n.recipients, text=esc(n.excerpt)
            )
        )
    await reply(update, ctx, "\n".join(lines))


async def _on_read(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    first = await ctx.svc.org_moves.mark_read(ctx.viewer, cb.id)
    await answer_callback(
        update, _("Thank you, marked as read.") if first else _("You already marked it as read.")
    )
    query = update.callback_query
    if first and query is not None and query.message is not None:
        with contextlib.suppress(TelegramError):  # cosmetic
            await query.edit_message_reply_markup(None)
