# i18n-domain: pipeline
"""``/vote``: the ballots a member may still cast (the democratic assessment, the branch
meeting's votes), and for reviewers the open polls with a button to close and count;
the ballot buttons (one vote each) and closing a poll (the procedure is recorded when the
vote passed)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain.errors import DomainError
from domain.pipeline_polls import CHOICE_LABELS
from domain.pipeline_rules import POLL_LABELS
from domain.roles import Audience
from handlers.callbacks import Callback, pattern
from handlers.common import answer_callback, button, button_router, edit, esc, keyboard, reply
from handlers.pipeline import after_record
from handlers.pipeline_views import VOTE_PREFIX, ballot_view, pipeline_error, result_text
from handlers.registry import Registry
from locales.i18n import N_


def register(app: BranchApp, registry: Registry) -> None:
    app.add_handler(CommandHandler("vote", vote_command, filters=filters.ChatType.PRIVATE))
    actions = {"v": _on_vote, "close": _on_close}
    app.add_handler(
        CallbackQueryHandler(
            button_router(VOTE_PREFIX, actions, members_only=True), pattern=pattern(VOTE_PREFIX)
        )
    )
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
        await reply(update, ctx, *ballot_view(_, poll))


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
        closed = await ctx.svc.pipeline_polls.close(ctx.viewer, cb.id)
    except DomainError as exc:
        await answer_callback(update, pipeline_error(ctx, exc), alert=True)
        return
    await answer_callback(update)
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
