# i18n-domain: points
"""Points by quarter: /ranking (published to the branch through the outbox),
``/export points`` and the quarter close (final scores, notices below 60)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.context import BranchApp, BranchContext
from bot.runtime import Runtime
from domain.errors import DomainError
from domain.periods import Quarter
from domain.points import (
    MemberScore,
    QuarterCloseResult,
)
from domain.points_export import points_workbook
from domain.reader import Reader
from handlers.common import (
    Gettext,
    esc,
    queue_broadcast,
    readers_for,
    render_error,
    reply,
)
from handlers.points_common import (
    fmt,
    quarter_arg,
    reviewers_only,
    send_to,
)
from scheduler.deliveries import drain


async def ranking_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    quarter = quarter_arg(ctx.args or []) or await ctx.svc.points.default_quarter(ctx.viewer)
    scores, recipients = await ctx.svc.points.publish_ranking(ctx.viewer, quarter)
    if not scores:
        await reply(update, ctx, _("There is nobody to rank yet."))
        return
    branch = ctx.viewer.branch_name or ""
    from domain.points_chart import ranking_chart  # matplotlib: loaded when first drawn

    # The messages go into the deliveries outbox in this transaction: durable with the
    # commit, sent right after it by a background task (the bot keeps answering while
    # Telegram paces a large branch), resumed by the delivery task after a crash. The
    # chart's title is text too: one picture per language the recipients read.
    photos: dict[str, int] = {}
    for locale in sorted({r.locale for r in (await readers_for(ctx.svc, recipients)).values()}):
        title = Reader.of(locale).gettext("{branch} {quarter} points ranking")
        chart = ranking_chart(
            title.format(branch=branch, quarter=quarter.key),
            [(s.name, s.figures.total) for s in scores],
        )
        photos[locale] = await ctx.svc.deliveries.store_file(
            f"ranking-{quarter.key}-{locale}.png", chart
        )
    by_account = {s.telegram_user_id: s for s in scores if s.telegram_user_id is not None}

    def render(r: Reader, telegram_id: int) -> list[tuple[str, int | None]]:
        caption = r.gettext("<b>Points ranking {quarter}</b> — {branch} (公示)").format(
            quarter=quarter.key, branch=esc(branch)
        )
        mine = by_account.get(telegram_id)
        return [
            (caption, photos[r.locale]),
            (_ranking_text(r.gettext, scores, mine, quarter), None),
        ]

    await queue_broadcast(ctx.svc, recipients, render)
    app = ctx.application
    ctx.after_commit(lambda: _background(app, drain(app), f"ranking-{quarter.key}"))
    await reply(
        update,
        ctx,
        _("The ranking of {quarter} is being published to {n} members.").format(
            quarter=quarter.key, n=len(recipients)
        ),
    )


async def _background(
    app: Application[Any, Any, Any, Any, Any, Any], work: Coroutine[Any, Any, object], name: str
) -> None:
    app.create_task(work, name=name)


RANKING_LINES = 30


def _ranking_text(
    t: Gettext, scores: Sequence[MemberScore], mine: MemberScore | None, quarter: Quarter
) -> str:
    lines = [t("<b>Ranking {quarter}</b>").format(quarter=quarter.key)]
    for s in scores[:RANKING_LINES]:
        lines.append(f"{s.rank}. {esc(s.name)} — {fmt(s.figures.total)}")
    if len(scores) > RANKING_LINES:
        lines.append(t("… and {n} more members.").format(n=len(scores) - RANKING_LINES))
    if mine is not None:
        lines.append("")
        lines.append(
            t("Your rank: {rank} of {n}, with {total} points.").format(
                rank=mine.rank, n=len(scores), total=fmt(mine.figures.total)
            )
        )
    return "\n".join(lines)


# -- /export points -------------------------------------------------------------------
async def export_points(update: Update, ctx: BranchContext, args: list[str]) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_reviewer:
        await reply(update, ctx, render_error(ctx, DomainError(reviewers_only())))
        return
    quarter = quarter_arg(args) or await ctx.svc.points.default_quarter(ctx.viewer)
    ledger = await ctx.svc.points.quarter_ledger(ctx.viewer, quarter)
    scores = await ctx.svc.points.scores_for(ctx.viewer, quarter)
    data = await points_workbook(quarter.key, ledger, scores, _, ctx.locale)
    await ctx.svc.points.audit(
        "points.export", actor=ctx.viewer, subject_type="quarter", subject_id=quarter.key
    )
    chat = update.effective_chat
    assert chat is not None
    await ctx.bot.send_document(
        chat.id,
        data,
        filename=f"points-{quarter.key}.xlsx",
        caption=_("Points {quarter}: ledger, scores, indicators.").format(quarter=quarter.key),
    )


async def run_quarter_close(app: BranchApp) -> None:
    """Close quarters whose declaration window is over: final scores, the list of
    members below 60 to the secretary (诫勉 flagged), a private notice to each."""
    runtime: Runtime = app.bot_data["runtime"]
    async with runtime.unit_of_work() as svc:
        branch_ids = await svc.points.branch_ids()
    for branch_id in branch_ids:
        async with runtime.unit_of_work() as svc:
            result = await svc.points.close_due_quarter(branch_id)
        if result is None:
            continue
        async with runtime.unit_of_work() as svc:
            for telegram_id in result.secretary_telegram_ids:
                await send_to(app, svc, telegram_id, _close_report(result))
            for score, warned in result.below:
                if score.telegram_user_id is not None:
                    await send_to(
                        app, svc, score.telegram_user_id, _low_notice(result, score, warned)
                    )


def _close_report(result: QuarterCloseResult) -> Callable[[Reader], str]:
    quarter = result.quarter.key

    def report(r: Reader) -> str:
        t = r.gettext
        lines = [t("<b>{quarter} is closed</b>; its scores are final.").format(quarter=quarter)]
        if not result.below:
            lines.append(t("Nobody scored below 60."))
        else:
            lines.append(t("Members below 60:"))
        for score, warned in result.below:
            line = f"• {esc(score.name)} — {fmt(score.figures.total)}"
            if warned:
                line = (
                    "🔴 "
                    + line
                    + " "
                    + t("(second consecutive quarter below 60: 诫勉 admonishment)")
                )
            lines.append(line)
        return "\n".join(lines)

    return report


def _low_notice(
    result: QuarterCloseResult, score: MemberScore, warned: bool
) -> Callable[[Reader], str]:
    def notice(r: Reader) -> str:
        t = r.gettext
        text = t(
            "Your points score for {quarter} is {total}, below 60. Please talk "
            "with the branch secretary about how to improve."
        ).format(quarter=result.quarter.key, total=fmt(score.figures.total))
        if warned:
            text += "\n" + t(
                "It is the second consecutive quarter below 60; the branch "
                "records an admonishment (诫勉)."
            )
        return text

    return notice
