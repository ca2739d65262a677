"""Rendering helpers shared by all handlers."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.context import CURRENT_SCOPE, BranchContext
from domain.errors import DomainError, NotAllowed, NotFound
from domain.reader import Reader
from handlers.callbacks import Callback, parse
from locales.i18n import negotiate_locale, translator
from store.models import AuditEntry, TelegramAccount

if TYPE_CHECKING:
    from domain.services import Services

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
Gettext = Callable[[str], str]
#: A message to another person, rendered for its recipient: text and optional buttons.
Render = Callable[[Reader], tuple[str, InlineKeyboardMarkup | None]]
#: One recipient's part of a broadcast: ``(text, stored photo id or None)`` messages.
BroadcastRender = Callable[[Reader, int], list[tuple[str, int | None]]]


def esc(value: object) -> str:
    """Escape user-provided text for HTML parse mode."""
    return html.escape(str(value), quote=False)


def button(text: str, callback: Callback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=callback.pack())


def keyboard(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(r) for r in rows])


#: Telegram refuses an inline keyboard of more than 100 buttons ("reply markup is too
#: long", sooner with long callback data): lists of people are shown a page at a time.
LIST_PAGE_SIZE = 30


def paged_rows(
    t: Gettext,
    buttons: Sequence[InlineKeyboardButton],
    page: int,
    nav: Callable[[int], Callback],
    *,
    columns: int = 2,
    per_page: int = LIST_PAGE_SIZE,
) -> tuple[list[list[InlineKeyboardButton]], int]:
    """One page of ``buttons`` in rows of ``columns``, with ◀ / ▶ buttons (``nav(page)``)
    when there is more than one page; and the page shown (``page`` kept in range)."""
    pages = max(1, (len(buttons) + per_page - 1) // per_page)
    page = min(max(page, 0), pages - 1)
    shown = list(buttons[page * per_page : (page + 1) * per_page])
    rows = [shown[i : i + columns] for i in range(0, len(shown), columns)]
    arrows = []
    if page > 0:
        arrows.append(button(t("◀ Previous"), nav(page - 1)))
    if page < pages - 1:
        arrows.append(button(t("Next ▶"), nav(page + 1)))
    if arrows:
        rows.append(arrows)
    return rows, page


ButtonAction = Callable[[Update, BranchContext, Callback], Awaitable[Any]]


def button_router(
    prefix: str,
    actions: Mapping[str, ButtonAction],
    *,
    members_only: bool = False,
) -> Callable[[Update, BranchContext], Coroutine[Any, Any, None]]:
    """The ``CallbackQueryHandler`` callback of one feature: parse the callback data,
    pick the action, and turn a forged or stale button (bad data, unknown action, a
    stranger where members only) or a domain refusal into a translated alert. Every
    action still checks the viewer's rights itself."""

    async def on_button(update: Update, ctx: BranchContext) -> None:
        query = update.callback_query
        cb = parse(query.data if query is not None else None)
        action = actions.get(cb.action) if cb is not None and cb.prefix == prefix else None
        if cb is None or action is None or (members_only and not ctx.viewer.is_member):
            await answer_callback(
                update, ctx.gettext("This button is no longer valid."), alert=True
            )
            return
        try:
            await action(update, ctx, cb)
        except DomainError as exc:
            await answer_callback(update, render_error(ctx, exc), alert=True)

    return on_button


def render_error(ctx: BranchContext, error: DomainError) -> str:
    """The refusal in the viewer's language. Not allowed, or naming something that is
    not there (a forged or stale id): audited."""
    if isinstance(error, (NotAllowed, NotFound)):
        audit_refusal(error.msgid)
    params = {k: esc(v) for k, v in error.params.items()}
    return ctx.gettext(error.msgid).format(**params)


_TOKEN = re.compile(
    r"(?P<tag><[^<>]*>)|(?P<entity>&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{0,31});)",
)
_TAG_NAME = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)")


def _units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _html_tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, raw, visible length) for each tag, entity and single character."""
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        tokens.extend(("char", ch, _units(ch)) for ch in text[pos : match.start()])
        if match["tag"]:
            tokens.append(("tag", match[0], 0))
        else:
            tokens.append(("char", match[0], _units(html.unescape(match[0]))))
        pos = match.end()
    tokens.extend(("char", ch, _units(ch)) for ch in text[pos:])
    return tokens


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split a long HTML message so each part fits Telegram's limit (``limit`` UTF-16
    units of *visible* text) and is valid HTML on its own.

    Cuts fall between tags and entities, never inside one; preferably at a line break
    (dropped), else after a space, in the second half of a part. Tags open at a cut are
    closed at the end of the part and opened again at the start of the next one.
    Parts that would show nothing (only whitespace) are left out."""
    tokens = _html_tokens(text)
    if sum(t[2] for t in tokens) <= limit:
        return [text]
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # open tags: (name, raw opening tag)
    part_prefix = ""  # tags re-opened at the start of the current part
    part_tokens: list[tuple[str, str, int]] = []
    part_stacks: list[list[tuple[str, str]]] = []  # the tag stack after each token
    size = 0

    def emit(count: int, drop_break: bool) -> None:
        nonlocal part_prefix, part_tokens, part_stacks, size
        body = part_tokens[:count]
        open_after = part_stacks[count - 1] if count else _parse_stack(part_prefix)
        closing = "".join(f"</{name}>" for name, _raw in reversed(open_after))
        raw = part_prefix + "".join(t[1] for t in body) + closing
        visible = "".join(tok[1] for tok in body if tok[0] == "char")
        if html.unescape(visible).strip():
            parts.append(raw)
        rest = part_tokens[count + 1 :] if drop_break else part_tokens[count:]
        rest_stacks = part_stacks[count + 1 :] if drop_break else part_stacks[count:]
        if drop_break and count < len(part_stacks):
            open_after = part_stacks[count]
        part_prefix = "".join(raw_tag for _name, raw_tag in open_after)
        part_tokens, part_stacks = list(rest), [list(s) for s in rest_stacks]
        size = sum(t[2] for t in part_tokens)

    for token in tokens:
        kind, raw, units = token
        if kind == "tag":
            match = _TAG_NAME.match(raw)
            if match is not None:
                name = match[2].lower()
                if match[1]:
                    for index in range(len(stack) - 1, -1, -1):
                        if stack[index][0] == name:
                            del stack[index:]
                            break
                else:
                    stack.append((name, raw))
        while size + units > limit and part_tokens:
            emit(*_cut_point(part_tokens, limit))
        part_tokens.append(token)
        part_stacks.append(list(stack))
        size += units
    while part_tokens:
        emit(len(part_tokens), False)
    return parts or [text]


def _parse_stack(prefix: str) -> list[tuple[str, str]]:
    stack: list[tuple[str, str]] = []
    for raw in re.findall(r"<[^<>]*>", prefix):
        match = _TAG_NAME.match(raw)
        if match is not None and not match[1]:
            stack.append((match[2].lower(), raw))
    return stack


def _cut_point(tokens: list[tuple[str, str, int]], limit: int) -> tuple[int, bool]:
    """Where to end a full part: (number of tokens kept, whether the next one is a line
    break to drop)."""
    half = limit // 2
    size = 0
    newline = space = None
    for index, (kind, raw, units) in enumerate(tokens):
        if kind == "char" and size >= half:
            if raw == "\n":
                newline = index
            elif raw.isspace():
                space = index + 1
        size += units
    if newline is not None:
        return newline, True
    if space is not None:
        return space, False
    return len(tokens), False


async def reply(
    update: Update,
    ctx: BranchContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> Message | None:
    """Answer in the chat the update came from (HTML), splitting over-long text.

    If Telegram does not take the message (network error, 5xx after the limiter's
    retries), it is queued for the delivery task instead of failing the update: the
    user's action is kept, and the answer arrives late rather than never."""
    chat = update.effective_chat
    if chat is None:
        return None
    _audit_if_refusal(text)
    return await send_html(ctx, chat.id, text, markup, **kwargs)


async def send_html(
    ctx: BranchContext,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> Message | None:
    parts = split_text(text)
    sent: Message | None = None
    for index, part in enumerate(parts):
        part_markup = markup if index == len(parts) - 1 else None
        try:
            sent = await ctx.bot.send_message(
                chat_id, part, parse_mode=ParseMode.HTML, reply_markup=part_markup, **kwargs
            )
        except Forbidden as exc:
            log.warning("cannot message %s: %s", chat_id, exc)
            await ctx.svc.membership.mark_blocked(chat_id)
            return None
        except BadRequest:
            raise  # our mistake (bad HTML, bad markup): surface it
        except TelegramError as exc:
            log.warning("message to %s not accepted (%s); queued for retry", chat_id, exc)
            for rest_index, rest in enumerate(parts[index:], start=index):
                rest_markup = markup if rest_index == len(parts) - 1 else None
                await ctx.svc.deliveries.queue(
                    chat_id, rest, rest_markup.to_dict() if rest_markup else None, str(exc)
                )
            return None
    return sent


async def edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the message a button was pressed on; cosmetic, so failures are only logged."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except TelegramError as exc:
        log.info("edit failed: %s", exc)


async def answer_callback(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    query = update.callback_query
    if query is None:
        return
    _audit_if_refusal(text)
    try:
        await query.answer(text=text, show_alert=alert)
    except TelegramError as exc:  # too old / already answered / network: nothing to do
        log.info("callback answer failed: %s", exc)


async def locale_of(ctx: BranchContext, telegram_user_id: int) -> str:
    """The language another user reads (for notifications)."""
    return await locale_for(ctx.svc.session, telegram_user_id)


async def locale_for(session: AsyncSession, telegram_user_id: int) -> str:
    """The language a user reads, from a session (handlers and periodic tasks)."""
    return (await locales_for(session, [telegram_user_id]))[telegram_user_id]


async def locales_for(session: AsyncSession, telegram_user_ids: Sequence[int]) -> dict[int, str]:
    """The language each of these users reads, in one query (a broadcast's recipients);
    the default language for one the bot does not know."""
    rows = await session.execute(
        select(
            TelegramAccount.telegram_user_id,
            TelegramAccount.locale,
            TelegramAccount.language_code,
        ).where(TelegramAccount.telegram_user_id.in_(set(telegram_user_ids)))
    )
    known = {tid: locale or negotiate_locale(code) for tid, locale, code in rows}
    return {tid: known.get(tid) or negotiate_locale(None) for tid in telegram_user_ids}


async def reader_for(svc: Services, telegram_user_id: int) -> Reader:
    """How this user reads: their stored language (never the sender's)."""
    return Reader.of(await locale_for(svc.session, telegram_user_id))


async def readers_for(svc: Services, telegram_user_ids: Sequence[int]) -> dict[int, Reader]:
    """Each user's Reader, in one query (a broadcast's recipients)."""
    locales = await locales_for(svc.session, telegram_user_ids)
    return {tid: Reader.of(locale) for tid, locale in locales.items()}


async def deliver(
    bot: Any,
    svc: Services,
    telegram_user_id: int,
    render: Render,
    *,
    photo: str | None = None,
    document: str | None = None,
) -> Message | None:
    """Send another person a message (or a photo / document with the text as caption)
    rendered by ``render`` with the recipient's Reader — the one path for a direct
    message to someone other than the acting user (periodic tasks and, through
    :func:`notify`, handlers). A user who blocked the bot is recorded and skipped; a
    failure is logged and answered with None."""
    text, markup = render(await reader_for(svc, telegram_user_id))
    try:
        if photo is not None:
            sent: Message = await bot.send_photo(
                telegram_user_id,
                photo=photo,
                caption=text[:1024],
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        elif document is not None:
            sent = await bot.send_document(
                telegram_user_id,
                document=document,
                caption=text[:1024],
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        else:
            sent = await bot.send_message(
                telegram_user_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        return sent
    except Forbidden as exc:
        log.warning("cannot message %s: %s", telegram_user_id, exc)
        await svc.membership.mark_blocked(telegram_user_id)
    except TelegramError as exc:
        log.warning("message to %s failed: %s", telegram_user_id, exc)
    return None


async def notify(ctx: BranchContext, telegram_user_id: int, render: Render) -> None:
    """Send another user a message rendered with *their* Reader, once this update's
    transaction has committed (a failed update tells nobody). A user who blocked the bot
    or never started it is recorded and skipped; a message Telegram does not take is
    queued and retried later."""
    text, markup = render(await reader_for(ctx.svc, telegram_user_id))

    async def send() -> None:
        try:
            await send_html(ctx, telegram_user_id, text, markup)
        except BadRequest as exc:  # e.g. chat not found: the user never started the bot
            log.warning("cannot message %s: %s", telegram_user_id, exc)

    ctx.after_commit(send)


async def queue_broadcast(
    svc: Services, telegram_user_ids: Sequence[int], render: BroadcastRender
) -> int:
    """Queue a broadcast in the ``deliveries`` outbox within this transaction, each
    recipient's messages rendered with that recipient's Reader (their languages read in
    one query). Drain it after the commit (``scheduler.deliveries.drain``). Returns the
    number of messages queued."""
    readers = await readers_for(svc, telegram_user_ids)
    queued = 0
    for tid in telegram_user_ids:
        for text, photo_id in render(readers[tid], tid):
            await svc.deliveries.queue_now(tid, text, photo_id=photo_id)
            queued += 1
    return queued


#: Answers that mean "refused": every one is audited (``access.denied``), whichever
#: handler gives it, with what was asked (command text or callback data).
DENIAL_MSGIDS: frozenset[str] = frozenset(
    {
        "This button is no longer valid.",
        "This button is not for you.",
        "Only the branch secretary can do this.",
        "Only the branch secretary can decide this.",
        "Only the secretary or a committee member with review rights can do this.",
        "Only members of a branch can do this.",
        "I can only help members of a branch. Send /start to see how to join.",
        "There is nothing you can export.",
        "This is no longer open. Send /grant to start again.",
        "Only members of a branch can use /fees. Send /start first.",
        "Only members of a branch can see its calendar.",
        "Only members of a branch get reminders.",
    }
)


def audit_refusal(reason: str) -> None:
    """Record that this update was refused (once per update), in its own transaction."""
    scope = CURRENT_SCOPE.get()
    if scope is None or scope.denial_audited or scope.failed:
        return
    scope.denial_audited = True
    viewer = scope.viewer
    scope.session.add(
        AuditEntry(
            at=scope.services.clock.now(),
            action="access.denied",
            actor_telegram_id=viewer.telegram_user_id if viewer else None,
            actor_person_id=viewer.person_id if viewer else None,
            branch_id=viewer.branch_id if viewer else None,
            subject_type="update",
            subject_id=None if scope.update_id is None else str(scope.update_id),
            details={"reason": reason, "request": scope.request},
        )
    )


def _audit_if_refusal(text: str | None) -> None:
    scope = CURRENT_SCOPE.get()
    if scope is None or not text:
        return
    t = translator(scope.locale).gettext
    for msgid in DENIAL_MSGIDS:
        if text == t(msgid) or text == msgid:
            audit_refusal(msgid)
            return
