"""The secretary's decisions on join requests (inline buttons); ``/reviewers``: which
committee members share the secretary's review rights; ``/transfer``: a member's Party
membership moves out of the branch (组织关系转出)."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain.errors import Conflict, DomainError, NotFound
from domain.membership import reviewers_of, set_reviewer
from domain.reader import Reader
from domain.roles import Audience, PersonStatus
from handlers.callbacks import Callback, parse, pattern
from handlers.common import (
    LIST_PAGE_SIZE,
    answer_callback,
    button,
    button_router,
    edit,
    esc,
    keyboard,
    notify,
    page_rows,
    render_error,
    reply,
)
from handlers.registry import Registry, refresh_chat_menu
from locales.i18n import N_
from store.repositories import MemberPage


def register(app: BranchApp, registry: Registry) -> None:
    app.add_handler(CallbackQueryHandler(decide, pattern=pattern("jr")))
    app.add_handler(
        CommandHandler("reviewers", reviewers_command, filters=filters.ChatType.PRIVATE)
    )
    app.add_handler(
        CallbackQueryHandler(
            button_router(
                "mb",
                {
                    "rv": toggle_reviewer,
                    "rvp": reviewers_page,
                    "tr": transfer_ask,
                    "trp": transfer_page,
                    "tro": transfer_confirm,
                    "trx": transfer_cancel,
                },
            ),
            pattern=pattern("mb"),
        )
    )
    app.add_handler(CommandHandler("transfer", transfer_command, filters=filters.ChatType.PRIVATE))
    registry.command(
        "reviewers", N_("Committee members with review rights"), [Audience.SECRETARY], order=79
    )
    registry.command(
        "transfer", N_("Transfer a member out of the branch"), [Audience.SECRETARY], order=80
    )


async def decide(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    query = update.callback_query
    assert query is not None
    cb = parse(query.data)
    status: PersonStatus | None = None
    if cb is not None and cb.action == "ok":
        try:
            status = PersonStatus(cb.arg or "member")
        except ValueError:
            cb = None
    if cb is None or cb.action not in {"ok", "no"}:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    try:
        decision = await ctx.svc.membership.decide_join(
            ctx.viewer, cb.id, approve=cb.action == "ok", status=status
        )
    except Conflict as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)
        return
    except DomainError as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)
        return
    name = esc(decision.applicant_name)
    if decision.approved:
        assert decision.status is not None
        outcome = _("✅ {name} approved as {status} by {by}.").format(
            name=name, status=_(decision.status.label), by=esc(decision.decided_by)
        )
    else:
        outcome = _("❌ {name} rejected by {by}.").format(name=name, by=esc(decision.decided_by))
    await answer_callback(update, _("Done."))
    if query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_text(outcome, parse_mode="HTML", reply_markup=None)

    branch = esc(decision.branch_name)

    def applicant_text(r: Reader) -> tuple[str, None]:
        t = r.gettext
        if decision.approved:
            return t(
                "Welcome to {branch}! Your request was approved. Send /start to see your menu."
            ).format(branch=branch), None
        return t(
            "Your request to join {branch} was not approved. Please contact the branch "
            "secretary if you think this is a mistake."
        ).format(branch=branch), None

    await notify(ctx, decision.applicant_telegram_id, applicant_text)


# -- /reviewers: the secretary gives committee members review rights -------------------
async def reviewers_command(update: Update, ctx: BranchContext) -> None:
    try:
        people = await reviewers_of(ctx.svc.membership, ctx.viewer, 0, LIST_PAGE_SIZE)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await reply(update, ctx, *_reviewers_view(ctx, people))


def _reviewers_view(
    ctx: BranchContext, people: MemberPage
) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = ctx.gettext
    text = _(
        "<b>Review rights</b>\nCommittee members (支委) you tick may approve point claims, "
        "read thought reports and confirm fees like you. Tap a name to switch."
    )
    buttons = [
        button(
            ("☑ " if p.can_review else "☐ ") + p.name,
            Callback("mb", p.person_id, "rv", "off" if p.can_review else "on"),
        )
        for p in people.rows
    ]
    return _people_view(ctx, text, buttons, people, "rvp", columns=1)


def _people_view(
    ctx: BranchContext,
    text: str,
    buttons: list[InlineKeyboardButton],
    people: MemberPage,
    nav_action: str,
    *,
    columns: int,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A list of the branch's people (everyone but the secretary), a page at a time."""
    if not people.total:
        return ctx.gettext("There is nobody else in the branch yet."), None
    rows = page_rows(
        ctx.gettext,
        buttons,
        people.page,
        people.pages,
        lambda n: Callback("mb", n, nav_action),
        columns=columns,
    )
    return text, keyboard(rows)


async def reviewers_page(update: Update, ctx: BranchContext, cb: Callback) -> None:
    people = await reviewers_of(ctx.svc.membership, ctx.viewer, cb.id, LIST_PAGE_SIZE)
    await answer_callback(update)
    await edit(update, *_reviewers_view(ctx, people))


async def toggle_reviewer(update: Update, ctx: BranchContext, cb: Callback) -> None:
    if cb.arg not in {"on", "off"}:
        await answer_callback(update, ctx.gettext("This button is no longer valid."), alert=True)
        return
    info = await set_reviewer(ctx.svc.membership, ctx.viewer, cb.id, cb.arg == "on")
    _ = ctx.gettext
    await answer_callback(
        update,
        (_("{name} may now review.") if info.can_review else _("{name} no longer reviews.")).format(
            name=info.name
        ),
    )
    if info.telegram_user_id is not None:
        await refresh_chat_menu(ctx, info.telegram_user_id, reviewer=info.can_review)
    people = await reviewers_of(
        ctx.svc.membership, ctx.viewer, 0, LIST_PAGE_SIZE, person_id=info.person_id
    )
    await edit(update, *_reviewers_view(ctx, people))


# -- /transfer: 组织关系转出 ----------------------------------------------------------------
async def transfer_command(update: Update, ctx: BranchContext) -> None:
    try:
        people = await reviewers_of(ctx.svc.membership, ctx.viewer, 0, LIST_PAGE_SIZE)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await reply(update, ctx, *_transfer_view(ctx, people))


def _transfer_view(
    ctx: BranchContext, people: MemberPage
) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = ctx.gettext
    text = _(
        "<b>Transfer out (组织关系转出)</b>\nWhose Party membership moves to another "
        "organisation? Their records stay; they leave this branch's lists and reminders."
    )
    buttons = [button(p.name, Callback("mb", p.person_id, "tr")) for p in people.rows]
    return _people_view(ctx, text, buttons, people, "trp", columns=2)


async def transfer_page(update: Update, ctx: BranchContext, cb: Callback) -> None:
    people = await reviewers_of(ctx.svc.membership, ctx.viewer, cb.id, LIST_PAGE_SIZE)
    await answer_callback(update)
    await edit(update, *_transfer_view(ctx, people))


async def transfer_ask(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    people = await reviewers_of(ctx.svc.membership, ctx.viewer, 0, 1, person_id=cb.id)
    person = next((p for p in people.rows if p.person_id == cb.id), None)
    if person is None:  # a forged or stale button: refused and audited
        raise NotFound(N_("This member is not in your branch."))
    await answer_callback(update)
    await edit(
        update,
        _(
            "Transfer <b>{name}</b> out of the branch? They will no longer be reminded, "
            "ranked or asked for fees here; their points, reports and payments are kept."
        ).format(name=esc(person.name)),
        keyboard(
            [
                [
                    button("✅ " + _("Transfer out"), Callback("mb", person.person_id, "tro")),
                    button("✖ " + _("Cancel"), Callback("mb", 0, "trx")),
                ]
            ]
        ),
    )


async def transfer_cancel(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await answer_callback(update)
    await edit(update, ctx.gettext("Nothing was changed."))


async def transfer_confirm(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    result = await ctx.svc.membership.transfer_out(ctx.viewer, cb.id)
    await answer_callback(update)
    await edit(
        update,
        _("{name} has been transferred out of the branch.").format(name=esc(result.name)),
    )
    if result.telegram_user_id is None:
        return
    tg = result.telegram_user_id

    def notice(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
        t = r.gettext
        return (
            t(
                "Your Party membership has been transferred out of {branch}. Your records "
                "are kept. To join another branch, send /start with its join code."
            ).format(branch=esc(result.branch_name)),
            None,
        )

    await notify(ctx, tg, notice)
    if result.was_reviewer:  # back to the members' menu
        await refresh_chat_menu(ctx, tg, reviewer=False)
