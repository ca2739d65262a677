# i18n-domain: pipeline
"""``/vote``: the ballots a member may still cast (the democratic assessment, the branch
meeting's votes), and for reviewers the open polls with a button to close and count;
the ballot buttons (one vote each) and closing a poll (the procedure is recorded when the
vote passed)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.pipeline_polls import CHOICE_LABELS, ClosedPoll
from domain.pipeline_rules import POLL_LABELS, parse_masses
from domain.roles import Audience
from handlers.callbacks import Callback, pattern
from handlers.common import (
    answer_callback,
    button,
    button_router,
    edit,
    esc,
    keyboard,
    message_text,
    reply,
)
from handlers.dialog import DialogRouter
from handlers.pipeline import FLOW, after_record
from handlers.pipeline_views import VOTE_PREFIX, ballot_view, pipeline_error, result_text
from handlers.registry import Registry
from locales.i18n import N_

MASSES = "masses"


def register(app: BranchApp, registry: Registry) -> None:
    app.add_handler(CommandHandler("vote", vote_command, filters=filters.ChatType.PRIVATE))
    actions = {"v": _on_vote, "close": _on_close}
    app.add_handler(
        CallbackQueryHandler(
            button_router(VOTE_PREFIX, actions, members_only=True), pattern=pattern(VOTE_PREFIX)
        )
    )
    router: DialogRouter = app.bot_data["dialogs"]
    router.add(FLOW, MASSES, masses_step)
    registry.command("vote", N_("Votes on candidates for admission"), [Audience.MEMBER], order=36)


async def vote_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_member:
        await reply(
            update, ctx, _("I can only help members of a branch. Send /start to see how to join.")
        )
        return
    mine = await ctx.svc.pipeline_polls.open_for(ctx.viewer)
    if ctx.viewer.is_reviewer:
        polls = await ctx.svc.pipeline_polls.open_in_branch(ctx.viewer)
        if polls:
            lines = [_("<b>Open polls</b>")]
            rows = []
            for p in polls:
                what = _(POLL_LABELS[p.kind])
                lines.append(
                    _("• {name}: {what} — {cast} of {entitled} voted").format(
                        name=esc(p.name), what=esc(what), cast=p.cast, entitled=p.entitled
                    )
                )
                rows.append(
                    [
                        button(
                            "🗳 " + _("Close and count: {name}").format(name=p.name),
                            Callback(VOTE_PREFIX, p.id, "close"),
                        )
                    ]
                )
            await reply(update, ctx, "\n".join(lines), keyboard(rows))
    if not mine:
        await reply(update, ctx, _("There is no vote waiting for you."))
        return
    for poll in mine:
        await reply(update, ctx, *ballot_view(ctx.reader, poll))


async def _on_vote(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    choice = cb.arg or ""
    poll = await ctx.svc.pipeline_polls.vote(ctx.viewer, cb.id, choice)
    await answer_callback(update, _("Your vote is recorded."))
    label = _(CHOICE_LABELS.get(choice, choice))
    await edit(
        update,
        _("🗳 You voted “{choice}” on {name}. Thank you.").format(
            choice=esc(label), name=esc(poll.name)
        ),
    )


async def _on_close(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    try:
        if await ctx.svc.pipeline_polls.needs_masses(ctx.viewer, cb.id):
            await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, FLOW, MASSES, {"poll": cb.id})
            await answer_callback(update)
            await reply(update, ctx, _(ASK_MASSES))
            return
        closed = await ctx.svc.pipeline_polls.close(ctx.viewer, cb.id)
    except DomainError as exc:
        await answer_callback(update, pipeline_error(ctx, exc), alert=True)
        return
    await answer_callback(update)
    await _closed(update, ctx, closed)


ASK_MASSES = N_(
    "<b>The non-members' ballots (群众测评)</b>\nSend how many non-members were asked and "
    "their ballots: excellent, average, poor — four numbers, e.g. 40 9 1 0. /cancel stops."
)


async def masses_step(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    masses = parse_masses(message_text(update))
    if masses is None:
        await reply(
            update,
            ctx,
            _(
                "Send four numbers: asked, excellent, average, poor (no more ballots than "
                "people asked), e.g. 40 9 1 0."
            ),
        )
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    try:
        closed = await ctx.svc.pipeline_polls.close(
            ctx.viewer, int(dialog.data.get("poll", 0)), masses
        )
    except DomainError as exc:
        await reply(update, ctx, pipeline_error(ctx, exc))
        return
    await _closed(update, ctx, closed)


async def _closed(update: Update, ctx: BranchContext, closed: ClosedPoll) -> None:
    _ = ctx.gettext
    await reply(update, ctx, result_text(_, closed.poll))
    if closed.recorded is not None:
        await after_record(update, ctx, closed.recorded)
    elif closed.poll.passed and closed.poll.months:
        await reply(
            update,
            ctx,
            "✅ "
            + _("The probation of {name} is extended by {n} months.").format(
                name=esc(closed.poll.name), n=closed.poll.months
            ),
        )
