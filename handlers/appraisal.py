# i18n-domain: appraisal
"""Democratic appraisal in chat: ``/appraisal`` (the secretary's control screen, a
member's own screen, a representative's grading screen), ``/appraisal set NAME VALUE``
and ``/appraisal rep NAME`` for the secretary, representatives joining with ``/start
CODE``, ``/export appraisal YEAR``, the publication (公示) through the deliveries outbox
and the self-assessment reminders. Callback prefix ``ap`` (secretary); the members'
buttons (``av``) are in ``handlers.appraisal_vote``."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from bot.runtime import Runtime
from domain.appraisal_base import AppraisalInfo
from domain.appraisal_export import NOTE_LABELS, appraisal_workbook
from domain.appraisal_meeting import LinkedMeeting
from domain.appraisal_results import REVIEWERS_ONLY, MemberResult, ResultsView
from domain.appraisal_rules import SETTING_RANGES, Grade
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.periods import MAX_YEAR, MIN_YEAR
from domain.reader import Reader
from domain.roles import Audience
from handlers import appraisal_meeting as life
from handlers import appraisal_vote as vote
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
    paged_rows,
    queue_broadcast,
    readers_for,
    render_error,
    reply,
)
from handlers.dialog import DialogRouter
from handlers.registry import Registry
from locales.i18n import N_
from scheduler.deliveries import drain

PREFIX = "ap"
REASON_FLOW = "apreason"
RESULT_LINES = 60
SETTING_NAMES = (*SETTING_RANGES, "mode", "opens", "deadline")


def register(app: BranchApp, registry: Registry) -> None:
    from handlers import start

    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("appraisal", appraisal_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(PREFIX)))
    app.add_handler(CallbackQueryHandler(vote.on_vote_button, pattern=pattern(vote.PREFIX)))
    registry.command(
        "appraisal",
        N_("Democratic appraisal (民主评议党员)"),
        [Audience.MEMBER, Audience.REPRESENTATIVE],
        order=28,
    )
    registry.exporter(
        "appraisal",
        N_("Democratic appraisal register of a year (民主评议党员登记表)"),
        [Audience.REVIEWER],
        export_appraisal,
    )
    registry.periodic("appraisal.remind", timedelta(hours=1), run_reminders)
    router: DialogRouter = app.bot_data["dialogs"]
    router.add(vote.SELF_FLOW, "text", vote.self_step)
    router.add(REASON_FLOW, "reason", _reason_step)
    start.CODE_HOOKS.append(join_with_code)


# -- /appraisal -----------------------------------------------------------------------
async def appraisal_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    args = list(ctx.args or [])
    try:
        if args:
            await _subcommand(update, ctx, args)
            return
        if not viewer.is_member:
            if await ctx.svc.appraisal.is_representative(viewer.telegram_user_id):
                text, markup = await vote.representative_home(ctx)
                await reply(update, ctx, text, markup)
                return
            await reply(
                update,
                ctx,
                _("I can only help members of a branch. Send /start to see how to join."),
            )
            return
        if viewer.is_secretary:
            text, markup = await secretary_home(ctx)
        else:
            text, markup = await vote.member_home(ctx)
            named = life.meeting_line(_, await ctx.svc.appraisal_meeting.linked(viewer))
            if named is not None:
                text += "\n" + named
        await reply(update, ctx, text, markup)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))


async def _subcommand(update: Update, ctx: BranchContext, args: list[str]) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    what = args[0].lower()
    if what == "set" and len(args) == 3 and args[1].lower() in SETTING_NAMES:
        info = await ctx.svc.appraisal.set_value(ctx.viewer, args[1].lower(), args[2])
        problem = info.settings.problem()
        warning = "\n⚠ " + _(problem) if problem else ""
        await reply(update, ctx, _("Saved.") + "\n" + settings_text(_, info) + warning)
    elif what == "rep" and len(args) >= 2:
        seat = await ctx.svc.appraisal.add_public_rep(ctx.viewer, " ".join(args[1:]))
        await reply(
            update,
            ctx,
            _(
                "{name} is a representative (群众代表) in the scoring group. Give them this "
                "personal code; they send <code>/start {code}</code> to the bot and can "
                "then grade the members, nothing else."
            ).format(name=esc(seat.name), code=seat.code),
        )
    else:
        await reply(update, ctx, usage_text(_))


def usage_text(t: Gettext) -> str:
    return t(
        "<b>Appraisal settings</b>\n"
        "/appraisal set daily 70 — weight of the daily points (the appraisal has the rest)\n"
        "/appraisal set self 20 · peer 40 · group 40 — the appraisal's parts (sum 100)\n"
        "/appraisal set excellent 30 — at most this share (%) graded 优秀\n"
        "/appraisal set mode grades|scores — the scoring group's grading\n"
        "/appraisal set chars 500 — length of a self-assessment\n"
        "/appraisal set opens|deadline YYYY-MM-DD — the period\n"
        "/appraisal rep NAME — a non-member representative (群众代表) with a personal code"
    )


def settings_text(t: Gettext, info: AppraisalInfo) -> str:
    s = info.settings
    mode = t("0–100 scores") if s.group_mode == "scores" else t("four grades")
    return t(
        "Weights: daily points {daily}%, appraisal {appraisal}% (self {self}%, peers "
        "{peer}%, scoring group {group}%). 优秀 at most {excellent}%. The group grades "
        "with {mode}. Self-assessment up to {chars} characters."
    ).format(
        daily=s.daily,
        appraisal=s.appraisal,
        self=s.self_,
        peer=s.peer,
        group=s.group,
        excellent=s.excellent,
        mode=mode,
        chars=s.chars,
    )


async def secretary_home(ctx: BranchContext) -> tuple[str, InlineKeyboardMarkup]:
    t = ctx.gettext
    info = await ctx.svc.appraisal.current(ctx.viewer)
    year = ctx.svc.clock.now().year
    if info is None or (info.status != "open" and info.year < year):
        return (
            t("There is no appraisal of {year} yet. Open it for your branch?").format(year=year),
            keyboard(
                [
                    [
                        button(
                            t("Open the appraisal of {year}").format(year=year),
                            Callback(PREFIX, 0, "open"),
                        )
                    ]
                ]
            ),
        )
    o = await ctx.svc.appraisal.overview(ctx.viewer)
    problem = info.settings.problem()
    lines = [
        t("<b>Democratic appraisal {year}</b> (民主评议党员) — {branch}").format(
            year=info.year, branch=esc(info.branch_name)
        ),
        t("Period: {opens} to {deadline}.").format(
            opens=info.opens_on.isoformat(),
            deadline=info.local_deadline().strftime("%Y-%m-%d %H:%M"),
        ),
        settings_text(t, info),
        t("Self-assessments: {done} of {n}. Peer grades cast: {ballots}.").format(
            done=o.selfs, n=o.appraised, ballots=o.ballots
        ),
        t("Scoring group: {names}.").format(
            names="、".join(
                esc(s.name) + ("" if s.kind != "public_rep" else t(" (representative)"))
                for s in o.seats
            )
            or "-"
        ),
    ]
    if problem:
        lines.append("⚠ " + t(problem))
    named = life.meeting_line(t, await ctx.svc.appraisal_meeting.linked(ctx.viewer))
    if named is not None:
        lines.append(named)
    rows: list[list[InlineKeyboardButton]] = []
    if info.status == "open":
        lines.append(t("Settings: /appraisal set … (send /appraisal help)."))
        rows.append([button(t("👥 Scoring group"), Callback(PREFIX, 0, "group"))])
        rows.append(
            [
                button(t("✍ Self-assessment"), Callback(vote.PREFIX, 0, "self")),
                button(t("🗳 Peer appraisal"), Callback(vote.PREFIX, 0, "peer")),
            ]
        )
        rows.append([button(t("📋 Scoring group"), Callback(vote.PREFIX, 0, "grp"))])
        rows.append([life.menu_button(t)])
        rows.append([button(t("📊 Results"), Callback(PREFIX, 0, "res"))])
    else:
        lines.append(t("The appraisal is finalised."))
        rows.append([button(t("📊 Results"), Callback(PREFIX, 0, "res"))])
        if info.status == "final":
            rows.append([button(t("📣 Publish (公示)"), Callback(PREFIX, 0, "pub"))])
    return "\n".join(lines), keyboard(rows)


# -- the secretary's buttons ------------------------------------------------------------
async def _open(update: Update, ctx: BranchContext, cb: Callback) -> None:
    info = await ctx.svc.appraisal.open(ctx.viewer)
    await answer_callback(
        update, ctx.gettext("The appraisal of {year} is open.").format(year=info.year)
    )
    text, markup = await secretary_home(ctx)
    await edit(update, text, markup)


async def _group(update: Update, ctx: BranchContext, cb: Callback) -> None:
    text, markup = await _group_page(ctx, cb.id)
    await answer_callback(update)
    await edit(update, text, markup)


async def _group_page(ctx: BranchContext, page: int) -> tuple[str, InlineKeyboardMarkup]:
    t = ctx.gettext
    people, seated = await ctx.svc.appraisal.group_candidates(ctx.viewer)
    shown = page
    buttons = [
        button(("✓ " if pid in seated else "") + name, Callback(PREFIX, pid, "seat", str(shown)))
        for pid, name in people
    ]
    rows, shown = paged_rows(t, buttons, page, lambda p: Callback(PREFIX, p, "group"))
    rows.append([button(t("« Back"), Callback(PREFIX, 0, "home"))])
    text = t(
        "<b>Scoring group</b> (积分考评小组): ✓ marks who grades. Tap a member to seat "
        "or unseat them (支委, 党员代表). A representative who is not a Party member: "
        "/appraisal rep NAME."
    )
    return text, keyboard(rows)


async def _seat(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    seated = await ctx.svc.appraisal.toggle_seat(ctx.viewer, cb.id)
    await answer_callback(
        update,
        t("Seated in the scoring group.") if seated else t("No longer in the scoring group."),
    )
    page = int(cb.arg) if cb.arg and cb.arg.isdigit() else 0
    text, markup = await _group_page(ctx, page)
    await edit(update, text, markup)


def grade_name(t: Gettext, grade: Grade | None) -> str:
    return t(grade.label) if grade else t("waiting for the group")


def result_line(
    t: Gettext, index: int, r: MemberResult, meeting: LinkedMeeting | None = None
) -> str:
    def num(value: object) -> str:
        return "-" if value is None else str(value)

    votes = " / ".join(str(r.votes.get(g.value, 0)) for g in Grade)
    line = t(
        "{i}. {name} — combined {combined} (appraisal {appraisal}: self {self}, peers "
        "{peer} [{votes}], group {group}; daily {daily}) → {grade}"
    ).format(
        i=index,
        name=esc(r.name),
        combined=num(r.combined),
        appraisal=num(r.appraisal),
        self=num(r.self_score),
        peer=num(r.peer_score),
        votes=votes,
        group=num(r.group_score),
        daily=num(r.daily_mean),
        grade=grade_name(t, r.final),
    )
    notes = [t(NOTE_LABELS[n]) for n in r.notes if n in NOTE_LABELS]
    if r.admonished and "admonished" not in r.notes:
        notes.append(t("admonished (诫勉)"))
    if r.final is not Grade.UNQUALIFIED and r.proposed is Grade.UNQUALIFIED:
        notes.append(t("不合格 not confirmed by the group"))
    attended = life.attendance_note(t, meeting, r.person_id)
    if attended is not None:
        notes.append(attended)
    if notes:
        line += " · " + "; ".join(notes)
    return line


def results_text(t: Gettext, view: ResultsView, meeting: LinkedMeeting | None = None) -> str:
    info = view.info
    excellent = sum(1 for r in view.results if r.final is Grade.EXCELLENT)
    lines = [
        t("<b>Appraisal results {year}</b> — {branch}").format(
            year=info.year, branch=esc(info.branch_name)
        ),
        t(
            "Peer votes per grade: 优秀 / 合格 / 基本合格 / 不合格 "
            "(counts only; ballots are secret)."
        ),
        t("优秀: {n} of at most {cap} ({share}% of {total}).").format(
            n=excellent, cap=view.cap, share=info.settings.excellent, total=len(view.results)
        ),
    ]
    attendance = life.attendance_line(t, meeting)
    if attendance is not None:
        lines.append(attendance)
    lines.append("")
    for i, r in enumerate(view.results[:RESULT_LINES], start=1):
        lines.append(result_line(t, i, r, meeting))
    if len(view.results) > RESULT_LINES:
        lines.append(
            t("… and {n} more: see /export appraisal.").format(n=len(view.results) - RESULT_LINES)
        )
    if view.pending:
        lines.append("")
        lines.append(
            t("不合格 needs the scoring group's confirmation with a reason: {names}.").format(
                names="、".join(esc(r.name) for r in view.pending)
            )
        )
    return "\n".join(lines)


async def _results(update: Update, ctx: BranchContext, cb: Callback) -> None:
    """The results, for the secretary and committee members with review rights (who
    may record the group's decisions on 不合格; finalising is the secretary's)."""
    t = ctx.gettext
    view = await ctx.svc.appraisal.results(ctx.viewer)
    await answer_callback(update)
    rows: list[list[InlineKeyboardButton]] = []
    if view.info.status == "open":
        for r in view.pending[:20]:
            rows.append(
                [
                    button(
                        t("Confirm 不合格: {name}").format(name=r.name),
                        Callback(PREFIX, r.person_id, "unq", "yes"),
                    ),
                    button(t("Not confirmed"), Callback(PREFIX, r.person_id, "unq", "no")),
                ]
            )
        if ctx.viewer.is_secretary:
            rows.append([button(t("✅ Finalise the results"), Callback(PREFIX, 0, "final"))])
    elif view.info.status == "final" and ctx.viewer.is_secretary:
        rows.append([button(t("📣 Publish (公示)"), Callback(PREFIX, 0, "pub"))])
    if ctx.viewer.is_secretary:
        rows.append([button(t("« Back"), Callback(PREFIX, 0, "home"))])
    meeting = await ctx.svc.appraisal_meeting.linked(ctx.viewer)
    await reply(update, ctx, results_text(t, view, meeting), keyboard(rows) if rows else None)


async def _unqualified(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    if not ctx.viewer.is_reviewer:
        await answer_callback(update, t(REVIEWERS_ONLY), alert=True)
        return
    if cb.arg == "no":
        name = await ctx.svc.appraisal.decide_unqualified(
            ctx.viewer, cb.id, confirmed=False, reason=None
        )
        await answer_callback(update, t("Recorded: {name} is graded 基本合格.").format(name=name))
        await edit(update, t("Recorded: {name} is graded 基本合格.").format(name=esc(name)))
        return
    if cb.arg != "yes":
        await answer_callback(update, t("This button is no longer valid."), alert=True)
        return
    view = await ctx.svc.appraisal.results(ctx.viewer)
    target = next((r for r in view.pending if r.person_id == cb.id), None)
    if target is None:
        await answer_callback(update, t("This has already been decided."), alert=True)
        return
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, REASON_FLOW, "reason", {"person": cb.id})
    await answer_callback(update)
    await reply(
        update,
        ctx,
        t(
            "Why does the scoring group grade {name} 不合格? Send the reason "
            "(it goes into the register). /cancel stops."
        ).format(name=esc(target.name)),
    )


async def _reason_step(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    t = ctx.gettext
    text = message_text(update)
    if not text:
        await reply(update, ctx, t("Please send the reason for the grade as text."))
        return
    try:
        name = await ctx.svc.appraisal.decide_unqualified(
            ctx.viewer, int(dialog.data.get("person", 0)), confirmed=True, reason=text
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await reply(
        update,
        ctx,
        t("Recorded: the scoring group confirms 不合格 for {name}.").format(name=esc(name)),
        keyboard([[button(t("📊 Results"), Callback(PREFIX, 0, "res"))]]),
    )


async def _finalise(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    if cb.arg != "yes":
        if not ctx.viewer.is_secretary:
            await answer_callback(update, t("Only the branch secretary can do this."), alert=True)
            return
        await answer_callback(update)
        await edit(
            update,
            t(
                "Finalise the appraisal? The results are stored, votes can no longer "
                "change, and the ballots can never again be linked to anyone."
            ),
            keyboard(
                [
                    [
                        button(t("✅ Finalise"), Callback(PREFIX, 0, "final", "yes")),
                        button(t("✖ Cancel"), Callback(PREFIX, 0, "home")),
                    ]
                ]
            ),
        )
        return
    view = await ctx.svc.appraisal.finalise(ctx.viewer)
    await answer_callback(update, t("Finalised."))
    await edit(
        update,
        t(
            "The appraisal of {year} is finalised. Members see their own result with /appraisal."
        ).format(year=view.info.year),
        keyboard([[button(t("📣 Publish (公示)"), Callback(PREFIX, 0, "pub"))]]),
    )


async def _publish(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    view = await ctx.svc.appraisal.publish(ctx.viewer)
    info = view.info
    from domain.points_chart import ranking_chart  # matplotlib: loaded when first drawn

    # Like /ranking: into the deliveries outbox in this transaction, each member's
    # messages rendered with their own Reader; the chart's title is text too, so one
    # picture per language the recipients read.
    scored = [(r.name, r.combined) for r in view.results if r.combined is not None]
    photos: dict[str, int] = {}
    for locale in sorted(
        {r.locale for r in (await readers_for(ctx.svc, view.recipients)).values()}
    ):
        title = Reader.of(locale).gettext("{branch} {year} democratic appraisal")
        chart = ranking_chart(
            title.format(branch=info.branch_name, year=info.year), scored, maximum=Decimal(100)
        )
        photos[locale] = await ctx.svc.deliveries.store_file(
            f"appraisal-{info.year}-{locale}.png", chart
        )
    by_account = {r.telegram_user_id: r for r in view.results if r.telegram_user_id is not None}

    def render(r: Reader, telegram_id: int) -> list[tuple[str, int | None]]:
        caption = r.gettext("<b>Democratic appraisal {year}</b> — {branch} (公示)").format(
            year=info.year, branch=esc(info.branch_name)
        )
        text = publication_text(r.gettext, view, by_account.get(telegram_id))
        return [(caption, photos[r.locale]), (text, None)]

    await queue_broadcast(ctx.svc, view.recipients, render)
    app = ctx.application
    ctx.after_commit(lambda: _background(app))
    await answer_callback(update, _("Publishing."))
    await edit(
        update,
        _("The results of {year} are being published to {n} members.").format(
            year=info.year, n=len(view.recipients)
        ),
    )


async def _background(app: Any) -> None:
    app.create_task(drain(app), name="appraisal-publication")


def publication_text(t: Gettext, view: ResultsView, mine: MemberResult | None) -> str:
    lines = [
        t("<b>Appraisal results {year}</b> — {branch}").format(
            year=view.info.year, branch=esc(view.info.branch_name)
        )
    ]
    for i, r in enumerate(view.results[:RESULT_LINES], start=1):
        lines.append(
            t("{i}. {name} — {combined} · {grade}").format(
                i=i,
                name=esc(r.name),
                combined=r.combined if r.combined is not None else "-",
                grade=grade_name(t, r.final),
            )
        )
    if len(view.results) > RESULT_LINES:
        lines.append(t("… and {n} more members.").format(n=len(view.results) - RESULT_LINES))
    if mine is not None:
        lines.append("")
        lines.append(
            t("Your result: {grade}; combined score {score}.").format(
                grade=grade_name(t, mine.final),
                score=mine.combined if mine.combined is not None else "-",
            )
        )
    return "\n".join(lines)


async def _home(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    if not ctx.viewer.is_secretary:
        await answer_callback(update, t("Only the branch secretary can do this."), alert=True)
        return
    await answer_callback(update)
    text, markup = await secretary_home(ctx)
    await edit(update, text, markup)


on_button = button_router(
    PREFIX,
    {
        "open": _open,
        "group": _group,
        "seat": _seat,
        "res": _results,
        "unq": _unqualified,
        "final": _finalise,
        "pub": _publish,
        "home": _home,
    },
)


# -- representatives join with /start CODE ----------------------------------------------
async def join_with_code(update: Update, ctx: BranchContext, code: str) -> bool:
    t = ctx.gettext
    try:
        seat = await ctx.svc.appraisal.join_with_code(ctx.viewer, code)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return True
    if seat is None:
        return False
    await reply(
        update,
        ctx,
        t(
            "Welcome, {name}. You are a representative (群众代表) in the scoring group of "
            "the {year} democratic appraisal of {branch}. Send /appraisal to grade the members."
        ).format(name=esc(seat.name), year=seat.year, branch=esc(seat.branch_name)),
    )
    return True


# -- /export appraisal YEAR -------------------------------------------------------------
async def export_appraisal(update: Update, ctx: BranchContext, args: list[str]) -> None:
    _ = ctx.gettext
    year = None
    if args:
        arg = args[0]
        if not (arg.isascii() and arg.isdigit() and MIN_YEAR <= int(arg) <= MAX_YEAR):
            await reply(update, ctx, _("Please give a year, for example /export appraisal 2026."))
            return
        year = int(arg)
    try:
        view = await ctx.svc.appraisal.results(ctx.viewer, year)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    data = appraisal_workbook(view.info, view.results, _)
    await ctx.svc.appraisal.audit(
        "appraisal.export", actor=ctx.viewer, subject_type="appraisal", subject_id=view.info.id
    )
    chat = update.effective_chat
    assert chat is not None
    await ctx.bot.send_document(
        chat.id,
        data,
        filename=f"appraisal-{view.info.year}.xlsx",
        caption=_("Democratic appraisal register {year} (民主评议党员登记表).").format(
            year=view.info.year
        ),
    )


# -- reminders ----------------------------------------------------------------------------
async def run_reminders(app: BranchApp) -> None:
    """Self-assessment reminders 7 and 2 days before the deadline, once each (recorded
    in ``appraisal_reminders`` with the outbox rows, in one transaction; the delivery
    task sends them)."""
    runtime: Runtime = app.bot_data["runtime"]
    async with runtime.unit_of_work() as svc:
        ids = await svc.appraisal.open_appraisal_ids()
    for appraisal_id in ids:
        async with runtime.unit_of_work() as svc:
            info, due = await svc.appraisal.due_reminders(appraisal_id)
            if info is None or not due:
                continue
            when = info.local_deadline().strftime("%Y-%m-%d %H:%M")

            def render(
                r: Reader, telegram_id: int, year: int = info.year, when: str = when
            ) -> list[tuple[str, int | None]]:
                text = r.gettext(
                    "⏰ Your self-assessment for the {year} democratic appraisal is not "
                    "done yet. Deadline: {when}. Send /appraisal."
                ).format(year=year, when=when)
                return [(text, None)]

            await queue_broadcast(svc, due, render)
