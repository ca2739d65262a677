"""/quiz (practice, native quiz polls, monthly ranking), /exam (take or schedule an exam,
results) and /questions (import a question bank file)."""

# i18n-domain: quiz

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, PollAnswerHandler, filters

from bot.context import BranchApp, BranchContext
from domain.dialogs import Dialog
from domain.errors import DomainError, RowError
from domain.periods import local_today
from domain.quiz import (
    DEFAULT_PASS_MARK,
    MAX_EXAM_QUESTIONS,
    MAX_TIME_LIMIT,
    MAX_TITLE,
    AnswerOutcome,
    AttemptResult,
    ExamAudience,
    ExamDraft,
    ExamInfo,
    ExamResults,
    QuestionView,
    TimeUp,
    parse_int,
    parse_window,
)
from domain.quiz_bank import (
    FALSE_INDEX,
    LETTERS,
    MAX_FILE_BYTES,
    TRUE_INDEX,
    BankError,
    QuestionKind,
    parse_bank,
)
from domain.quiz_export import exam_workbook
from domain.reader import Reader
from domain.roles import Audience
from domain.services import Services
from handlers.callbacks import Callback, parse, pattern
from handlers.common import (
    Gettext,
    Render,
    answer_callback,
    button,
    deliver,
    esc,
    keyboard,
    notify,
    render_error,
    reply,
)
from handlers.dialog import DialogRouter
from handlers.registry import Registry
from locales.i18n import N_

log = logging.getLogger(__name__)

EXAM_FLOW = "quiz_exam"
IMPORT_FLOW = "quiz_import"
MAX_ERRORS_SHOWN = 20
ACCEPTED_SUFFIXES = (".yaml", ".yml", ".csv", ".xlsx")

Send = Callable[[int, Render], Awaitable[Any]]


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("quiz", quiz_command, filters=private))
    app.add_handler(CommandHandler("exam", exam_command, filters=private))
    app.add_handler(CommandHandler("questions", questions_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_practice_button, pattern=pattern("qz")))
    app.add_handler(CallbackQueryHandler(on_exam_button, pattern=pattern("ex")))
    app.add_handler(PollAnswerHandler(on_poll_answer))
    router: DialogRouter = app.bot_data["dialogs"]
    router.add(IMPORT_FLOW, "file", import_step)
    for step, fn in EXAM_STEPS.items():
        router.add(EXAM_FLOW, step, fn)
    registry.command(
        "quiz",
        N_("Party knowledge quiz (/quiz poll for quiz polls, /quiz top for the ranking)"),
        [Audience.MEMBER],
        order=40,
    )
    registry.command("exam", N_("Exams: take one, or schedule one"), [Audience.MEMBER], order=41)
    registry.command(
        "questions", N_("Question bank: import questions"), [Audience.SECRETARY], order=42
    )
    registry.exporter(
        "exams", N_("Exam results (latest, or by number)"), [Audience.REVIEWER], export_exam
    )
    registry.badge(_exam_badge)
    registry.periodic("quiz.timers", timedelta(minutes=1), run_timers)


async def _exam_badge(ctx: BranchContext) -> str | None:
    count = await ctx.svc.quiz.pending_exams(ctx.viewer)
    if not count:
        return None
    return ctx.ngettext(
        "{n} exam is waiting for you: /exam", "{n} exams are waiting for you: /exam", count
    ).format(n=count)


# -- rendering ---------------------------------------------------------------------------


def kind_label(t: Gettext, kind: QuestionKind) -> str:
    return t(kind.label)


def answer_label(t: Gettext, kind: QuestionKind, indices: tuple[int, ...] | list[int]) -> str:
    if kind is QuestionKind.TRUEFALSE:
        return t("True") if list(indices) == [TRUE_INDEX] else t("False")
    return "".join(LETTERS[i] for i in sorted(indices))


def question_text(t: Gettext, q: QuestionView, now: datetime | None) -> str:
    kind = kind_label(t, q.kind)
    if q.is_exam:
        head = t("<b>Exam: {title}</b> · question {n}/{total} · {kind}").format(
            title=esc(q.exam_title or ""), n=q.position, total=q.total, kind=kind
        )
        if q.deadline is not None and now is not None:
            minutes = max(0, math.ceil((q.deadline - now).total_seconds() / 60))
            head += "\n" + t("⏱ {m} min left").format(m=minutes)
    else:
        head = t("<b>Practice</b> · question {n}/{total} · {kind}").format(
            n=q.position, total=q.total, kind=kind
        )
    lines = [head, "", esc(q.text)]
    if q.options:
        lines.append("")
        lines.extend(f"{LETTERS[i]}. {esc(o)}" for i, o in enumerate(q.options))
    if q.kind is QuestionKind.MULTIPLE:
        lines.append("")
        lines.append(t("Choose every correct option, then tap Done."))
    return "\n".join(lines)


def question_markup(t: Gettext, q: QuestionView) -> InlineKeyboardMarkup:
    prefix = "ex" if q.is_exam else "qz"
    rows: list[list[InlineKeyboardButton]] = []
    if q.kind is QuestionKind.TRUEFALSE:
        rows.append(
            [
                button("✔ " + t("True"), Callback(prefix, q.item_id, "pick", str(TRUE_INDEX))),
                button("✘ " + t("False"), Callback(prefix, q.item_id, "pick", str(FALSE_INDEX))),
            ]
        )
    elif q.kind is QuestionKind.SINGLE:
        rows.append(
            [
                button(LETTERS[i], Callback(prefix, q.item_id, "pick", str(i)))
                for i in range(len(q.options))
            ]
        )
    else:
        rows.append(
            [
                button(
                    ("☑ " if i in q.selected else "☐ ") + LETTERS[i],
                    Callback(prefix, q.item_id, "tog", str(i)),
                )
                for i in range(len(q.options))
            ]
        )
        rows.append([button("✅ " + t("Done"), Callback(prefix, q.item_id, "done"))])
    return keyboard(rows)


def feedback_text(t: Gettext, outcome: AnswerOutcome) -> str:
    q = outcome.question
    base = question_text(t, q, None)
    chosen = answer_label(t, q.kind, outcome.chosen)
    if q.is_exam:
        return base + "\n\n" + t("Answer recorded: {answer}").format(answer=chosen)
    if outcome.correct:
        verdict = t("✅ Correct! Your answer: {answer}").format(answer=chosen)
    else:
        verdict = t("❌ Wrong. Your answer: {answer}; the correct answer: {right}").format(
            answer=chosen, right=answer_label(t, q.kind, q.answer)
        )
    lines = [base, "", verdict]
    if q.explanation:
        lines.append(t("Explanation: {text}").format(text=esc(q.explanation)))
    return "\n".join(lines)


def result_text(t: Gettext, r: AttemptResult) -> str:
    if r.exam_id is None:
        lines = [
            t("<b>Practice finished</b>: {correct} of {total} correct, score {score}.").format(
                correct=r.correct, total=r.total, score=r.score
            )
        ]
        if r.points_granted:
            lines.append(t("🎖 Recorded in your points ledger: passed a Party knowledge quiz."))
        lines.append(t("Send /quiz to practise again, or /quiz top for this month's ranking."))
        return "\n".join(lines)
    lines = [
        t("<b>Exam finished: {title}</b>").format(title=esc(r.exam_title or "")),
        t("{correct} of {total} correct, score {score} (pass mark {mark}): {verdict}").format(
            correct=r.correct,
            total=r.total,
            score=r.score,
            mark=r.pass_mark,
            verdict=t("passed ✅") if r.passed else t("not passed ❌"),
        ),
    ]
    if r.expired:
        lines.append(t("Time ran out; questions not answered count as wrong."))
    if r.points_granted:
        lines.append(t("🎖 Recorded in your points ledger: passed a Party knowledge quiz."))
    return "\n".join(lines)


def secretary_result(t: Gettext, r: AttemptResult) -> tuple[str, InlineKeyboardMarkup | None]:
    text = t("<b>Exam result</b> · {title}\n{name}: score {score} — {verdict}").format(
        title=esc(r.exam_title or ""),
        name=esc(r.person_name),
        score=r.score,
        verdict=t("passed ✅") if r.passed else t("not passed ❌"),
    )
    if r.expired:
        text += " " + t("(time ran out)")
    assert r.exam_id is not None
    markup = keyboard([[button("📊 " + t("All results"), Callback("ex", r.exam_id, "res"))]])
    return text, markup


def exam_line(t: Gettext, e: ExamInfo) -> str:
    text = t(
        "<b>{title}</b>\n{start} – {end} · {n} questions · {m} min · pass mark {mark}\nFor: {who}"
    ).format(
        title=esc(e.title),
        start=e.opens_on.isoformat(),
        end=e.closes_on.isoformat(),
        n=e.question_count,
        m=e.time_limit_minutes,
        mark=e.pass_mark,
        who=t(e.audience.label),
    )
    state = {
        "upcoming": t("not open yet"),
        "open": t("open now"),
        "closed": t("closed"),
    }[e.state]
    mine = ""
    if e.my_status == "open":
        mine = t("you are taking it")
    elif e.my_status in ("finished", "expired"):
        mine = t("your score: {score} ({verdict})").format(
            score=e.my_score, verdict=t("passed") if e.my_passed else t("not passed")
        )
    return text + "\n" + state + (f" · {mine}" if mine else "")


async def export_exam(update: Update, ctx: BranchContext, args: list[str]) -> None:
    """``/export exams [NUMBER]``: an exam's results as XLSX (the latest by default)."""
    _ = ctx.gettext
    arg = args[0].lstrip("#") if args else ""
    try:
        exam_id = int(arg) if arg.isdigit() else await ctx.svc.quiz.latest_exam_id(ctx.viewer)
        results = await ctx.svc.quiz.exam_results(ctx.viewer, exam_id)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.quiz.audit(
        "quiz.exam.export", actor=ctx.viewer, subject_type="quiz_exam", subject_id=exam_id
    )
    chat = update.effective_chat
    assert chat is not None
    await ctx.bot.send_document(
        chat.id,
        exam_workbook(results, _),
        filename=f"exam-{exam_id}.xlsx",
        caption=_("Results: {title}").format(title=results.exam.title),
    )


def results_text(t: Gettext, res: ExamResults) -> str:
    e = res.exam
    lines = [
        t("<b>Results: {title}</b> (pass mark {mark})").format(
            title=esc(e.title), mark=e.pass_mark
        ),
        t(
            "Passed {passed} · not passed {failed} · in progress {open} · not taken {missing}"
        ).format(
            passed=res.count("passed"),
            failed=res.count("failed"),
            open=res.count("in_progress"),
            missing=res.count("missing"),
        ),
        "",
    ]
    labels = {
        "passed": t("passed ✅"),
        "failed": t("not passed ❌"),
        "in_progress": t("in progress"),
        "missing": t("not taken"),
    }
    for row in res.rows:
        score = " " + t("{score} points").format(score=row.score) if row.score is not None else ""
        late = " " + t("(time ran out)") if row.expired else ""
        lines.append(f"• {esc(row.name)}（{t(row.status.label)}）{score} {labels[row.state]}{late}")
    return "\n".join(lines)


# -- sending -----------------------------------------------------------------------------


async def send_question(ctx: BranchContext, q: QuestionView) -> None:
    t = ctx.gettext
    if q.as_poll:
        options = [t("True"), t("False")] if q.kind is QuestionKind.TRUEFALSE else list(q.options)
        prefix = f"({q.position}/{q.total}) "
        msg = await ctx.bot.send_poll(
            q.chat_id,
            question=(prefix + q.text)[:300],
            options=options,
            is_anonymous=False,
            type="quiz",
            allows_multiple_answers=q.kind is QuestionKind.MULTIPLE,
            correct_option_ids=list(q.answer),  # type: ignore[arg-type]
            explanation=q.explanation or None,
        )
        assert msg.poll is not None
        await ctx.svc.quiz.set_message(q.item_id, msg.message_id, msg.poll.id)
        return
    sent = await ctx.bot.send_message(
        q.chat_id,
        question_text(t, q, ctx.svc.clock.now()),
        parse_mode=ParseMode.HTML,
        reply_markup=question_markup(t, q),
    )
    await ctx.svc.quiz.set_message(q.item_id, sent.message_id)


def ctx_sender(ctx: BranchContext) -> Send:
    async def send(telegram_id: int, render: Render) -> None:
        await notify(ctx, telegram_id, render)

    return send


async def deliver_result(send: Send, r: AttemptResult) -> None:
    await send(r.chat_id, lambda reader: (result_text(reader.gettext, r), None))
    if r.exam_id is not None:
        for secretary in r.secretaries:
            await send(secretary, lambda reader: secretary_result(reader.gettext, r))


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    with contextlib.suppress(TelegramError):
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


# -- /quiz -------------------------------------------------------------------------------


async def quiz_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    arg = (ctx.args or [""])[0].lower()
    try:
        if arg in ("top", "rank", "排行", "排名"):
            await show_leaderboard(update, ctx)
            return
        chat = update.effective_chat
        assert chat is not None
        mode = "poll" if arg in ("poll", "polls", "投票") else "buttons"
        first = await ctx.svc.quiz.start_practice(ctx.viewer, chat.id, mode=mode)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    intro = _("Practice: {n} questions from the question bank. Your answers are checked at once.")
    if mode == "buttons":
        intro += "\n" + _("Tip: /quiz poll uses Telegram quiz polls instead of buttons.")
    await reply(update, ctx, intro.format(n=first.total))
    await send_question(ctx, first)


async def show_leaderboard(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    board = await ctx.svc.quiz.leaderboard(ctx.viewer)
    if not board.rows:
        await reply(
            update,
            ctx,
            _("Nobody has answered quiz questions this month yet. Send /quiz to be the first!"),
        )
        return
    lines = [_("<b>Quiz ranking · {month}</b>").format(month=board.month)]
    for row in board.rows:
        mark = " 👈" if row.is_me else ""
        lines.append(
            _("{rank}. {name} — {correct} of {answered} correct").format(
                rank=row.rank, name=esc(row.name), correct=row.correct, answered=row.answered
            )
            + mark
        )
    if board.me is not None and board.me not in board.rows:
        lines.append("…")
        lines.append(
            _("{rank}. {name} — {correct} of {answered} correct").format(
                rank=board.me.rank,
                name=esc(board.me.name),
                correct=board.me.correct,
                answered=board.me.answered,
            )
            + " 👈"
        )
    await reply(update, ctx, "\n".join(lines))


# -- answering (buttons and polls) ---------------------------------------------------------


async def on_practice_button(update: Update, ctx: BranchContext) -> None:
    cb = parse(update.callback_query.data if update.callback_query else None)
    if cb is not None and cb.action == "shared":
        await _set_shared(update, ctx, cb.arg == "on")
        return
    await _on_answer_button(update, ctx, exam=False)


async def _set_shared(update: Update, ctx: BranchContext, enabled: bool) -> None:
    _ = ctx.gettext
    try:
        await ctx.svc.quiz.set_shared_bank(ctx.viewer, enabled)
    except DomainError as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)
        return
    await answer_callback(update, _("Done."))
    await _edit(update, _shared_line(_, enabled), _shared_markup(_, enabled))


def _shared_line(t: Gettext, enabled: bool) -> str:
    if enabled:
        return t("Questions are drawn from the shared starter bank and your branch's own.")
    return t("Questions are drawn only from your branch's own bank.")


def _shared_markup(t: Gettext, enabled: bool) -> InlineKeyboardMarkup:
    if enabled:
        return keyboard(
            [[button(t("Use only our own questions"), Callback("qz", 0, "shared", "off"))]]
        )
    return keyboard(
        [[button(t("Also use the shared starter bank"), Callback("qz", 0, "shared", "on"))]]
    )


async def _on_answer_button(update: Update, ctx: BranchContext, *, exam: bool) -> None:
    _ = ctx.gettext
    query = update.callback_query
    assert query is not None
    cb = parse(query.data)
    index: int | None = None
    valid = cb is not None and cb.action in ("pick", "tog", "done")
    if cb is not None and cb.action in ("pick", "tog"):
        valid = cb.arg is not None and cb.arg.isdigit() and int(cb.arg) < len(LETTERS)
        index = int(cb.arg) if valid and cb.arg else None
    if cb is None or not valid:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    quiz = ctx.svc.quiz
    try:
        if cb.action == "tog":
            assert index is not None
            view = await quiz.toggle(ctx.viewer, cb.id, index, exam=exam)
            await answer_callback(update)
            if query.message is not None:
                with contextlib.suppress(TelegramError):
                    await query.edit_message_reply_markup(question_markup(_, view))
            return
        outcome = await quiz.answer(
            ctx.viewer, cb.id, index if cb.action == "pick" else None, exam=exam
        )
    except TimeUp as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)
        if query.message is not None:
            with contextlib.suppress(TelegramError):
                await query.edit_message_reply_markup(None)
        await deliver_result(ctx_sender(ctx), exc.result)
        return
    except DomainError as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)
        return
    if outcome.question.is_exam:
        await answer_callback(update, _("Answer recorded."))
    else:
        await answer_callback(update, _("Correct!") if outcome.correct else _("Wrong."))
    await _edit(update, feedback_text(_, outcome))
    await _after_answer(ctx, outcome)


async def _after_answer(ctx: BranchContext, outcome: AnswerOutcome) -> None:
    if outcome.next is not None:
        await send_question(ctx, outcome.next)
    if outcome.result is not None:
        await deliver_result(ctx_sender(ctx), outcome.result)


async def on_poll_answer(update: Update, ctx: BranchContext) -> None:
    answer = update.poll_answer
    if answer is None or update.effective_user is None:
        return
    try:
        outcome = await ctx.svc.quiz.answer_poll(ctx.viewer, answer.poll_id, answer.option_ids)
    except DomainError as exc:
        error = exc
        await notify(
            ctx,
            ctx.viewer.telegram_user_id,
            lambda r: (
                r.gettext(error.msgid).format(**{k: esc(v) for k, v in error.params.items()}),
                None,
            ),
        )
        return
    if outcome is not None:
        await _after_answer(ctx, outcome)


# -- /exam ---------------------------------------------------------------------------------


async def exam_command(update: Update, ctx: BranchContext) -> None:
    await _show_exams(update, ctx)


async def _show_exams(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    try:
        exams = await ctx.svc.quiz.exams(viewer)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    rows: list[list[InlineKeyboardButton]] = []
    lines = [_("<b>Exams</b>")]
    if not exams:
        lines.append(_("There are no exams for you at the moment."))
    for e in exams:
        lines.append("")
        lines.append(exam_line(_, e))
        short = e.title if len(e.title) <= 16 else e.title[:15] + "…"
        if e.state == "open" and viewer.status in e.audience.statuses:
            if e.my_status is None:
                rows.append(
                    [button("▶ " + _("Start: {title}").format(title=short), _ex(e, "start"))]
                )
            elif e.my_status == "open":
                rows.append(
                    [button("▶ " + _("Continue: {title}").format(title=short), _ex(e, "start"))]
                )
        if viewer.is_reviewer:
            rows.append([button("📊 " + _("Results: {title}").format(title=short), _ex(e, "res"))])
    if viewer.is_secretary:
        rows.append([button("➕ " + _("Schedule an exam"), Callback("ex", 0, "new"))])
    await reply(update, ctx, "\n".join(lines), keyboard(rows) if rows else None)


def _ex(e: ExamInfo, action: str) -> Callback:
    return Callback("ex", e.id, action)


async def on_exam_button(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    query = update.callback_query
    assert query is not None
    cb = parse(query.data)
    if cb is not None and cb.action in ("pick", "tog", "done"):
        await _on_answer_button(update, ctx, exam=True)
        return
    if cb is None or cb.action not in ("start", "res", "new", "aud", "pass"):
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    try:
        if cb.action == "start":
            chat = update.effective_chat
            assert chat is not None
            first = await ctx.svc.quiz.start_exam(ctx.viewer, cb.id, chat.id)
            await answer_callback(update)
            await send_question(ctx, first)
        elif cb.action == "res":
            results = await ctx.svc.quiz.exam_results(ctx.viewer, cb.id)
            await answer_callback(update)
            await reply(update, ctx, results_text(_, results))
        elif cb.action == "new":
            await _exam_new(update, ctx)
        elif cb.action == "pass":
            await _exam_pass_button(update, ctx, cb.arg)
        else:
            await _exam_audience(update, ctx, cb.arg)
    except TimeUp as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)
        await deliver_result(ctx_sender(ctx), exc.result)
    except DomainError as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)


# -- scheduling an exam (a dialog) ---------------------------------------------------------


async def _exam_new(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    if not viewer.is_secretary:
        await answer_callback(update, _("Only the branch secretary can do this."), alert=True)
        return
    await ctx.svc.dialogs.set(viewer.telegram_user_id, EXAM_FLOW, "title", {})
    await answer_callback(update)
    await reply(
        update,
        ctx,
        _(
            "<b>Schedule an exam</b> (step 1 of 6)\nSend the exam title, for example "
            "“2026年第四季度入党积极分子培训考试”. Send /cancel to stop."
        ),
    )


def _text_of(update: Update) -> str | None:
    message = update.effective_message
    return message.text if message is not None and message.text else None


async def _step_title(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    text = (_text_of(update) or "").strip()
    if not text or len(text) > MAX_TITLE:
        await reply(update, ctx, _("The title is 1 to {max} characters.").format(max=MAX_TITLE))
        return
    try:
        pool = await ctx.svc.quiz.exam_pool_size(ctx.viewer)
    except DomainError as exc:
        await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
        await reply(update, ctx, render_error(ctx, exc))
        return
    high = min(MAX_EXAM_QUESTIONS, pool)
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, EXAM_FLOW, "count", {"title": text, "max": high}
    )
    await reply(
        update,
        ctx,
        _("Step 2 of 6: how many questions? Send a number from 1 to {max}.").format(max=high),
    )


async def _step_count(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    high = int(dialog.data.get("max", MAX_EXAM_QUESTIONS))
    try:
        count = parse_int(
            _text_of(update) or "", 1, high, N_("Send a number from {low} to {high}.")
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    data = {**dialog.data, "count": count}
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, EXAM_FLOW, "limit", data)
    await reply(
        update,
        ctx,
        _("Step 3 of 6: the time limit in minutes (1 to {max}).").format(max=MAX_TIME_LIMIT),
    )


async def _step_limit(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    try:
        minutes = parse_int(
            _text_of(update) or "", 1, MAX_TIME_LIMIT, N_("Send a number from {low} to {high}.")
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    data = {**dialog.data, "minutes": minutes}
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, EXAM_FLOW, "window", data)
    today = _today(ctx)
    await reply(
        update,
        ctx,
        _(
            "Step 4 of 6: when may it be taken? Send the first and last day, for example "
            "<code>{start} {end}</code>."
        ).format(start=today.isoformat(), end=(today + timedelta(days=7)).isoformat()),
    )


def _today(ctx: BranchContext) -> Any:
    return local_today(ctx.svc.clock.now(), ctx.viewer.branch_timezone or "Asia/Shanghai")


async def _step_window(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    try:
        start, end = parse_window(_text_of(update) or "", _today(ctx))
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    data = {**dialog.data, "opens_on": start.isoformat(), "closes_on": end.isoformat()}
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, EXAM_FLOW, "pass", data)
    await reply(
        update,
        ctx,
        _("Step 5 of 6: the pass mark (1 to 100). Tap the button to keep {mark}.").format(
            mark=DEFAULT_PASS_MARK
        ),
        keyboard(
            [
                [
                    button(
                        _("{mark} (default)").format(mark=DEFAULT_PASS_MARK),
                        Callback("ex", 0, "pass", str(DEFAULT_PASS_MARK)),
                    )
                ]
            ]
        ),
    )


async def _step_pass(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    try:
        mark = parse_int(_text_of(update) or "", 1, 100, N_("Send a number from {low} to {high}."))
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await _ask_audience(update, ctx, dialog, mark)


async def _exam_pass_button(update: Update, ctx: BranchContext, arg: str | None) -> None:
    _ = ctx.gettext
    dialog = await ctx.svc.dialogs.get(ctx.viewer.telegram_user_id)
    if dialog is None or dialog.flow != EXAM_FLOW or dialog.step != "pass" or not arg:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    await answer_callback(update)
    await _ask_audience(update, ctx, dialog, int(arg) if arg.isdigit() else DEFAULT_PASS_MARK)


async def _ask_audience(update: Update, ctx: BranchContext, dialog: Dialog, mark: int) -> None:
    _ = ctx.gettext
    data = {**dialog.data, "pass_mark": max(1, min(100, mark))}
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, EXAM_FLOW, "audience", data)
    rows = [[button(_(a.label), Callback("ex", 0, "aud", a.value))] for a in ExamAudience]
    await reply(update, ctx, _("Step 6 of 6: who must take it?"), keyboard(rows))


async def _step_audience_text(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    await reply(update, ctx, ctx.gettext("Please tap one of the buttons above, or send /cancel."))


async def _exam_audience(update: Update, ctx: BranchContext, arg: str | None) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    dialog = await ctx.svc.dialogs.get(viewer.telegram_user_id)
    try:
        audience = ExamAudience(arg or "")
    except ValueError:
        audience = None
    if dialog is None or dialog.flow != EXAM_FLOW or dialog.step != "audience" or not audience:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    from datetime import date

    data = dialog.data
    draft = ExamDraft(
        title=str(data["title"]),
        question_count=int(data["count"]),
        time_limit_minutes=int(data["minutes"]),
        opens_on=date.fromisoformat(str(data["opens_on"])),
        closes_on=date.fromisoformat(str(data["closes_on"])),
        pass_mark=int(data["pass_mark"]),
        audience=audience,
    )
    created = await ctx.svc.quiz.create_exam(viewer, draft)
    await ctx.svc.dialogs.clear(viewer.telegram_user_id)
    await answer_callback(update, _("Done."))
    exam = created.exam
    await _edit(update, _("Who must take it: {who}").format(who=_(audience.label)))
    await reply(
        update,
        ctx,
        _("<b>Exam scheduled.</b>")
        + "\n"
        + exam_line(_, exam)
        + "\n"
        + ctx.ngettext(
            "{n} participant was notified.",
            "{n} participants were notified.",
            len(created.participants),
        ).format(n=len(created.participants)),
    )

    def invitation(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
        t = r.gettext
        text = (
            t("📝 <b>Your branch scheduled an exam</b>")
            + "\n"
            + exam_line(t, exam)
            + "\n"
            + t("You may take it once. The timer starts when you tap Start.")
        )
        return text, keyboard(
            [[button("▶ " + t("Start the exam"), Callback("ex", exam.id, "start"))]]
        )

    for telegram_id in created.participants:
        await notify(ctx, telegram_id, invitation)


EXAM_STEPS = {
    "title": _step_title,
    "count": _step_count,
    "limit": _step_limit,
    "window": _step_window,
    "pass": _step_pass,
    "audience": _step_audience_text,
}


# -- /questions: importing a bank ----------------------------------------------------------


async def questions_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    if not viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    stats = await ctx.svc.quiz.bank_stats(viewer)
    await ctx.svc.dialogs.set(viewer.telegram_user_id, IMPORT_FLOW, "file", {})
    await reply(
        update,
        ctx,
        _shared_line(_, stats.uses_shared),
        _shared_markup(_, stats.uses_shared),
    )
    await reply(
        update,
        ctx,
        _(
            "<b>Question bank</b>\nShared starter bank: {shared} questions · your branch: "
            "{own} questions ({single} single choice, {multiple} multiple choice, {tf} true or "
            "false in all).\n\nTo add questions, send me a YAML, CSV or XLSX file now. CSV/XLSX "
            "columns: <code>kind,text,option_a,…,option_f,answer,explanation,topics,source</code>"
            "; kind is single, multiple or truefalse (单选/多选/判断); answer like <code>B</code>, "
            "<code>AC</code>, <code>对</code> or <code>错</code>. A file with any bad row imports "
            "nothing. Send /cancel to stop."
        ).format(
            shared=stats.shared,
            own=stats.branch,
            single=stats.by_kind.get("single", 0),
            multiple=stats.by_kind.get("multiple", 0),
            tf=stats.by_kind.get("truefalse", 0),
        ),
    )


def error_lines(t: Gettext, errors: list[RowError]) -> list[str]:
    lines = [
        t(e.msgid).format(line=e.line, **{k: esc(v) for k, v in e.params.items()})
        for e in errors[:MAX_ERRORS_SHOWN]
    ]
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append(t("… and {n} more.").format(n=len(errors) - MAX_ERRORS_SHOWN))
    return lines


async def import_step(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    message = update.effective_message
    document = message.document if message is not None else None
    if document is None:
        await reply(
            update, ctx, _("Please send the question file (YAML, CSV or XLSX), or send /cancel.")
        )
        return
    filename = document.file_name or "questions"
    if Path(filename).suffix.lower() not in ACCEPTED_SUFFIXES:
        await reply(update, ctx, _("Only YAML, CSV and XLSX question files are accepted."))
        return
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        await reply(
            update,
            ctx,
            _("The file is larger than {max} MB.").format(max=MAX_FILE_BYTES >> 20),
        )
        return
    file = await ctx.bot.get_file(document.file_id)
    data = bytes(await file.download_as_bytearray())
    try:
        questions = parse_bank(data, filename)
    except BankError as exc:
        lines = [_("<b>{file}</b> has errors:").format(file=esc(filename))]
        lines.extend(error_lines(_, exc.errors))
        lines.append("")
        lines.append(_("Nothing was imported. Fix the file and send it again, or send /cancel."))
        await reply(update, ctx, "\n".join(lines))
        return
    try:
        summary = await ctx.svc.quiz.import_as(ctx.viewer, questions, filename)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await reply(
        update,
        ctx,
        _(
            "Imported {file} into the question bank: {created} new, {updated} updated, "
            "{unchanged} unchanged."
        ).format(
            file=esc(filename),
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
        ),
    )


# -- the timer tick ------------------------------------------------------------------------


def _summary(results: ExamResults) -> Render:
    def render(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
        t = r.gettext
        return t("The exam window has closed.") + "\n" + results_text(t, results), None

    return render


async def run_timers(app: BranchApp) -> None:
    """Close exam attempts whose time ran out and send exam summaries when a window
    closes. The database is the record (attempt status, ``results_sent_at``); messages
    go out after the commit."""
    runtime = app.bot_data["runtime"]
    outbox: list[tuple[int, Render]] = []

    async def queue(telegram_id: int, render: Render) -> None:
        outbox.append((telegram_id, render))

    async with runtime.unit_of_work() as svc:
        services: Services = svc
        for result in await services.quiz.close_overdue():
            await deliver_result(queue, result)
        for results, secretaries in await services.quiz.due_summaries():
            for secretary in secretaries:
                await queue(secretary, _summary(results))
    if not outbox:
        return
    # Sent once the closing committed, each in its recipient's language.
    async with runtime.unit_of_work() as svc:
        for telegram_id, render in outbox:
            await deliver(app.bot, svc, telegram_id, render)
