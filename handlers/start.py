"""/start (deep-link codes, menus by role), /help and /cancel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain.codes import normalise_code
from domain.membership import StartOutcome
from domain.roles import Audience, PersonStatus
from domain.viewer import Viewer
from handlers.callbacks import Callback
from handlers.common import Gettext, button, esc, keyboard, notify, reply
from handlers.registry import Registry
from locales.i18n import N_

EVERYONE = (Audience.STRANGER, Audience.MEMBER)

#: Features that hand out other personal codes (the appraisal's representatives):
#: ``async def hook(update, ctx, code) -> bool``, tried in order when the code is not a
#: binding or branch code; True when the hook answered.
CODE_HOOKS: list[Callable[[Update, BranchContext, str], Awaitable[bool]]] = []


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start, filters=private))
    app.add_handler(CommandHandler(["help", "menu"], help_command, filters=private))
    app.add_handler(CommandHandler("cancel", cancel, filters=private))
    registry.command("start", N_("Main menu, or join with a code"), EVERYONE, order=0)
    registry.command("help", N_("What I can do for you"), EVERYONE, order=1)
    registry.command("cancel", N_("Stop what you are doing"), [Audience.MEMBER], order=90)
    registry.badge(_join_badge)


async def _join_badge(ctx: BranchContext) -> str | None:
    viewer = ctx.viewer
    if not viewer.is_reviewer or viewer.branch_id is None:
        return None
    count = await ctx.svc.membership.pending_join_count(viewer.branch_id)
    if not count:
        return None
    return ctx.ngettext(
        "{n} request to join is waiting for you.",
        "{n} requests to join are waiting for you.",
        count,
    ).format(n=count)


async def start(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    await ctx.svc.membership.mark_started(viewer.telegram_user_id)
    if not ctx.args:
        await show_menu(update, ctx)
        return
    code = normalise_code(ctx.args[0])
    if code is None:
        await reply(
            update, ctx, _("That code is not valid. Please check it with your branch secretary.")
        )
        return
    result = await ctx.svc.membership.start_with_code(viewer, code)
    if result.outcome is StartOutcome.INVALID_CODE:
        for hook in CODE_HOOKS:
            if await hook(update, ctx, code):
                return
    branch = esc(result.branch_name or "")
    if result.outcome is StartOutcome.BOUND:
        await refresh_viewer(ctx)
        await reply(update, ctx, _("Your account is now linked to {branch}.").format(branch=branch))
        await show_menu(update, ctx)
    elif result.outcome is StartOutcome.ALREADY_BOUND:
        await reply(update, ctx, _("You are already linked to {branch}.").format(branch=branch))
        await show_menu(update, ctx)
    elif result.outcome is StartOutcome.ALREADY_MEMBER:
        await reply(
            update,
            ctx,
            _(
                "You already belong to {branch}. A transfer to another "
                "branch is done by the secretaries."
            ).format(branch=branch),
        )
    elif result.outcome is StartOutcome.JOIN_PENDING:
        await reply(
            update,
            ctx,
            _(
                "Your request to join {branch} is already waiting for the secretary's approval."
            ).format(branch=branch),
        )
    elif result.outcome is StartOutcome.JOIN_REQUESTED:
        await reply(
            update,
            ctx,
            _(
                "Your request to join {branch} has been sent to the branch "
                "secretary. I will tell you the decision."
            ).format(branch=branch),
        )
        assert result.request_id is not None
        request_id = result.request_id
        for reviewer in result.reviewers:
            await notify(
                ctx,
                reviewer,
                lambda r: join_request_message(
                    r.gettext, request_id, viewer, result.branch_name or ""
                ),
            )
    elif result.outcome is StartOutcome.CODE_USED:
        await reply(
            update,
            ctx,
            _(
                "This personal code has already been used by another "
                "account. Please ask your branch secretary."
            ),
        )
    else:
        await reply(
            update, ctx, _("That code is not valid. Please check it with your branch secretary.")
        )


def join_request_message(
    t: Gettext, request_id: int, applicant: Viewer, branch: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    who = esc(applicant.display_name)
    text = t(
        "<b>Request to join</b>\n{name} (Telegram ID {id}) asks to join {branch}.\nApprove as:"
    ).format(name=who, id=applicant.telegram_user_id, branch=esc(branch))
    rows = [
        [
            button(
                "✅ " + t(PersonStatus.MEMBER.label), Callback("jr", request_id, "ok", "member")
            ),
            button(
                "✅ " + t(PersonStatus.PROBATIONARY.label),
                Callback("jr", request_id, "ok", "probationary"),
            ),
        ],
        [
            button(
                "✅ " + t(PersonStatus.ACTIVIST.label), Callback("jr", request_id, "ok", "activist")
            ),
            button(
                "✅ " + t(PersonStatus.TARGET.label), Callback("jr", request_id, "ok", "target")
            ),
        ],
        [
            button(
                "✅ " + t(PersonStatus.APPLICANT.label),
                Callback("jr", request_id, "ok", "applicant"),
            )
        ],
        [button("❌ " + t("Reject"), Callback("jr", request_id, "no"))],
    ]
    return text, keyboard(rows)


async def refresh_viewer(ctx: BranchContext) -> Viewer:
    """Re-resolve the viewer after a change of binding or role in this update."""
    from store.repositories import get_account

    account = await get_account(ctx.svc.session, ctx.viewer.telegram_user_id)
    assert account is not None
    viewer = await ctx.svc.membership.viewer_for(account)
    ctx.scope.viewer = viewer
    ctx.scope.locale = viewer.locale
    return viewer


def command_lines(ctx: BranchContext) -> list[str]:
    registry: Registry = ctx.application.bot_data["registry"]
    return [
        f"/{info.name} — {esc(ctx.gettext(info.description))}"
        for info in registry.for_audiences(ctx.viewer.audiences)
    ]


async def show_menu(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    if not viewer.is_member:
        text = _(
            "Hello! I am the Branch Assistant (支部助手) of the Party branch.\n\n"
            "To join, ask your branch secretary for your personal code or the branch join "
            "code, then send /start followed by the code, for example <code>/start "
            "ABCD2345</code>."
        )
        await reply(update, ctx, text)
        return
    lines = [
        _("<b>Branch Assistant</b> — {name}").format(name=esc(viewer.full_name)),
        _("Branch: {branch}").format(branch=esc(viewer.branch_name)),
        _("Status: {status}").format(status=_(viewer.status.label) if viewer.status else "-"),
    ]
    if viewer.role is not None and viewer.role.value != "member":
        lines.append(_("Role: {role}").format(role=_(viewer.role.label)))
    registry: Registry = ctx.application.bot_data["registry"]
    badges = [b for b in [await badge(ctx) for badge in registry.badges] if b]
    if badges:
        lines.append("")
        lines.extend(f"• {b}" for b in badges)
    lines.append("")
    lines.append(_("What you can do:"))
    lines.extend(command_lines(ctx))
    await reply(update, ctx, "\n".join(lines))


async def help_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_member:
        await show_menu(update, ctx)
        return
    lines = [_("<b>Commands</b>")]
    lines.extend(command_lines(ctx))
    lines.append("")
    lines.append(_("Change the language with /lang."))
    await reply(update, ctx, "\n".join(lines))


async def cancel(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id):
        await reply(update, ctx, _("Cancelled. Nothing was saved from that step."))
    else:
        await reply(update, ctx, _("There is nothing to cancel."))
