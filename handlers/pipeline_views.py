# i18n-domain: pipeline
"""How the admission pipeline looks in chat: a candidate's file, ballots, poll results,
public notices. Shared by ``handlers.pipeline`` and ``handlers.pipeline_votes``."""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import BranchContext
from domain.errors import DomainError
from domain.pipeline import Dossier, NoticeInfo, StepRefused
from domain.pipeline_polls import CHOICE_LABELS, CHOICES, EXTENSION_CHOICES, PollView
from domain.pipeline_rules import POLL_LABELS, Input, PollKind, Refusal, Stage
from domain.reader import Reader
from domain.roles import PersonStatus
from handlers.callbacks import Callback
from handlers.common import Gettext, button, esc, keyboard, render_error

PREFIX = "pl"
VOTE_PREFIX = "pv"


def refusal_text(t: Gettext, refusal: Refusal | DomainError) -> str:
    msgid = refusal.msgid
    params = refusal.params
    return t(msgid).format(
        **{k: esc(t(v) if k.endswith("_label") else v) for k, v in params.items()}
    )


def pipeline_error(ctx: BranchContext, error: DomainError) -> str:
    """A refused procedure names the procedure (translated); other refusals as usual
    (audited by ``render_error``)."""
    if isinstance(error, StepRefused):
        return refusal_text(ctx.gettext, error)
    return render_error(ctx, error)


def dossier_view(t: Gettext, d: Dossier) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        t("<b>Admission file: {name}</b>").format(name=esc(d.name)),
        t("Status: {status} · {stage}").format(status=t(d.status.label), stage=t(d.stage.label)),
    ]
    stage: Stage | None = None
    for s in d.steps:
        if s.stage is not stage:
            stage = s.stage
            lines.append(f"<i>{esc(t(stage.label))}</i>")
        extra = []
        if s.by:
            extra.append(esc(s.by))
        if "score" in s.value:
            extra.append(t("score {score}").format(score=s.value["score"]))
        if "hours" in s.value:
            extra.append(t("{hours} hours").format(hours=s.value["hours"]))
        if "notice_end" in s.value:
            extra.append(t("until {date}").format(date=s.value["notice_end"]))
        if "months" in s.value:
            extra.append(t("{n} months").format(n=s.value["months"]))
        if "counts" in s.value:
            counts = s.value["counts"]
            extra.append(
                " ".join(f"{esc(t(CHOICE_LABELS.get(k, k)))} {v}" for k, v in counts.items())
            )
        if s.note:
            extra.append(esc(s.note[:200]))
        if s.file_name:
            extra.append("📎 " + esc(s.file_name))
        tail = f" — {'; '.join(extra)}" if extra else ""
        lines.append(f"✅ {s.done_on} {esc(t(s.label))}{tail}")
    if d.probation_end is not None:
        lines.append(t("Probation ends {date}.").format(date=d.probation_end.isoformat()))
    rows: list[list[InlineKeyboardButton]] = []
    if d.adoptable and d.adopt_on is not None:
        lines.append(
            t(
                "Came with the roster as {status}: the earlier procedures were done before "
                "the bot. Tap <b>Start the file here</b> to mark them done on {date}, or "
                "record them one by one."
            ).format(status=t(d.status.label), date=d.adopt_on.isoformat())
        )
        rows.append(
            [button("📥 " + t("Start the file here"), Callback(PREFIX, d.person_id, "adopt"))]
        )
    if d.closed or d.next is None:
        lines.append(t("All procedures are recorded: the file is complete."))
    else:
        lines.append("")
        lines.append(t("Next: <b>{step}</b>").format(step=esc(t(d.next.label))))
        if d.window.earliest is not None:
            lines.append(t("Earliest date: {date}").format(date=d.window.earliest.isoformat()))
        if d.window.latest is not None:
            latest = d.window.latest.isoformat()
            if d.window.latest < d.today:
                lines.append(t("Latest date: {date} (overdue)").format(date=latest))
            else:
                lines.append(t("Latest date: {date}").format(date=latest))
        if d.refusal is not None:
            lines.append("⏳ " + refusal_text(t, d.refusal))
        if d.open_poll_id is not None:
            rows.append(
                [
                    button(
                        "🗳 " + t("Close the poll and count"),
                        Callback(VOTE_PREFIX, d.open_poll_id, "close"),
                    )
                ]
            )
        elif d.next.input is Input.POLL:
            rows.append(
                [
                    button(
                        "🗳 " + t("Open the vote"),
                        Callback(PREFIX, d.person_id, "poll", d.next.code),
                    )
                ]
            )
        else:
            rows.append(
                [button("▶ " + t(d.next.label), Callback(PREFIX, d.person_id, "step", d.next.code))]
            )
        if (
            d.status is PersonStatus.PROBATIONARY
            and d.open_poll_id is None
            and not d.extension_months
        ):
            rows.append(
                [
                    button(
                        t("Extend the probation by {n} months").format(n=n),
                        Callback(PREFIX, d.person_id, "ext", str(n)),
                    )
                    for n in EXTENSION_CHOICES
                ]
            )
    rows.append([button("↩ " + t("All candidates"), Callback(PREFIX, 0, "list"))])
    return "\n".join(lines), keyboard(rows)


def ballot_view(r: Reader, poll: PollView) -> tuple[str, InlineKeyboardMarkup]:
    t = r.gettext
    what = r.label(POLL_LABELS[poll.kind])
    if poll.kind is PollKind.EXTEND:
        what += " " + t("({n} months)").format(n=poll.months)
    lines = [
        t("<b>Vote: {what}</b>").format(what=esc(what)),
        t("Candidate: {name}").format(name=esc(poll.name)),
    ]
    if poll.secret:
        lines.append(t("This is a secret ballot: nobody sees who voted what."))
    else:
        lines.append(t("This is an open vote of the branch general meeting."))
    lines.append(t("One vote each; it cannot be changed."))
    rows = [
        [
            button(t(CHOICE_LABELS[c]), Callback(VOTE_PREFIX, poll.id, "v", c))
            for c in CHOICES[poll.kind]
        ]
    ]
    return "\n".join(lines), keyboard(rows)


def result_text(t: Gettext, poll: PollView) -> str:
    what = t(POLL_LABELS[poll.kind])
    lines = [
        t("<b>Result: {what}</b> — {name}").format(what=esc(what), name=esc(poll.name)),
        t("{cast} of {entitled} entitled voted.").format(cast=poll.cast, entitled=poll.entitled),
        " · ".join(f"{esc(t(CHOICE_LABELS[c]))} {n}" for c, n in poll.counts.items()),
    ]
    if poll.masses is not None:
        m = poll.masses
        lines.append(
            t(
                "Non-members: {cast} of {asked} asked — excellent {excellent} · average "
                "{average} · poor {poor}"
            ).format(
                cast=m.cast, asked=m.asked, excellent=m.excellent, average=m.average, poor=m.poor
            )
        )
    outcome = poll.outcome
    if outcome is not None and outcome.passed:
        lines.append("✅ " + t("Passed."))
    elif outcome is not None:
        lines.append("❌ " + t("Not passed:"))
        lines.extend("• " + t(f).format(**outcome.params) for f in outcome.failures)
    return "\n".join(lines)


def notice_text(r: Reader, branch: str, notice: NoticeInfo) -> str:
    return r.gettext(
        "<b>Public notice (公示)</b>\n{branch}: {name} — {step}.\nThe notice runs from {start} "
        "to {end} (7 working days). Members and others may tell the branch or the higher "
        "committee their opinion in this time."
    ).format(
        branch=esc(branch),
        name=esc(notice.name),
        step=esc(r.label(notice.step_label)),
        start=r.date(notice.start),
        end=r.date(notice.end),
    )


def day(value: date | None) -> str:
    return value.isoformat() if value else "—"
