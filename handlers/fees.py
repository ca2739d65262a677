"""/fees: Party fees for members (paid, pending, owed; "Paid" with a screenshot) and for
the secretary (the month's totals, who has not paid, nudges, the amount table, confirm or
query payments); the fee-day reminder's content; arrears alerts; ``/export fees YEAR``."""

# i18n-domain: fees

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.fee_export import fee_workbook
from domain.fee_rules import FeeBasis, Month, parse_money
from domain.fees import (
    ArrearsAlertInfo,
    MemberFees,
    MonthSummary,
    SubmissionInfo,
    months_arg,
    parse_months_arg,
)
from domain.periods import MAX_YEAR, MIN_YEAR
from domain.reader import Reader
from domain.roles import Audience
from domain.services import Services
from handlers.callbacks import Callback, pattern
from handlers.common import (
    Gettext,
    answer_callback,
    button,
    button_router,
    caption,
    deliver,
    esc,
    keyboard,
    page_rows,
    reader_for,
    render_error,
    reply,
)
from handlers.dialog import DialogRouter
from handlers.registry import Registry
from locales.i18n import N_
from scheduler.hooks import REMINDER_EXTRAS, ReminderExtra, register_extra

log = logging.getLogger(__name__)

PREFIX = "fee"
FLOW = "fee"
PAGE_SIZE = 20
#: How many months of paid history /fees lists.
PAID_SHOWN = 12
#: Owed months offered one button each (the "pay all" button covers the rest).
OWED_BUTTONS = 6


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("fees", fees_command, filters=private))
    app.add_handler(
        CallbackQueryHandler(
            button_router(PREFIX, _ACTIONS, members_only=True), pattern=pattern(PREFIX)
        )
    )
    registry.command(
        "fees", N_("Party fees: paid, owed, report a payment"), [Audience.MEMBER], order=40
    )
    registry.exporter(
        "fees",
        N_("Party fee register and amount table of a year (XLSX)"),
        [Audience.REVIEWER],
        export_fees,
    )
    registry.periodic("fees.arrears", timedelta(hours=1), _arrears_task, first=timedelta(minutes=2))
    router: DialogRouter = app.bot_data["dialogs"]
    router.add(FLOW, "pay", pay_step)
    router.add(FLOW, "income", income_step)
    router.add(FLOW, "query", query_step)
    if fee_day_extra not in REMINDER_EXTRAS.get("fee_day", []):
        register_extra("fee_day", fee_day_extra, prefetch_fee_day)


# -- formatting -------------------------------------------------------------------------


def money(value: Decimal | None) -> str:
    return "—" if value is None else f"¥{value:.2f}"


def month_text(t: Gettext, month: Month) -> str:
    return t("{year}-{month:02d}").format(year=month.year, month=month.month)


def months_text(t: Gettext, months: list[Month] | tuple[Month, ...]) -> str:
    return t(", ").join(month_text(t, m) for m in months)


def basis_text(t: Gettext, fees: MemberFees) -> str:
    if fees.basis is None or fees.amount is None:
        return t("Your monthly fee has not been set yet. Please ask the branch secretary.")
    if fees.basis is FeeBasis.EMPLOYED:
        detail = t("employed, monthly after-tax salary {income}").format(income=money(fees.income))
    elif fees.basis is FeeBasis.RETIRED:
        detail = t("retired, monthly pension {income}").format(income=money(fees.income))
    else:
        detail = t(fees.basis.label)
    return t("Monthly fee: <b>{amount}</b> ({detail})").format(
        amount=money(fees.amount), detail=detail
    )


def pay_buttons(t: Gettext, fees: MemberFees) -> list[list[InlineKeyboardButton]]:
    owed = [m for m in fees.owed if m.due is not None]
    rows = [
        [
            button(
                t("✅ Paid {month} ({amount})").format(
                    month=month_text(t, m.month), amount=money(m.due)
                ),
                Callback(PREFIX, fees.person_id, "pay", m.month.key),
            )
        ]
        for m in owed[:OWED_BUTTONS]
    ]
    if len(owed) > 1:
        total = sum((m.due for m in owed if m.due is not None), Decimal("0.00"))
        rows.append(
            [
                button(
                    t("✅ Paid all {n} months ({amount})").format(n=len(owed), amount=money(total)),
                    Callback(PREFIX, fees.person_id, "pay", months_arg([m.month for m in owed])),
                )
            ]
        )
    return rows


def member_view(t: Gettext, fees: MemberFees) -> tuple[str, InlineKeyboardMarkup | None]:
    lines = [t("<b>My Party fees</b> — {name}").format(name=esc(fees.name))]
    if fees.start is None:
        lines.append(
            t("Activists and development targets are not yet Party members and pay no fee.")
        )
        return "\n".join(lines), None
    lines.append(basis_text(t, fees))
    paid = fees.paid[-PAID_SHOWN:]
    if paid:
        lines.append("")
        lines.append(t("<b>Paid</b>"))
        lines.extend(f"• {month_text(t, m.month)} {money(m.paid)}" for m in paid)
    if fees.pending:
        lines.append("")
        lines.append(t("<b>Waiting for the secretary's confirmation</b>"))
        lines.extend(f"• {month_text(t, m.month)} {money(m.pending)}" for m in fees.pending)
    lines.append("")
    if fees.owed:
        lines.append(t("<b>Not paid yet</b>"))
        lines.extend(f"• {month_text(t, m.month)} {money(m.due)}" for m in fees.owed)
        lines.append(t("Owed in all: {amount}").format(amount=money(fees.owed_total)))
        lines.append("")
        lines.append(t("After paying, tap “Paid” below; you can add a screenshot of the payment."))
    else:
        lines.append(t("Nothing owed. Thank you!"))
    rows = pay_buttons(t, fees)
    return "\n".join(lines), keyboard(rows) if rows else None


def summary_view(t: Gettext, summary: MonthSummary) -> tuple[str, InlineKeyboardMarkup]:
    month = summary.month
    lines = [
        t("<b>Party fees for {month}</b> — {branch}").format(
            month=month_text(t, month), branch=esc(summary.branch_name)
        ),
        t("Due: {amount} ({n} members)").format(amount=money(summary.due_total), n=summary.liable),
        t("Confirmed: {amount} ({n} members)").format(
            amount=money(summary.confirmed_total), n=summary.confirmed_count
        ),
        t("Waiting for confirmation: {amount} ({n} members)").format(
            amount=money(summary.pending_total), n=summary.pending_count
        ),
    ]
    unpaid = summary.unpaid
    lines.append("")
    if unpaid:
        lines.append(t("<b>Not paid ({n})</b>").format(n=len(unpaid)))
        for member, state in unpaid:
            owed = len(member.owed)
            extra = t(" — {n} months owed").format(n=owed) if owed > 1 else ""
            lines.append(f"• {esc(member.name)} {money(state.due)}{extra}")
    else:
        lines.append(t("Everyone has paid or reported paying."))
    if summary.unassessed:
        lines.append("")
        lines.append(
            t("Monthly amount not set: {names}").format(
                names=t(", ").join(esc(m.name) for m in summary.unassessed)
            )
        )
    rows: list[list[InlineKeyboardButton]] = []
    if unpaid:
        rows.append(
            [
                button(
                    t("🔔 Remind those who have not paid"), Callback(PREFIX, 0, "nudge", month.key)
                )
            ]
        )
    rows.append(
        [
            button(t("◀ {month}").format(month=month_text(t, month.prev())),
                   Callback(PREFIX, 0, "month", month.prev().key)),
            button(t("{month} ▶").format(month=month_text(t, month.next())),
                   Callback(PREFIX, 0, "month", month.next().key)),
        ]
    )  # fmt: skip
    rows.append(
        [
            button(t("Set fee amounts"), Callback(PREFIX, 0, "list")),
            button(t("My own fees"), Callback(PREFIX, 0, "me")),
        ]
    )
    return "\n".join(lines), keyboard(rows)


def submission_text(t: Gettext, info: SubmissionInfo) -> str:
    lines = [
        t("<b>Party fee payment</b>"),
        t("{name} reports paying the Party fee for {months}: {amount}.").format(
            name=esc(info.member_name), months=months_text(t, info.months), amount=money(info.total)
        ),
    ]
    if info.photo_file_id:
        lines.append(t("A screenshot of the payment is attached."))
    else:
        lines.append(t("No screenshot was attached."))
    return "\n".join(lines)


def decision_buttons(t: Gettext, submission_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [
                button(t("✅ Confirm"), Callback(PREFIX, submission_id, "ok")),
                button(t("❓ Query"), Callback(PREFIX, submission_id, "ask")),
            ]
        ]
    )


# -- delivery (handlers and periodic tasks) ---------------------------------------------


async def _edit(update: Update, text: str) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    message = query.message
    with contextlib.suppress(TelegramError):
        if isinstance(message, Message) and message.photo:
            await query.edit_message_caption(
                caption(text), parse_mode=ParseMode.HTML, reply_markup=None
            )
        else:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=None)


# -- /fees ------------------------------------------------------------------------------


async def fees_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    if not viewer.is_member:
        await reply(update, ctx, _("Only members of a branch can use /fees. Send /start first."))
        return
    args = [a.lower() for a in (ctx.args or [])]
    try:
        if args and args[0] in {"me", "my", "我的"}:
            await show_member(update, ctx)
        elif args and args[0] in {"set", "核定"}:
            await show_payers(update, ctx, 0)
        elif viewer.is_reviewer:
            month: Month | None = None
            if args:
                try:
                    month = Month.parse(args[0])
                except ValueError:
                    await reply(
                        update,
                        ctx,
                        _("Use /fees, /fees me, /fees set or /fees 2026-03."),
                    )
                    return
            summary = await ctx.svc.fees.month_summary(viewer, month)
            text, markup = summary_view(_, summary)
            await reply(update, ctx, text, markup)
        else:
            await show_member(update, ctx)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))


async def show_member(update: Update, ctx: BranchContext) -> None:
    fees = await ctx.svc.fees.my_fees(ctx.viewer)
    text, markup = member_view(ctx.gettext, fees)
    await reply(update, ctx, text, markup)


async def show_payers(update: Update, ctx: BranchContext, page: int) -> None:
    _ = ctx.gettext
    found, payers = await ctx.svc.fees.payers(ctx.viewer, page, PAGE_SIZE)
    if not payers:
        await reply(update, ctx, _("There are no Party members on the roster yet."))
        return
    buttons = [
        button(
            f"{name} · {_(basis.label) if basis else _('not set')}",
            Callback(PREFIX, person_id, "pick"),
        )
        for person_id, name, basis in payers
    ]
    rows = page_rows(_, buttons, found.page, found.pages, lambda p: Callback(PREFIX, p, "list"))
    await reply(
        update,
        ctx,
        _("<b>Monthly fee amounts</b>\nChoose a member to set the fee basis:"),
        keyboard(rows),
    )


# -- buttons ----------------------------------------------------------------------------


async def _pay(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    months = parse_months_arg(cb.arg)
    if months is None:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    if cb.id != ctx.viewer.person_id:
        await answer_callback(update, _("This button is not for you."), alert=True)
        return
    lenient = len(months) > 1
    plan = await ctx.svc.fees.plan_payment(ctx.viewer, months, lenient=lenient)
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id,
        FLOW,
        "pay",
        {"months": [m.key for m in plan.months], "lenient": lenient},
    )
    await answer_callback(update)
    lines = [_("You are reporting these Party fees as paid:")]
    lines.extend(
        f"• {month_text(_, m)} {money(a)}" for m, a in zip(plan.months, plan.amounts, strict=True)
    )
    lines.append(_("Total: <b>{amount}</b>").format(amount=money(plan.total)))
    lines.append("")
    lines.append(
        _("Send a screenshot of the payment (a photo) now, or tap “Submit without screenshot”.")
    )
    await reply(
        update,
        ctx,
        "\n".join(lines),
        keyboard(
            [
                [button(_("📨 Submit without screenshot"), Callback(PREFIX, 0, "submit"))],
                [button(_("Cancel"), Callback(PREFIX, 0, "cancel"))],
            ]
        ),
    )


async def _submit(
    update: Update, ctx: BranchContext, dialog: Dialog, photo_file_id: str | None
) -> None:
    _ = ctx.gettext
    months = [Month.parse(k) for k in dialog.data.get("months", [])]
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    try:
        info = await ctx.svc.fees.submit(
            ctx.viewer, months, photo_file_id, lenient=bool(dialog.data.get("lenient"))
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await reply(
        update,
        ctx,
        _(
            "Reported: {months}, {amount}. The branch secretary will confirm it; I will tell you."
        ).format(months=months_text(_, info.months), amount=money(info.total)),
    )
    for reviewer in info.reviewers:
        # Once the submission is committed: the buttons name it.
        ctx.after_commit(
            partial(
                deliver,
                ctx.bot,
                ctx.svc,
                reviewer,
                lambda r: (submission_text(r.gettext, info), decision_buttons(r.gettext, info.id)),
                photo=info.photo_file_id,
            )
        )


async def _submit_button(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    dialog = await ctx.svc.dialogs.get(ctx.viewer.telegram_user_id)
    if dialog is None or (dialog.flow, dialog.step) != (FLOW, "pay"):
        await answer_callback(
            update, _("There is nothing to submit. Tap “Paid” again."), alert=True
        )
        return
    await answer_callback(update)
    await _edit_markup_off(update)
    await _submit(update, ctx, dialog, None)


async def _edit_markup_off(update: Update) -> None:
    query = update.callback_query
    if query is not None and query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)


async def pay_step(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    message = update.effective_message
    if message is not None and message.photo:
        await _submit(update, ctx, dialog, message.photo[-1].file_id)
        return
    await reply(
        update,
        ctx,
        _(
            "Please send the screenshot as a photo, or tap “Submit without screenshot”. "
            "Send /cancel to stop."
        ),
    )


async def _cancel(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await answer_callback(update, _("Cancelled."))
    await _edit_markup_off(update)


async def _confirm(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    info = await ctx.svc.fees.confirm(ctx.viewer, cb.id)
    await answer_callback(update, _("Confirmed."))
    await _edit(
        update,
        submission_text(_, info)
        + "\n"
        + _("✅ Confirmed by {name} and entered in the register.").format(
            name=esc(info.decided_by or "")
        ),
    )
    if info.member_telegram_id is not None:
        await deliver(
            ctx.bot,
            ctx.svc,
            info.member_telegram_id,
            lambda r: (
                r.gettext(
                    "✅ Your Party fee for {months} ({amount}) was confirmed by {name} and "
                    "entered in the payment register."
                ).format(
                    months=months_text(r.gettext, info.months),
                    amount=money(info.total),
                    name=esc(info.decided_by or ""),
                ),
                None,
            ),
        )


async def _ask(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    info = await ctx.svc.fees.check_decidable(ctx.viewer, cb.id)
    message = update.callback_query.message if update.callback_query else None
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id,
        FLOW,
        "query",
        {
            "submission": info.id,
            "message_id": message.message_id if message else None,
            "photo": bool(isinstance(message, Message) and message.photo),
        },
    )
    await answer_callback(update)
    await reply(
        update,
        ctx,
        _(
            "What is unclear about {name}'s payment for {months} ({amount})? Write your "
            "question; I will pass it on. Send /cancel to stop."
        ).format(
            name=esc(info.member_name), months=months_text(_, info.months), amount=money(info.total)
        ),
    )


async def query_step(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    message = update.effective_message
    text = message.text if message is not None else None
    if not text:
        await reply(update, ctx, _("Please write the question as text, or send /cancel."))
        return
    try:
        info = await ctx.svc.fees.query(ctx.viewer, int(dialog.data["submission"]), text)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        if exc.msgid.startswith("Please"):
            return  # let them write it again
        await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await reply(
        update, ctx, _("Your question was sent to {name}.").format(name=esc(info.member_name))
    )
    outcome = (
        submission_text(_, info)
        + "\n"
        + _("❓ Queried by {name}: {reason}").format(
            name=esc(info.decided_by or ""), reason=esc(info.query_reason or "")
        )
    )
    message_id = dialog.data.get("message_id")
    chat = update.effective_chat
    if message_id and chat is not None:
        with contextlib.suppress(TelegramError):
            if dialog.data.get("photo"):
                await ctx.bot.edit_message_caption(
                    chat_id=chat.id, message_id=int(message_id), caption=caption(outcome),
                    parse_mode=ParseMode.HTML, reply_markup=None,
                )  # fmt: skip
            else:
                await ctx.bot.edit_message_text(
                    outcome, chat_id=chat.id, message_id=int(message_id),
                    parse_mode=ParseMode.HTML, reply_markup=None,
                )  # fmt: skip
    if info.member_telegram_id is not None:
        await deliver(
            ctx.bot,
            ctx.svc,
            info.member_telegram_id,
            lambda r: (
                r.gettext(
                    "❓ {name} has a question about your Party fee report for {months} "
                    "({amount}):\n{reason}\n\nPlease check and report the payment again with "
                    "/fees."
                ).format(
                    name=esc(info.decided_by or ""),
                    months=months_text(r.gettext, info.months),
                    amount=money(info.total),
                    reason=esc(info.query_reason or ""),
                ),
                None,
            ),
        )


async def _nudge(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    try:
        month = Month.parse(cb.arg or "")
    except ValueError:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    targets = await ctx.svc.fees.nudge_targets(ctx.viewer, month)
    sent = 0
    for target in targets:
        fees = await ctx.svc.fees.member_fees(target.person_id)
        if await deliver(
            ctx.bot, ctx.svc, target.telegram_id, partial(_nudge_render, fees=fees, month=month)
        ):
            sent += 1
    await answer_callback(
        update, ctx.ngettext("Reminded {n} member.", "Reminded {n} members.", sent).format(n=sent)
    )


def _nudge_render(
    r: Reader, *, fees: MemberFees, month: Month
) -> tuple[str, InlineKeyboardMarkup | None]:
    return nudge_message(r.gettext, fees, month)


def nudge_message(
    t: Gettext, fees: MemberFees, month: Month
) -> tuple[str, InlineKeyboardMarkup | None]:
    state = fees.state(month)
    due = state.due if state else fees.amount
    lines = [t("🔔 <b>Party fee reminder</b>")]
    if due is None:
        lines.append(t("Your monthly fee has not been set yet. Please ask the branch secretary."))
    else:
        lines.append(
            t("Your Party fee for {month} ({amount}) has not been paid yet.").format(
                month=month_text(t, month), amount=money(due)
            )
        )
    if len(fees.owed) > 1:
        lines.append(
            t("Owed in all: {n} months, {amount}.").format(
                n=len(fees.owed), amount=money(fees.owed_total)
            )
        )
    rows = pay_buttons(t, fees)
    return "\n".join(lines), keyboard(rows) if rows else None


async def _remind_one(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    await ctx.svc.fees.person_name(ctx.viewer, cb.id)  # rights: the secretary, same branch
    fees = await ctx.svc.fees.member_fees(cb.id)
    if not fees.owed or fees.telegram_id is None:
        await answer_callback(update, _("Nothing to remind: nothing owed or not reachable."))
        return
    month = fees.owed[-1].month
    sent = await deliver(
        ctx.bot, ctx.svc, fees.telegram_id, lambda r: nudge_message(r.gettext, fees, month)
    )
    await answer_callback(update, _("Reminded.") if sent else _("Could not reach this member."))


async def _month(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    try:
        month = Month.parse(cb.arg or "")
    except ValueError:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    summary = await ctx.svc.fees.month_summary(ctx.viewer, month)
    text, markup = summary_view(_, summary)
    await answer_callback(update)
    query = update.callback_query
    assert query is not None
    with contextlib.suppress(TelegramError):
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def _me(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await answer_callback(update)
    await show_member(update, ctx)


async def _list(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await show_payers(update, ctx, cb.id)  # raises NotAllowed for members
    await answer_callback(update)


_BASES = (FeeBasis.EMPLOYED, FeeBasis.RETIRED, FeeBasis.STUDENT, FeeBasis.NONE, FeeBasis.FIXED)


async def _pick(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    name = await ctx.svc.fees.person_name(ctx.viewer, cb.id)
    await answer_callback(update)
    buttons = [button(_(b.label), Callback(PREFIX, cb.id, "basis", b.value)) for b in _BASES]
    await reply(
        update,
        ctx,
        _("Fee basis of <b>{name}</b>:").format(name=esc(name)),
        keyboard([buttons[0:2], buttons[2:4], buttons[4:]]),
    )


async def _basis(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    try:
        basis = FeeBasis(cb.arg or "")
    except ValueError:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    name = await ctx.svc.fees.person_name(ctx.viewer, cb.id)
    if not basis.needs_income:
        info = await ctx.svc.fees.set_basis(ctx.viewer, cb.id, basis, None)
        await answer_callback(update, _("Saved."))
        await reply(update, ctx, assessed_text(_, info))
        return
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, FLOW, "income", {"person": cb.id, "basis": basis.value}
    )
    await answer_callback(update)
    prompts = {
        FeeBasis.EMPLOYED: _("Monthly after-tax salary of {name}, in yuan (e.g. 4500.50):"),
        FeeBasis.RETIRED: _("Monthly pension of {name}, in yuan (e.g. 3200):"),
        FeeBasis.FIXED: _("Fixed monthly Party fee of {name}, in yuan (e.g. 50):"),
    }
    await reply(update, ctx, prompts[basis].format(name=esc(name)))


def assessed_text(t: Gettext, info: Any) -> str:
    if info.basis in (FeeBasis.EMPLOYED, FeeBasis.RETIRED):
        detail = t("{basis}, monthly income {income}").format(
            basis=t(info.basis.label), income=money(info.income)
        )
    else:
        detail = t(info.basis.label)
    text = t("{name}: {detail} → monthly Party fee <b>{amount}</b>, from {month}.").format(
        name=esc(info.name),
        detail=detail,
        amount=money(info.amount),
        month=month_text(t, info.effective_month),
    )
    if not info.changed:
        text += "\n" + t("(Unchanged.)")
    return text


async def income_step(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    message = update.effective_message
    amount = parse_money(message.text or "") if message is not None and message.text else None
    if amount is None:
        await reply(
            update,
            ctx,
            _("Please send an amount in yuan with at most two decimals, e.g. 4500.50."),
        )
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    try:
        info = await ctx.svc.fees.set_basis(
            ctx.viewer, int(dialog.data["person"]), FeeBasis(dialog.data["basis"]), amount
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await reply(update, ctx, assessed_text(_, info))


_ACTIONS: dict[str, Callable[[Update, BranchContext, Callback], Any]] = {
    "pay": _pay,
    "submit": _submit_button,
    "cancel": _cancel,
    "ok": _confirm,
    "ask": _ask,
    "nudge": _nudge,
    "remind": _remind_one,
    "month": _month,
    "me": _me,
    "list": _list,
    "pick": _pick,
    "basis": _basis,
}


# -- the fee-day reminder ---------------------------------------------------------------


async def fee_day_extra(
    services: Services, person_id: int, day: date, reader: Reader
) -> ReminderExtra | None:
    """What the fee-day reminder shows one member: the amount due and "Paid" buttons."""
    t = reader.gettext
    try:
        fees = await services.fees.member_fees(person_id, Month.of(day))
    except DomainError:
        return None
    if fees.start is None:
        return None
    month = Month.of(day)
    state = fees.state(month)
    extra = ReminderExtra()
    if fees.amount is None:
        extra.lines.append(
            t("Your monthly fee has not been set yet. Please ask the branch secretary.")
        )
        return extra
    if state is None or state.is_paid:
        extra.lines.append(
            t("Your Party fee for {month} is paid. Thank you!").format(month=month_text(t, month))
        )
    elif state.is_pending:
        extra.lines.append(
            t("Your payment for {month} waits for the secretary's confirmation.").format(
                month=month_text(t, month)
            )
        )
    else:
        extra.lines.append(
            t("Party fee due for {month}: <b>{amount}</b>").format(
                month=month_text(t, month), amount=money(state.due)
            )
        )
    if len(fees.owed) > 1 or (fees.owed and (state is None or not state.is_owed)):
        extra.lines.append(
            t("Owed in all: {n} months, {amount}.").format(
                n=len(fees.owed), amount=money(fees.owed_total)
            )
        )
    extra.buttons.extend(pay_buttons(t, fees))
    return extra


async def prefetch_fee_day(services: Services, items: list[tuple[int, date]]) -> None:
    """The fees of a broadcast batch read at once (``fee_day_extra`` then reads them)."""
    by_month: dict[Month, list[int]] = {}
    for person_id, day in items:
        by_month.setdefault(Month.of(day), []).append(person_id)
    for month, person_ids in by_month.items():
        await services.fees.prefetch_member_fees(person_ids, month)


async def send_fee_day_notice(app: BranchApp, branch_id: int, month: Month) -> int:
    """Send the fee-day notice of ``month`` to every Party member of the branch (the
    reminder scheduler may call this, or render ``fee_day`` extras itself). Not
    deduplicated: the caller records what was sent. Returns how many were sent."""
    from domain.fees import PARTY_STATUSES
    from store.repositories import branch_members

    runtime = app.bot_data["runtime"]
    sent = 0
    async with runtime.unit_of_work() as services:
        rows = await branch_members(services.session, branch_id, statuses=PARTY_STATUSES)
        for row in rows:
            if row.account is None:
                continue
            tid = row.account.telegram_user_id
            reader = await reader_for(services, tid)
            extra = await fee_day_extra(
                services, row.person.id, date(month.year, month.month, 1), reader
            )
            if extra is None:
                continue
            text = "\n".join([reader.gettext("📅 <b>Party fee day</b>"), *extra.lines])
            markup = keyboard(extra.buttons) if extra.buttons else None
            # rendered above with the recipient's Reader (the add-on needs the database)
            if await deliver(
                app.bot, services, tid, partial(_prerendered, text=text, markup=markup)
            ):
                sent += 1
    return sent


# -- arrears ----------------------------------------------------------------------------


def _prerendered(
    _reader: Reader, *, text: str, markup: InlineKeyboardMarkup | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    return text, markup


def _arrears_render(
    r: Reader, *, alert: ArrearsAlertInfo
) -> tuple[str, InlineKeyboardMarkup | None]:
    return arrears_message(r.gettext, alert)


def arrears_message(t: Gettext, alert: ArrearsAlertInfo) -> tuple[str, InlineKeyboardMarkup | None]:
    params = {
        "name": esc(alert.name),
        "n": alert.months,
        "since": month_text(t, alert.since),
        "amount": money(alert.owed_total),
    }
    if alert.urgent:
        text = t(
            "🚨 <b>Urgent: Party fee arrears</b>\n{name} has not paid the Party fee for {n} "
            "consecutive months (since {since}); owed: {amount}.\nUnder the Party "
            "constitution, six consecutive months unpaid without good reason is treated as "
            "leaving the Party. Please talk with this member now."
        ).format(**params)
    else:
        text = t(
            "⚠️ <b>Party fee arrears</b>\n{name} has not paid the Party fee for {n} "
            "consecutive months (since {since}); owed: {amount}."
        ).format(**params)
    markup = keyboard(
        [
            [
                button(
                    t("🔔 Remind {name}").format(name=alert.name)[:64],
                    Callback(PREFIX, alert.person_id, "remind"),
                )
            ]
        ]
    )
    return text, markup


async def _arrears_task(app: BranchApp) -> None:
    await check_arrears(app)


async def check_arrears(app: BranchApp) -> int:
    """The periodic task: alert the secretary of members 3 months behind, and again,
    urgent, at 6. Each alert is recorded once (unique row). Returns alerts sent."""
    runtime = app.bot_data["runtime"]
    async with runtime.unit_of_work() as services:
        branch_ids = await services.fees.branch_ids()
    sent = 0
    for branch_id in branch_ids:
        async with runtime.unit_of_work() as services:
            for alert in await services.fees.new_arrears_alerts(branch_id):
                for reviewer in alert.reviewers:
                    if await deliver(
                        app.bot,
                        services,
                        reviewer,
                        partial(_arrears_render, alert=alert),
                    ):
                        sent += 1
    return sent


# -- export -----------------------------------------------------------------------------


async def export_fees(update: Update, ctx: BranchContext, args: list[str]) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    try:
        if args:
            # ASCII digits of a plausible year ("²".isdigit() is true; year 0 has no dates).
            text = args[0]
            if (
                not (text.isascii() and text.isdigit() and len(text) == 4 and int(text) >= MIN_YEAR)
                or int(text) > MAX_YEAR
            ):
                await reply(update, ctx, _("Please give a year like 2026: /export fees 2026"))
                return
            year = int(text)
        else:
            year = ctx.svc.clock.now().year
        register_data = await ctx.svc.fees.year_register(viewer, year)
        assert viewer.branch_id is not None
        schedule = await ctx.svc.fees.schedule(viewer.branch_id)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    data = fee_workbook(register_data, schedule, _)
    chat = update.effective_chat
    assert chat is not None
    await ctx.bot.send_document(
        chat.id,
        document=data,
        filename=f"party-fees-{year}.xlsx",
        caption=_("Party fee register and amount table, {year}.").format(year=year),
    )
    await ctx.svc.fees.audit("fees.export", actor=viewer, year=year)
