# i18n-domain: appraisal
"""The members' side of the appraisal (callback prefix ``av``): the self-assessment
(a DB-backed dialog for the text or document, then a self-grade by buttons), the peer
screens (one person per screen, paged list to jump; a vote can change until the
deadline) and the scoring group's screens (members and non-member representatives).
Rules, rights and ballot secrecy live in ``domain.appraisal*``."""

from __future__ import annotations

from decimal import Decimal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BranchContext
from domain.appraisal_base import AppraisalInfo
from domain.appraisal_rules import Grade, parse_grade
from domain.appraisal_votes import BallotScreen
from domain.dialogs import Dialog
from domain.errors import DomainError
from handlers.callbacks import Callback
from handlers.common import (
    Gettext,
    answer_callback,
    button,
    button_router,
    edit,
    esc,
    keyboard,
    paged_rows,
    render_error,
    reply,
)

PREFIX = "av"
SELF_FLOW = "apself"
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
DOCUMENT_MIME = (
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/plain",
)
SCORES = tuple(range(100, -1, -5))


def deadline_text(t: Gettext, info: AppraisalInfo) -> str:
    return t("Deadline: {when}").format(when=info.local_deadline().strftime("%Y-%m-%d %H:%M"))


def grade_rows(t: Gettext, make: object, current: Grade | None) -> list[list[InlineKeyboardButton]]:
    assert callable(make)
    buttons = [button(("✓ " if g is current else "") + t(g.label), make(g.value)) for g in Grade]
    return [buttons[0:2], buttons[2:4]]


# -- the member's home ---------------------------------------------------------------
async def member_home(ctx: BranchContext) -> tuple[str, InlineKeyboardMarkup | None]:
    """What a member sees with /appraisal: the period, their progress, their result."""
    t = ctx.gettext
    svc = ctx.svc.appraisal
    info = await svc.current(ctx.viewer)
    if info is None:
        return t(
            "There is no appraisal open in your branch. The secretary opens it with /appraisal."
        ), None
    lines = [
        t("<b>Democratic appraisal {year}</b> (民主评议党员) — {branch}").format(
            year=info.year, branch=esc(info.branch_name)
        )
    ]
    rows: list[list[InlineKeyboardButton]] = []
    status = ctx.viewer.status
    appraised = status is not None and status.is_party_member
    if info.status != "open":
        mine = await svc.my_result(ctx.viewer)
        if mine is not None and mine.final is not None:
            lines.append(
                t("Your result: {grade}; combined score {score}.").format(
                    grade=t(mine.final.label),
                    score=mine.combined if mine.combined is not None else "-",
                )
            )
        else:
            lines.append(t("The appraisal is finalised."))
    elif appraised:
        lines.append(
            t("Period: {opens} to {deadline}.").format(
                opens=info.opens_on.isoformat(),
                deadline=info.local_deadline().strftime("%Y-%m-%d %H:%M"),
            )
        )
        own = await svc.my_self(ctx.viewer)
        if own is None or own.grade is None:
            lines.append(t("Self-assessment: not done yet."))
        else:
            lines.append(
                t("Self-assessment: done, self-grade {grade}.").format(grade=t(own.grade.label))
            )
        others, mine_votes = await svc.peer_list(ctx.viewer)
        lines.append(
            t("Peer appraisal: {done} of {n} graded.").format(done=len(mine_votes), n=len(others))
        )
        rows.append(
            [
                button(t("✍ Self-assessment"), Callback(PREFIX, 0, "self")),
                button(t("🗳 Peer appraisal"), Callback(PREFIX, 0, "peer")),
            ]
        )
    elif not appraised:
        lines.append(t("Only full and probationary members take part in the appraisal."))
    if info.status == "open" and await svc.seat_of(ctx.viewer, info.id) is not None:
        rows.append([button(t("📋 Scoring group"), Callback(PREFIX, 0, "grp"))])
    if info.status == "open" and ctx.viewer.is_reviewer:
        rows.append([button(t("📊 Results"), Callback("ap", 0, "res"))])
    return "\n".join(lines), keyboard(rows) if rows else None


async def representative_home(ctx: BranchContext) -> tuple[str, InlineKeyboardMarkup | None]:
    t = ctx.gettext
    return (
        t(
            "You are a representative (群众代表) in the scoring group of the democratic "
            "appraisal. You can grade the members; nothing else."
        ),
        keyboard([[button(t("📋 Scoring group"), Callback(PREFIX, 0, "grp"))]]),
    )


# -- self-assessment -------------------------------------------------------------------
async def _self_start(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    info = await ctx.svc.appraisal.check_self_window(ctx.viewer)
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, SELF_FLOW, "text", {})
    await answer_callback(update)
    await reply(
        update,
        ctx,
        t(
            "Send your self-assessment as a message of at most {n} characters, or as a "
            "document (PDF, Word or text). /cancel stops."
        ).format(n=info.settings.chars),
    )


async def self_step(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    """The self-assessment's text or document (the dialog's only step)."""
    t = ctx.gettext
    message = update.effective_message
    try:
        if message is not None and message.document is not None:
            doc = message.document
            if (doc.mime_type or "") not in DOCUMENT_MIME or (
                doc.file_size or 0
            ) > DOCUMENT_MAX_BYTES:
                await reply(
                    update, ctx, t("Please send a PDF, Word or text document of at most 20 MB.")
                )
                return
            await ctx.svc.appraisal.save_self(
                ctx.viewer, document=(doc.file_id, doc.file_name or "document")
            )
        elif message is not None and message.text:
            await ctx.svc.appraisal.save_self(ctx.viewer, text=message.text)
        else:
            await reply(
                update, ctx, t("Please write your self-assessment as text or send a document.")
            )
            return
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    own = await ctx.svc.appraisal.my_self(ctx.viewer)
    await reply(
        update,
        ctx,
        t("Your self-assessment is saved. Now choose your self-grade:"),
        keyboard(grade_rows(t, lambda g: Callback(PREFIX, 0, "sg", g), own.grade if own else None)),
    )


async def _self_grade(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    grade = parse_grade(cb.arg)
    if grade is None:
        await answer_callback(update, t("This button is no longer valid."), alert=True)
        return
    await ctx.svc.appraisal.self_grade(ctx.viewer, grade)
    await answer_callback(update, t("Saved."))
    await edit(
        update,
        t("Your self-assessment is complete: self-grade {grade}.").format(grade=t(grade.label)),
        keyboard([[button(t("🗳 Peer appraisal"), Callback(PREFIX, 0, "peer"))]]),
    )


# -- peer screens ---------------------------------------------------------------------
def peer_screen_text(t: Gettext, s: BallotScreen) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        t("<b>Peer appraisal {i} of {n}</b>").format(i=s.index + 1, n=s.total),
        f"<b>{esc(s.target.name)}</b> ({t(s.target.status.label)})",
        t("Your grade: {grade}").format(grade=t(s.mine.label) if s.mine else t("not yet")),
        t(
            "You have graded {done} of {n}. Your grades are secret and can "
            "change until the deadline."
        ).format(done=s.done, n=s.total),
        deadline_text(t, s.info),
    ]
    rows = grade_rows(t, lambda g: Callback(PREFIX, s.target.person_id, "pv", g), s.mine)
    nav = []
    if s.index > 0:
        nav.append(button(t("◀ Previous"), Callback(PREFIX, s.index - 1, "peer", "n")))
    nav.append(button(t("☰ List"), Callback(PREFIX, s.index // 30, "plist")))
    if s.index < s.total - 1:
        nav.append(button(t("Next ▶"), Callback(PREFIX, s.index + 1, "peer", "n")))
    rows.append(nav)
    return "\n".join(lines), keyboard(rows)


async def _peer(update: Update, ctx: BranchContext, cb: Callback) -> None:
    screen = await ctx.svc.appraisal.peer_screen(ctx.viewer, cb.id)
    await answer_callback(update)
    text, markup = peer_screen_text(ctx.gettext, screen)
    await _show(update, ctx, cb, text, markup)


async def _show(
    update: Update, ctx: BranchContext, cb: Callback, text: str, markup: InlineKeyboardMarkup
) -> None:
    """From the home screen: a new message (the home stays); else edit in place."""
    if cb.id == 0 and cb.action in ("peer", "grp") and cb.arg is None:
        await reply(update, ctx, text, markup)
    else:
        await edit(update, text, markup)


async def _peer_vote(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    grade = parse_grade(cb.arg)
    if grade is None:
        await answer_callback(update, t("This button is no longer valid."), alert=True)
        return
    place = await ctx.svc.appraisal.vote(ctx.viewer, cb.id, grade)
    screen = await ctx.svc.appraisal.peer_screen(ctx.viewer, place + 1)
    if screen.index == place:  # the last one: stay on it
        screen = await ctx.svc.appraisal.peer_screen(ctx.viewer, place)
    await answer_callback(update, t("Saved."))
    text, markup = peer_screen_text(t, screen)
    await edit(update, text, markup)


async def _peer_list(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    others, mine = await ctx.svc.appraisal.peer_list(ctx.viewer)
    buttons = [
        button(("✓ " if m.person_id in mine else "") + m.name, Callback(PREFIX, i, "peer", "l"))
        for i, m in enumerate(others)
    ]
    rows, page = paged_rows(t, buttons, cb.id, lambda p: Callback(PREFIX, p, "plist"))
    await answer_callback(update)
    await edit(
        update,
        t("<b>Peer appraisal</b>: {done} of {n} graded (✓). Choose a member:").format(
            done=len(mine), n=len(others)
        ),
        keyboard(rows),
    )
    del page


# -- the scoring group ----------------------------------------------------------------
def group_screen_text(t: Gettext, s: BallotScreen) -> tuple[str, InlineKeyboardMarkup]:
    scores = s.info.settings.group_mode == "scores"
    if scores:
        current = str(int(s.score)) if s.score is not None else t("not yet")
    else:
        current = t(s.mine.label) if s.mine else t("not yet")
    lines = [
        t("<b>Scoring group {i} of {n}</b>").format(i=s.index + 1, n=s.total),
        f"<b>{esc(s.target.name)}</b> ({t(s.target.status.label)})",
        t("The group's grade: {grade}").format(grade=current),
        t("You have graded {done} of {n}.").format(done=s.done, n=s.total),
        deadline_text(t, s.info),
    ]
    target = s.target.person_id
    if scores:
        mark = int(s.score) if s.score is not None else None
        buttons = [
            button(
                ("✓" if value == mark else "") + str(value),
                Callback(PREFIX, target, "gv", f"s{value}"),
            )
            for value in SCORES
        ]
        rows = [buttons[i : i + 7] for i in range(0, len(buttons), 7)]
    else:
        rows = grade_rows(t, lambda g: Callback(PREFIX, target, "gv", g), s.mine)
    nav = []
    if s.index > 0:
        nav.append(button(t("◀ Previous"), Callback(PREFIX, s.index - 1, "grp", "n")))
    if s.index < s.total - 1:
        nav.append(button(t("Next ▶"), Callback(PREFIX, s.index + 1, "grp", "n")))
    if nav:
        rows.append(nav)
    return "\n".join(lines), keyboard(rows)


async def _group(update: Update, ctx: BranchContext, cb: Callback) -> None:
    screen = await ctx.svc.appraisal.group_screen(ctx.viewer, cb.id)
    await answer_callback(update)
    text, markup = group_screen_text(ctx.gettext, screen)
    await _show(update, ctx, cb, text, markup)


async def _group_grade(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    arg = cb.arg or ""
    grade, score = parse_grade(arg), None
    if grade is None:
        if not (arg.startswith("s") and arg[1:].isascii() and arg[1:].isdigit()):
            await answer_callback(update, t("This button is no longer valid."), alert=True)
            return
        score = Decimal(int(arg[1:]))
        if score > 100:
            await answer_callback(update, t("This button is no longer valid."), alert=True)
            return
    place = await ctx.svc.appraisal.group_grade(ctx.viewer, cb.id, grade=grade, score=score)
    screen = await ctx.svc.appraisal.group_screen(ctx.viewer, place + 1)
    if screen.index == place:
        screen = await ctx.svc.appraisal.group_screen(ctx.viewer, place)
    await answer_callback(update, t("Saved."))
    text, markup = group_screen_text(t, screen)
    await edit(update, text, markup)


async def _home(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await answer_callback(update)
    text, markup = await member_home(ctx)
    await edit(update, text, markup)


ACTIONS = {
    "self": _self_start,
    "sg": _self_grade,
    "peer": _peer,
    "pv": _peer_vote,
    "plist": _peer_list,
    "grp": _group,
    "gv": _group_grade,
    "home": _home,
}


#: Members' and representatives' buttons; every action re-checks the rights.
on_vote_button = button_router(PREFIX, ACTIONS)
