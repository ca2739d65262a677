"""Rendering helpers shared by all handlers."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.context import CURRENT_SCOPE, BranchContext
from bot.ordering import IN_ANSWER
from domain.errors import DomainError, NotAllowed, NotFound
from domain.reader import Reader
from domain.review import UNREACHED
from domain.texts import CAPTION_LIMIT, fits
from domain.texts import TEXT_LIMIT as TEXT_LIMIT  # re-exported
from domain.texts import split_text as split_text  # re-exported
from domain.texts import truncate_html as truncate_html  # re-exported
from handlers.callbacks import Callback, parse
from locales.i18n import negotiate_locale, translator
from store.models import AuditEntry, TelegramAccount

if TYPE_CHECKING:
    from domain.services import Services

log = logging.getLogger(__name__)

Gettext = Callable[[str], str]
#: A message to another person, rendered for its recipient: text and optional buttons.
Render = Callable[[Reader], tuple[str, InlineKeyboardMarkup | None]]
#: One recipient's part of a broadcast: ``(text, stored photo id or None)`` messages.
BroadcastRender = Callable[[Reader, int], list[tuple[str, int | None]]]
#: Buttons under one recipient's last message of a broadcast, in their language.
BroadcastMarkup = Callable[[Reader, int], InlineKeyboardMarkup | None]


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
    return page_rows(t, shown, page, pages, nav, columns=columns), page


def page_rows(
    t: Gettext,
    shown: Sequence[InlineKeyboardButton],
    page: int,
    pages: int,
    nav: Callable[[int], Callback],
    *,
    columns: int = 2,
) -> list[list[InlineKeyboardButton]]:
    """The keyboard of a page read a page at a time (``store.repositories.MemberPage``):
    its ``shown`` buttons in rows of ``columns`` and ◀ / ▶ when there are other pages."""
    rows = [list(shown[i : i + columns]) for i in range(0, len(shown), columns)]
    arrows = []
    if page > 0:
        arrows.append(button(t("◀ Previous"), nav(page - 1)))
    if page < pages - 1:
        arrows.append(button(t("Next ▶"), nav(page + 1)))
    if arrows:
        rows.append(arrows)
    return rows


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


def message_text(update: Update) -> str:
    """The text of the update's message ("" for none, or a message without text)."""
    message = update.effective_message
    return (message.text or "") if message is not None else ""


def render_error(ctx: BranchContext, error: DomainError) -> str:
    """The refusal in the viewer's language. Not allowed, or naming something that is
    not there (a forged or stale id): audited."""
    if isinstance(error, (NotAllowed, NotFound)):
        audit_refusal(error.msgid)
    params = {k: esc(v) for k, v in error.params.items()}
    return ctx.gettext(error.msgid).format(**params)


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


#: Sends a photo or document with this caption and markup (e.g. a ``bot.send_photo``).
MediaSender = Callable[[str, InlineKeyboardMarkup | None], Awaitable[Message]]


async def send_captioned(
    bot: Any,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    send_media: MediaSender,
) -> Message:
    """A photo or document with ``text`` (HTML) as its caption. A text too long for a
    caption (1024 UTF-16 units, e.g. emoji-heavy evidence) is not refused by Telegram
    nor cut off: the file goes with the text shortened (HTML-safe), then the whole text
    follows as messages, the buttons on the last one. Returns the message with the
    buttons."""
    if fits(text, CAPTION_LIMIT):
        return await send_media(text, markup)
    await send_media(truncate_html(text, CAPTION_LIMIT), None)
    return await _send_parts(bot, chat_id, text, markup)


async def _send_parts(
    bot: Any, chat_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> Message:
    """``text`` (HTML) split over as many messages as it needs, the buttons on the last
    one; returns that one."""
    parts = split_text(text)
    for index, part in enumerate(parts):
        sent: Message = await bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if index == len(parts) - 1 else None,
        )
    return sent


def forward_to_reviewers(
    ctx: BranchContext, sends: Sequence[Callable[[], Awaitable[bool]]]
) -> None:
    """Once this update committed, run each reviewer's send (True: delivered). When none
    was delivered, the acting user — who was told the reviewers had it — is told the
    truth (``domain.review.UNREACHED``): their submission is kept and waits."""
    viewer = ctx.viewer

    async def run() -> None:
        reached = 0
        for send in sends:
            if await send():
                reached += 1
        if not reached:
            await send_html(ctx, viewer.telegram_user_id, ctx.gettext(UNREACHED))

    ctx.after_commit(run)


async def send_file(
    update: Update, ctx: BranchContext, data: bytes, filename: str, caption: str
) -> None:
    """An export (XLSX, ZIP) as a document in the chat the update came from."""
    chat = update.effective_chat
    assert chat is not None
    await ctx.bot.send_document(chat.id, data, filename=filename, caption=caption)


def caption(text: str) -> str:
    """``text`` as a caption edit can take it (HTML-safe, within 1024 UTF-16 units)."""
    return truncate_html(text, CAPTION_LIMIT)


async def edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the message a button was pressed on; cosmetic, so failures are only logged."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_text(
            truncate_html(text, TEXT_LIMIT), parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except TelegramError as exc:
        log.info("edit failed: %s", exc)


async def answer_callback(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the button press — the one place every handler answers one. Within an
    update the answer is sent concurrently with the rest of the update's work (what the
    handler does next, its SQL, the commit), as soon as the handler knows what to say;
    the update's next Bot API call waits for it (``bot.ordering``: Telegram sees the
    calls in the handler's order) and the update ends once it is sent. The text is the
    handler's own (refusals, errors, outcomes), so it is unchanged; only the waiting
    for Telegram moves off the update's path."""
    query = update.callback_query
    if query is None:
        return
    _audit_if_refusal(text)
    scope = CURRENT_SCOPE.get()
    if scope is not None:
        scope.start(_answer(query, text, alert))
        return
    await _answer(query, text, alert)


async def _answer(query: CallbackQuery, text: str | None, alert: bool) -> None:
    IN_ANSWER.set(True)  # this task's own context: the update's next call waits for it
    try:
        await query.answer(text=text, show_alert=alert)
    except TelegramError as exc:  # too old / already answered / network: nothing to do
        log.info("callback answer failed: %s", exc)
    except Exception:  # a task: nobody else would see it
        log.exception("callback answer failed")


async def locale_of(ctx: BranchContext, telegram_user_id: int) -> str:
    """The language another user reads (for notifications)."""
    return await locale_for(ctx.svc.session, telegram_user_id)


async def locale_for(session: AsyncSession, telegram_user_id: int) -> str:
    """The language a user reads, from a session (handlers and periodic tasks)."""
    return (await locales_for(session, [telegram_user_id]))[telegram_user_id]


async def locales_for(session: AsyncSession, telegram_user_ids: Sequence[int]) -> dict[int, str]:
    """The language each of these users reads, in one query (a broadcast's recipients);
    the default language for one the bot does not know. An account this unit of work
    already holds (e.g. the claimant's, just read to find their Telegram id) is not
    read again."""
    known: dict[int, str] = {}
    wanted = set(telegram_user_ids)
    for tid in list(wanted):
        held = session.sync_session.identity_map.get(identity_key(TelegramAccount, tid))
        if isinstance(held, TelegramAccount) and "locale" in held.__dict__:
            known[tid] = held.locale or negotiate_locale(held.language_code)
            wanted.discard(tid)
    if wanted:
        rows = await session.execute(
            select(
                TelegramAccount.telegram_user_id,
                TelegramAccount.locale,
                TelegramAccount.language_code,
            ).where(TelegramAccount.telegram_user_id.in_(wanted))
        )
        known.update({tid: locale or negotiate_locale(code) for tid, locale, code in rows})
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
        if photo is not None or document is not None:
            # A text too long for a caption (UTF-16, e.g. emoji) follows the file whole.
            return await send_captioned(
                bot,
                telegram_user_id,
                text,
                markup,
                partial(_send_file, bot, telegram_user_id, photo=photo, document=document),
            )
        return await _send_parts(bot, telegram_user_id, text, markup)
    except Forbidden as exc:
        log.warning("cannot message %s: %s", telegram_user_id, exc)
        await svc.membership.mark_blocked(telegram_user_id)
    except TelegramError as exc:
        log.warning("message to %s failed: %s", telegram_user_id, exc)
    return None


def _send_file(
    bot: Any,
    chat_id: int,
    caption: str,
    markup: InlineKeyboardMarkup | None,
    *,
    photo: str | None,
    document: str | None,
) -> Awaitable[Message]:
    if photo is not None:
        return bot.send_photo(  # type: ignore[no-any-return]
            chat_id, photo=photo, caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    return bot.send_document(  # type: ignore[no-any-return]
        chat_id, document=document, caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup
    )


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
    svc: Services,
    telegram_user_ids: Sequence[int],
    render: BroadcastRender,
    *,
    markup: BroadcastMarkup | None = None,
) -> int:
    """Queue a broadcast in the ``deliveries`` outbox within this transaction, each
    recipient's messages rendered with that recipient's Reader (their languages read in
    one query). Drain it after the commit (``scheduler.deliveries.drain``). Returns the
    number of messages queued. ``markup`` (also rendered with the recipient's Reader)
    goes under each recipient's last message, e.g. a "read" button."""
    readers = await readers_for(svc, telegram_user_ids)
    queued = 0
    for tid in telegram_user_ids:
        messages = render(readers[tid], tid)
        for index, (text, photo_id) in enumerate(messages):
            buttons = markup(readers[tid], tid) if markup and index == len(messages) - 1 else None
            await svc.deliveries.queue_now(
                tid, text, photo_id=photo_id, reply_markup=buttons.to_dict() if buttons else None
            )
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
