# i18n-domain: points
"""Points, the secretary's tools: /grant (grant or deduct for a member), /revoke,
/scheme (the branch's base, caps, window) and /catalogue (the items; prefix ``cat``)."""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.context import BranchContext
from domain import points_rules as rules
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.points import (
    GrantResult,
    ItemInfo,
    parse_points,
)
from domain.points_catalogue import BLOCK_LABELS, indicator_keys, indicator_name
from domain.points_rules import PointsSettings
from domain.reader import Reader
from handlers.callbacks import Callback, parse
from handlers.common import (
    LIST_PAGE_SIZE,
    Gettext,
    answer_callback,
    button,
    edit,
    esc,
    keyboard,
    notify,
    page_rows,
    render_error,
    reply,
)
from handlers.points_common import (
    dialog_text,
    fail,
    fmt,
    indicator_rows,
    item_id_branch,
    item_line,
    item_rows,
)


# -- /grant ---------------------------------------------------------------------------
async def grant_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, "grant", "person", {})
    await reply(update, ctx, *await _grant_people(ctx, 0))


async def _grant_people(ctx: BranchContext, page: int) -> tuple[str, InlineKeyboardMarkup]:
    """/grant's first step: the branch's people, a page at a time."""
    _ = ctx.gettext
    people = await ctx.svc.points.branch_people(ctx.viewer, page, LIST_PAGE_SIZE)
    buttons = [button(p.name[:30], Callback("pt", p.person_id, "gp")) for p in people.rows]
    rows = page_rows(
        _, buttons, people.page, people.pages, lambda p: Callback("pt", p, "gpp"), columns=3
    )
    return _("<b>Grant or deduct points</b>\nFor whom? (/cancel to stop)"), keyboard(rows)


async def grant_button(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    uid = ctx.viewer.telegram_user_id
    dialog = await ctx.svc.dialogs.get(uid)
    if dialog is None or dialog.flow != "grant":
        await answer_callback(
            update, _("This is no longer open. Send /grant to start again."), alert=True
        )
        return
    data = dict(dialog.data)
    if cb.action == "gpp":  # another page of people
        await answer_callback(update)
        await edit(update, *await _grant_people(ctx, cb.id))
        return
    if cb.action == "gp":
        name = await ctx.svc.points.person_in_branch(ctx.viewer, cb.id)
        data.update(person_id=cb.id, name=name)
        await ctx.svc.dialogs.set(uid, "grant", "indicator", data)
        await answer_callback(update)
        rows = indicator_rows(_, ctx.locale, lambda k: Callback("pt", cb.id, "gi", k))
        await reply(
            update, ctx, _("{name}: which indicator?").format(name=esc(name)), keyboard(rows)
        )
    elif cb.action == "gi":
        if cb.arg not in indicator_keys() or data.get("person_id") != cb.id:
            await answer_callback(update, _("This button is no longer valid."), alert=True)
            return
        items = await ctx.svc.points.items(item_id_branch(ctx), indicator=cb.arg)
        await ctx.svc.dialogs.set(uid, "grant", "item", data)
        await answer_callback(update)
        await reply(update, ctx, _("Which item?"), keyboard(item_rows(items, ctx.locale, "gt")))
    elif cb.action == "gt":
        if "person_id" not in data:
            await answer_callback(update, _("This button is no longer valid."), alert=True)
            return
        item = await ctx.svc.points.claimable_item(ctx.viewer, cb.id)
        data["item_id"] = item.id
        await ctx.svc.dialogs.set(uid, "grant", "reason", data)
        await answer_callback(update)
        await reply(
            update,
            ctx,
            _("{name}: {item}\nPlease send the reason (it is shown to the member).").format(
                name=esc(data.get("name", "")), item=item_line(item, _, ctx.locale)
            ),
        )


async def _grant_reason(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    reason = dialog_text(update)
    if not reason or len(reason) > 300:
        await reply(update, ctx, _("Please send a reason of 1 to 300 characters."))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    try:
        result = await ctx.svc.points.direct_grant(
            ctx.viewer,
            person_id=int(dialog.data["person_id"]),
            item_id=int(dialog.data["item_id"]),
            reason=reason,
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    text = _("Recorded: {name} {points} points ({item}).").format(
        name=esc(result.person_name),
        points=rules.signed(result.points),
        item=esc(_names(result, ctx.locale)),
    )
    if result.capped:
        text += "\n" + _(
            "The item's quarterly cap allowed {points} of the {requested} points."
        ).format(points=fmt(result.points), requested=fmt(result.requested))
    await reply(update, ctx, text)
    await _notify_grant(ctx, result, revoked=False)


def _names(result: GrantResult, locale: str) -> str:
    return Reader.of(locale).name(result.item_names)


async def _notify_grant(ctx: BranchContext, result: GrantResult, *, revoked: bool) -> None:
    if result.telegram_user_id is None:
        return
    telegram_id = result.telegram_user_id

    def render(r: Reader) -> tuple[str, None]:
        t = r.gettext
        item = esc(r.name(result.item_names))
        if revoked:
            return t(
                "↩️ A decision on your points was revoked: {points} points ({item}). "
                "Reason: {reason}"
            ).format(
                points=rules.signed(result.points), item=item, reason=esc(result.reason or "")
            ), None
        return t(
            "The branch secretary recorded {points} points for you ({item}). Reason: {reason}"
        ).format(
            points=rules.signed(result.points), item=item, reason=esc(result.reason or "")
        ), None

    await notify(ctx, telegram_id, render)


# -- /revoke --------------------------------------------------------------------------
async def revoke_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    args = ctx.args or []
    number = args[0].lstrip("#＃") if args else ""
    # ASCII digits that fit a database id ("²".isdigit() is true, int("²") fails).
    if not (number.isascii() and number.isdigit() and len(number) <= 18):
        await reply(update, ctx, _("Send /revoke followed by the claim number, e.g. /revoke 12."))
        return
    await start_revoke(update, ctx, int(number))


async def start_revoke(update: Update, ctx: BranchContext, claim_id: int) -> None:
    _ = ctx.gettext
    claim = await ctx.svc.points.revocable(ctx.viewer, claim_id)
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, "revoke", "reason", {"claim_id": claim.id}
    )
    await answer_callback(update)
    await reply(
        update,
        ctx,
        _(
            "Revoke claim No. {id} of {name} ({item}, {points} points)? Send the reason "
            "(it is shown to the member), or /cancel."
        ).format(
            id=claim.id,
            name=esc(claim.person_name),
            item=esc(claim.item.name(ctx.locale)),
            points=rules.signed(claim.awarded or rules.ZERO),
        ),
    )


async def _revoke_reason(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    reason = dialog_text(update)
    if not reason or len(reason) > 300:
        await reply(update, ctx, _("Please send a reason of 1 to 300 characters."))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    try:
        result = await ctx.svc.points.revoke_claim(ctx.viewer, int(dialog.data["claim_id"]), reason)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await reply(
        update,
        ctx,
        _("Claim No. {id} revoked; the ledger got a compensating entry of {points}.").format(
            id=dialog.data["claim_id"], points=rules.signed(result.points)
        ),
    )
    await _notify_grant(ctx, result, revoked=True)


# -- /scheme: the branch's settings of the points scheme --------------------------------
#: What the secretary may type after /scheme (English or the scheme's Chinese words).
SCHEME_NAMES = {
    "base": "base", "基础分": "base",
    "special": "special_cap", "特色加分": "special_cap",
    "extra": "extra_cap", "附加奖励分": "extra_cap", "附加分": "extra_cap",
    "window": "window_days", "申报期": "window_days",
}  # fmt: skip


async def scheme_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary or ctx.viewer.branch_id is None:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    args = ctx.args or []
    if not args:
        settings = await ctx.svc.points.settings(ctx.viewer.branch_id)
        await reply(update, ctx, _scheme_text(_, settings) + "\n\n" + _scheme_usage(_))
        return
    name = SCHEME_NAMES.get(args[0].strip().lower()[:20])
    value = _decimal_arg(args[1]) if len(args) == 2 else None
    if name is None or value is None:
        await reply(update, ctx, _("I could not read that.") + "\n\n" + _scheme_usage(_))
        return
    settings = await ctx.svc.points.update_setting(ctx.viewer, name, value)
    await reply(
        update,
        ctx,
        _(
            "✅ Saved. Open quarters are scored with it from now on; closed quarters keep "
            "their final scores."
        )
        + "\n\n"
        + _scheme_text(_, settings),
    )


def _decimal_arg(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip()[:12])
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _scheme_text(t: Gettext, settings: PointsSettings) -> str:
    return "\n".join(
        [
            t("<b>Points scheme</b>"),
            t("Base: {base} · special bonus cap: {special} · extra reward cap: {extra}").format(
                base=fmt(settings.base),
                special=fmt(settings.special_cap),
                extra=fmt(settings.extra_cap),
            ),
            t("Claims for a quarter are accepted until {n} days after it ends.").format(
                n=settings.window_days
            ),
        ]
    )


def _scheme_usage(t: Gettext) -> str:
    return t(
        "To change one, send for example <code>/scheme base 80</code>, "
        "<code>/scheme special 20</code>, <code>/scheme extra 10</code> or "
        "<code>/scheme window 10</code>."
    )


#: Lines of the published ranking; the rest is summarised (a message holds 4096
#: characters, a large branch has hundreds of members). Each member sees their own rank.
# -- /catalogue -----------------------------------------------------------------------
async def catalogue_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    await _catalogue_home(update, ctx)


async def _catalogue_home(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    rows = indicator_rows(_, ctx.locale, lambda k: Callback("cat", 0, "ind", k))
    rows.append([button("➕ " + _("Add an item"), Callback("cat", 0, "add"))])
    await reply(
        update,
        ctx,
        _("<b>Points catalogue</b>\nChoose an indicator to see and change its items."),
        keyboard(rows),
    )


def _item_detail(t: Gettext, item: ItemInfo, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    status = t("no longer in use") if item.retired else t("in use")
    text = "\n".join(
        [
            t("<b>Item</b> {item}").format(item=item_line(item, t, locale)),
            t("Indicator: {indicator}").format(
                indicator=esc(indicator_name(item.indicator, locale))
            ),
            t("Item status: {status}").format(status=status),
            t("Changes apply to new entries only; points already granted stay."),
        ]
    )
    ev = t("Evidence: no longer needed") if item.evidence else t("Evidence: needed")
    rows = [
        [
            button(t("Change points"), Callback("cat", item.id, "pts")),
            button(t("Change cap"), Callback("cat", item.id, "cap")),
        ],
        [button(ev, Callback("cat", item.id, "ev"))],
        [
            button(t("Restore"), Callback("cat", item.id, "res"))
            if item.retired
            else button(t("Retire"), Callback("cat", item.id, "ret"))
        ],
    ]
    return text, keyboard(rows)


async def on_catalogue_button(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    query = update.callback_query
    assert query is not None
    cb = parse(query.data)
    if cb is None or cb.prefix != "cat":
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    if not ctx.viewer.is_secretary:
        await answer_callback(update, _("Only the branch secretary can do this."), alert=True)
        return
    uid = ctx.viewer.telegram_user_id
    try:
        if cb.action == "ind" and cb.arg in indicator_keys():
            items = await ctx.svc.points.items(
                item_id_branch(ctx), indicator=cb.arg, include_retired=True
            )
            await answer_callback(update)
            lines = [f"<b>{esc(indicator_name(cb.arg, ctx.locale))}</b>"]
            for item in items:
                mark = " 🚫" if item.retired else ""
                lines.append(f"• {item_line(item, _, ctx.locale)}{mark}")
            rows = [
                [button(f"{item.name(ctx.locale)[:40]}", Callback("cat", item.id, "show"))]
                for item in items
            ]
            await reply(update, ctx, "\n".join(lines), keyboard(rows))
        elif cb.action == "show":
            item = await ctx.svc.points.item(ctx.viewer, cb.id)
            await answer_callback(update)
            text, markup = _item_detail(_, item, ctx.locale)
            await reply(update, ctx, text, markup)
        elif cb.action in {"ev", "ret", "res"}:
            current = await ctx.svc.points.item(ctx.viewer, cb.id)
            if cb.action == "ev":
                item = await ctx.svc.points.change_item(
                    ctx.viewer, cb.id, evidence=not current.evidence
                )
            else:
                item = await ctx.svc.points.change_item(
                    ctx.viewer, cb.id, retired=cb.action == "ret"
                )
            await answer_callback(update, _("Saved."))
            text, markup = _item_detail(_, item, ctx.locale)
            with contextlib.suppress(TelegramError):
                await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        elif cb.action in {"pts", "cap"}:
            item = await ctx.svc.points.item(ctx.viewer, cb.id)
            await ctx.svc.dialogs.set(uid, "cat", cb.action, {"item_id": item.id})
            await answer_callback(update)
            if cb.action == "pts":
                text = _("Send the new points of “{item}” (now {points}).")
            else:
                text = _("Send the new quarterly cap of “{item}”, or 0 for no cap.")
            await reply(
                update,
                ctx,
                text.format(item=esc(item.name(ctx.locale)), points=rules.signed(item.points)),
            )
        elif cb.action == "add":
            await ctx.svc.dialogs.set(uid, "cat", "indicator", {})
            await answer_callback(update)
            rows = indicator_rows(_, ctx.locale, lambda k: Callback("cat", 0, "ai", k))
            await reply(update, ctx, _("New item: which indicator?"), keyboard(rows))
        elif cb.action == "ai" and cb.arg in indicator_keys():
            await ctx.svc.dialogs.set(uid, "cat", "block", {"indicator": cb.arg})
            await answer_callback(update)
            rows = [
                [button(_(label), Callback("cat", 0, "ab", key))]
                for key, label in BLOCK_LABELS.items()
            ]
            await reply(update, ctx, _("New item: which block?"), keyboard(rows))
        elif cb.action == "ab" and cb.arg in BLOCK_LABELS:
            dialog = await ctx.svc.dialogs.get(uid)
            if dialog is None or dialog.flow != "cat" or "indicator" not in dialog.data:
                await answer_callback(update, _("This button is no longer valid."), alert=True)
                return
            await ctx.svc.dialogs.set(uid, "cat", "name", {**dialog.data, "block": cb.arg})
            await answer_callback(update)
            await reply(update, ctx, _("New item: send its name (at most 100 characters)."))
        else:
            await answer_callback(update, _("This button is no longer valid."), alert=True)
    except DomainError as exc:
        await fail(update, ctx, exc)


async def _catalogue_points(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    try:
        points = parse_points(dialog_text(update))
        item = await ctx.svc.points.change_item(
            ctx.viewer, int(dialog.data["item_id"]), points=points
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    text, markup = _item_detail(ctx.gettext, item, ctx.locale)
    await reply(update, ctx, ctx.gettext("Saved.") + "\n" + text, markup)


async def _catalogue_cap(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    try:
        cap = parse_points(dialog_text(update))
        item = await ctx.svc.points.change_item(ctx.viewer, int(dialog.data["item_id"]), cap=cap)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    text, markup = _item_detail(ctx.gettext, item, ctx.locale)
    await reply(update, ctx, ctx.gettext("Saved.") + "\n" + text, markup)


async def _catalogue_new_name(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    name = " ".join((dialog_text(update)).split())
    if not name or len(name) > 100:
        await reply(update, ctx, _("New item: send its name (at most 100 characters)."))
        return
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, "cat", "newpts", {**dialog.data, "name": name}
    )
    await reply(update, ctx, _("How many points does it give (deductions: the points lost)?"))


async def _catalogue_new_points(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    try:
        points = parse_points(dialog_text(update))
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, "cat", "newcap", {**dialog.data, "points": str(points)}
    )
    await reply(update, ctx, ctx.gettext("The most points it may count per quarter (0 = no cap)?"))


async def _catalogue_new_cap(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    from store.models import PointBlock

    data = dialog.data
    try:
        cap = parse_points(dialog_text(update))
        item = await ctx.svc.points.add_item(
            ctx.viewer,
            indicator=str(data["indicator"]),
            block=PointBlock(str(data["block"])),
            name=str(data["name"]),
            points=Decimal(str(data["points"])),
            cap=cap,
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    text, markup = _item_detail(ctx.gettext, item, ctx.locale)
    await reply(update, ctx, ctx.gettext("Item added.") + "\n" + text, markup)
