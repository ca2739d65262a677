# i18n-domain: org
"""The organisation level in chat: ``/org`` (oversight of every branch below the
administrator's organisations, sortable, paged, 🔴 where a rule is broken),
``/org xlsx``, ``/newbranch``, ``/newgeneral``, ``/secretary``, ``/orgadmin``; and
``/dashboard``, the button that opens the Mini App."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain.errors import DomainError, NotAllowed
from domain.org_export import oversight_workbook
from domain.org_life import LifeFigures
from domain.organisation import (
    ADMIN_ADDED,
    ADMIN_EXISTED,
    FLAG_LABELS,
    SORT_KEYS,
    BranchOversight,
    kind_label,
    missed_periods,
    sort_rows,
)
from domain.periods import Quarter
from domain.reader import Reader
from domain.roles import Audience
from handlers.callbacks import Callback, pattern
from handlers.common import (
    Gettext,
    answer_callback,
    button,
    button_router,
    edit,
    esc,
    keyboard,
    notify,
    render_error,
    reply,
    send_file,
)
from handlers.registry import Registry, refresh_chat_menu
from locales.i18n import N_

PREFIX = "og"
PAGE_SIZE = 8
MAX_ARGS_CHARS = 200


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("org", org_command, filters=private))
    app.add_handler(CommandHandler("newbranch", newbranch_command, filters=private))
    app.add_handler(CommandHandler("newgeneral", newgeneral_command, filters=private))
    app.add_handler(CommandHandler("secretary", secretary_command, filters=private))
    app.add_handler(CommandHandler("orgadmin", orgadmin_command, filters=private))
    app.add_handler(CommandHandler("dashboard", dashboard_command, filters=private))
    app.add_handler(
        CallbackQueryHandler(button_router(PREFIX, {"view": _on_view}), pattern=pattern(PREFIX))
    )
    registry.command("dashboard", N_("Open the dashboard (charts)"), [Audience.REVIEWER], order=85)
    registry.badge(_admin_badge)


async def _admin_badge(ctx: BranchContext) -> str | None:
    """In the menu of an organisation administrator: what they administer, and how."""
    orgs = await ctx.svc.organisation.admin_orgs(ctx.viewer.telegram_user_id)
    if not orgs:
        return None
    return ctx.gettext("You administer {orgs}: /org oversight, /notice, /move, /dashboard.").format(
        orgs="、".join(esc(o.name) for o in orgs)
    )


async def _refuse(update: Update, ctx: BranchContext, error: DomainError) -> None:
    await reply(update, ctx, render_error(ctx, error))


# -- /org ---------------------------------------------------------------------------------
def _figures(row: BranchOversight, _: Gettext) -> str:
    mark = "🔴 " if row.flags else "🟢 "
    lines = [
        mark
        + _("<b>{name}</b> ({org}) · secretary {secretary} · {members} people").format(
            name=esc(row.name),
            org=esc(row.organisation),
            secretary=esc(row.secretary or "—"),
            members=row.members,
        ),
        _(
            "Points {quarter}{closed}: {scored} scored, average {average}, "
            "{pending} claims pending, {below} below 60, {warnings} 诫勉"
        ).format(
            quarter=row.quarter,
            closed=_(" (closed)") if row.quarter_closed else "",
            scored=row.scored,
            average=row.average if row.average is not None else "—",
            pending=row.pending_claims,
            below=row.below_60,
            warnings=row.warnings,
        ),
        _(
            "Fees {month}: {paid}/{liable} paid, {pending} to confirm, "
            "{arrears3} owe 3+ months, {arrears6} owe 6+"
        ).format(
            month=row.fee_month,
            paid=row.fee_paid,
            liable=row.fee_liable,
            pending=row.fee_pending,
            arrears3=row.arrears_3,
            arrears6=row.arrears_6,
        ),
        _("Thought reports: {owed} owed, {overdue} overdue").format(
            owed=row.reports_owed, overdue=row.reports_overdue
        ),
    ]
    if row.exam_title is not None:
        lines.append(
            _("Exam {title}: {passed}/{total} passed").format(
                title=esc(row.exam_title), passed=row.exam_passed, total=row.exam_total
            )
        )
    else:
        lines.append(_("Exams: none held yet"))
    if row.life is not None:
        lines += life_lines(row.quarter, row.life, _)
    if row.flags:
        lines.append("🔴 " + ", ".join(_(FLAG_LABELS[f]) for f in row.flags))
    return "\n".join(lines)


def life_lines(quarter: str, life: LifeFigures, _: Gettext) -> list[str]:
    meetings = _("Meetings {quarter}: {held}/{due} required held").format(
        quarter=quarter, held=life.held, due=life.due
    )
    if life.missed:
        periods = "、".join(missed_periods(life, _))
        meetings += _("; not held: {periods}").format(periods=esc(periods))
    lecture = _("lecture given") if life.lectured else _("no secretary's lecture yet")
    talks = _(
        "Talks {year}: {covered}/{people} had a talk with a committee member; {lecture}"
    ).format(
        year=life.year,
        covered=life.talk_people - life.talk_uncovered,
        people=life.talk_people,
        lecture=lecture,
    )
    return [meetings, talks]


def render_oversight(
    rows: list[BranchOversight], sort: str, page: int, _: Gettext
) -> tuple[str, InlineKeyboardMarkup]:
    rows = sort_rows(rows, sort)
    pages = max(1, (len(rows) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    flagged = sum(1 for r in rows if r.flags)
    head = _("<b>Oversight of {count} branches</b> ({flagged} with 🔴) · sorted by {sort}").format(
        count=len(rows), flagged=flagged, sort=_(SORT_KEYS[sort])
    )
    if pages > 1:
        head += " · " + _("page {page} of {pages}").format(page=page + 1, pages=pages)
    body = [head, *(_figures(r, _) for r in shown)]
    if not rows:
        body.append(_("No branch belongs to your organisation yet. Create one with /newbranch."))
    sort_buttons = [
        button(("· " if key == sort else "") + _(label), Callback(PREFIX, page, "view", key))
        for key, label in SORT_KEYS.items()
    ]
    markup_rows = [sort_buttons[:3], sort_buttons[3:]]
    arrows = []
    if page > 0:
        arrows.append(button(_("◀ Previous"), Callback(PREFIX, page - 1, "view", sort)))
    if page < pages - 1:
        arrows.append(button(_("Next ▶"), Callback(PREFIX, page + 1, "view", sort)))
    if arrows:
        markup_rows.append(arrows)
    return "\n\n".join(body), keyboard(markup_rows)


async def org_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    args = list(ctx.args or [])
    try:
        if args and args[0].lower() == "xlsx":
            quarter = _quarter(args[1]) if len(args) > 1 else None
            if len(args) > 1 and quarter is None:
                await reply(update, ctx, _("Send: /org xlsx [QUARTER, e.g. 2026Q3]"))
                return
            await _send_xlsx(update, ctx, quarter)
            return
        rows = await ctx.svc.organisation.oversight(ctx.viewer)
    except DomainError as exc:
        await _refuse(update, ctx, exc)
        return
    sort = args[0].lower() if args and args[0].lower() in SORT_KEYS else "flags"
    orgs = await ctx.svc.organisation.admin_orgs(ctx.viewer.telegram_user_id)
    names = "、".join(f"{esc(o.name)}（{esc(_(kind_label(o.kind)))} #{o.id}）" for o in orgs)
    text, markup = render_oversight(rows, sort, 0, _)
    help_text = _(
        "Commands: /org xlsx · /newbranch NAME TELEGRAM_ID · /newgeneral NAME · "
        "/secretary BRANCH_NO TELEGRAM_ID · /orgadmin TELEGRAM_ID · /dashboard"
    )
    await reply(update, ctx, names + "\n" + text + "\n\n" + help_text, markup)


async def _on_view(update: Update, ctx: BranchContext, cb: Callback) -> None:
    sort = cb.arg if cb.arg in SORT_KEYS else None
    if sort is None:
        raise NotAllowed(N_("This button is no longer valid."))
    rows = await ctx.svc.organisation.oversight(ctx.viewer)
    text, markup = render_oversight(rows, sort, cb.id, ctx.gettext)
    await edit(update, text, markup)
    await answer_callback(update)


def _quarter(text: str) -> Quarter | None:
    try:
        return Quarter.parse(text)
    except ValueError:
        return None


async def _send_xlsx(update: Update, ctx: BranchContext, quarter: Quarter | None) -> None:
    _ = ctx.gettext
    rows = sort_rows(await ctx.svc.organisation.oversight(ctx.viewer, quarter), "name")
    data = oversight_workbook(rows, _)
    key = rows[0].quarter if rows else (quarter.key if quarter else "-")
    await ctx.svc.organisation.audit("org.export", actor=ctx.viewer, rows=len(rows), quarter=key)
    await send_file(
        update,
        ctx,
        data,
        f"oversight-{key}.xlsx",
        _("Oversight of {count} branches, {quarter}.").format(count=len(rows), quarter=key),
    )


# -- changes from above ------------------------------------------------------------------
def parse_number(text: str) -> int | None:
    """A Telegram id or a branch / organisation number typed as an argument (ASCII
    digits, at most 15), else None."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        return None
    return int(text)


async def newbranch_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    args = list(ctx.args or [])
    usage = _("Send: /newbranch [ORGANISATION_NO] NAME SECRETARY_TELEGRAM_ID")
    try:
        await ctx.svc.organisation.require_admin(ctx.viewer)
    except DomainError as exc:
        await _refuse(update, ctx, exc)
        return
    secretary = parse_number(args[-1]) if len(args) >= 2 else None
    if secretary is None or len(" ".join(args)) > MAX_ARGS_CHARS:
        await reply(update, ctx, usage)
        return
    org_id: int | None = None
    name_parts = args[:-1]
    if len(name_parts) >= 2 and parse_number(name_parts[0]) is not None:
        org_id = int(name_parts[0])
        name_parts = name_parts[1:]
    try:
        name, code, org_name = await ctx.svc.organisation.new_branch(
            ctx.viewer, " ".join(name_parts), secretary, org_id
        )
    except DomainError as exc:
        await _refuse(update, ctx, exc)
        return
    await reply(
        update,
        ctx,
        _(
            "Branch <b>{name}</b> created under {org}. Its secretary starts with /start; "
            "members join with the code <code>{code}</code>."
        ).format(name=esc(name), org=esc(org_name), code=code),
    )


async def newgeneral_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    name = " ".join(ctx.args or []).strip()
    try:
        await ctx.svc.organisation.require_admin(ctx.viewer)
        if not name:
            await reply(update, ctx, _("Send: /newgeneral NAME"))
            return
        org = await ctx.svc.organisation.new_general(ctx.viewer, name)
    except DomainError as exc:
        await _refuse(update, ctx, exc)
        return
    await reply(
        update,
        ctx,
        _(
            "General branch <b>{name}</b> (No. {id}) created. Put branches under it with "
            "/newbranch {id} NAME TELEGRAM_ID."
        ).format(name=esc(org.name), id=org.id),
    )


async def secretary_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    args = list(ctx.args or [])
    try:
        await ctx.svc.organisation.require_admin(ctx.viewer)
    except DomainError as exc:
        await _refuse(update, ctx, exc)
        return
    branch_id = parse_number(args[0]) if len(args) == 2 else None
    new_id = parse_number(args[1]) if len(args) == 2 else None
    if branch_id is None or new_id is None:
        await reply(update, ctx, _("Send: /secretary BRANCH_NO TELEGRAM_ID"))
        return
    try:
        change = await ctx.svc.organisation.change_secretary(ctx.viewer, branch_id, new_id)
    except DomainError as exc:
        await _refuse(update, ctx, exc)
        return
    await reply(
        update,
        ctx,
        _("{name} is now the secretary of {branch}.").format(
            name=esc(change.new_name), branch=esc(change.branch_name)
        ),
    )

    def to_new(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
        return r.gettext("You are now the secretary of {branch}.").format(
            branch=esc(change.branch_name)
        ), None

    await notify(ctx, change.new_telegram_id, to_new)
    await refresh_chat_menu(ctx, change.new_telegram_id, reviewer=True)
    if change.old_telegram_id is not None:
        old_id = change.old_telegram_id

        def to_old(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
            return r.gettext(
                "{name} is now the secretary of {branch}; you stay a member of the branch."
            ).format(name=esc(change.new_name), branch=esc(change.branch_name)), None

        await notify(ctx, old_id, to_old)
        await refresh_chat_menu(ctx, old_id, reviewer=False)


async def orgadmin_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    args = list(ctx.args or [])
    try:
        await ctx.svc.organisation.require_admin(ctx.viewer)
        orgs = await ctx.svc.organisation.admin_orgs(ctx.viewer.telegram_user_id)
        new_id = parse_number(args[-1]) if args else None
        org_id = parse_number(args[0]) if len(args) == 2 else orgs[0].id
        if new_id is None or org_id is None or len(args) > 2:
            await reply(update, ctx, _("Send: /orgadmin [ORGANISATION_NO] TELEGRAM_ID"))
            return
        added = await ctx.svc.organisation.add_admin(org_id, new_id, actor=ctx.viewer)
    except DomainError as exc:
        await _refuse(update, ctx, exc)
        return
    if added:
        await reply(update, ctx, _(ADMIN_ADDED).format(id=new_id))
    else:
        await reply(update, ctx, _(ADMIN_EXISTED).format(id=new_id))


# -- /dashboard ----------------------------------------------------------------------------
async def dashboard_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    try:
        await ctx.svc.organisation.require_dashboard(ctx.viewer)
    except DomainError as exc:
        await _refuse(update, ctx, exc)
        return
    url = ctx.runtime.settings.webapp_url
    if not url:
        await reply(
            update, ctx, _("The dashboard is not set up on this server (BRANCHBOT_WEBAPP_URL).")
        )
        return
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("📊 Open the dashboard"), web_app=WebAppInfo(url=url))]]
    )
    await reply(update, ctx, _("Charts of points, fees and reports:"), markup)
