"""Minutes in chat: the minute-taker (or the secretary) sends text parts, photos and
PDFs, kept in a database-backed dialog (a restart loses nothing), and saves them as a
new version with one button."""

# i18n-domain: meetings

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.error import TelegramError

from bot.context import BranchApp, BranchContext
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.meetings_minutes import MAX_FILES, MAX_MINUTES, write_copy
from handlers.callbacks import Callback
from handlers.common import answer_callback, button, esc, keyboard, render_error, reply
from handlers.dialog import DialogRouter
from handlers.registry import Registry

log = logging.getLogger(__name__)

FLOW = "mt_min"
PREFIX = "mt"
FILE_MIME = ("application/pdf", "image/")
MAX_FILE_BYTES = 20 * 1024 * 1024


def register(app: BranchApp, registry: Registry) -> None:
    router: DialogRouter = app.bot_data["dialogs"]
    router.add(FLOW, "collect", _collect)


def _save_keyboard(ctx: BranchContext, meeting_id: int) -> Any:
    return keyboard(
        [[button(ctx.gettext("Save the minutes"), Callback(PREFIX, meeting_id, "msave"))]]
    )


async def start_minutes(update: Update, ctx: BranchContext, meeting_id: int) -> None:
    _ = ctx.gettext
    info = await ctx.svc.minutes.check_write(ctx.viewer, meeting_id)
    versions = await ctx.svc.minutes.versions(ctx.viewer, meeting_id)
    kept = list(versions[-1].files) if versions else []  # a correction keeps the files
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, FLOW, "collect", {"m": info.id, "files": kept}, text_buffer=""
    )
    await answer_callback(update)
    intro = (
        _(
            "Correcting the minutes of “{title}”: the new version follows version {n}, "
            "which is kept. Send the corrected text; its files are carried over."
        ).format(title=esc(info.title), n=versions[-1].version)
        if versions
        else _("Minutes of “{title}”.").format(title=esc(info.title))
    )
    await reply(
        update,
        ctx,
        intro
        + "\n"
        + _(
            "Send the topics, decisions and other text (in several messages if you like) and "
            "photos of the sign-in sheet or PDF files, then press “Save the minutes”. "
            "/cancel stops without saving."
        ),
        _save_keyboard(ctx, info.id),
    )


async def _collect(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    message = update.effective_message
    if message is None:
        return
    data = dict(dialog.data)
    files: list[dict[str, Any]] = list(data.get("files") or [])
    buffer = dialog.text_buffer or ""
    meeting_id = int(data.get("m", 0))
    if message.photo or message.document is not None:
        if len(files) >= MAX_FILES:
            await reply(update, ctx, _("At most {n} files per version.").format(n=MAX_FILES))
            return
        if message.photo:
            photo = message.photo[-1]
            entry = {"kind": "photo", "file_id": photo.file_id, "name": None}
            unique, ext = photo.file_unique_id, ".jpg"
        else:
            doc = message.document
            assert doc is not None
            mime = doc.mime_type or ""
            if not mime.startswith(FILE_MIME) or (doc.file_size or 0) > MAX_FILE_BYTES:
                await reply(
                    update,
                    ctx,
                    _("I cannot take this file: send a photo, or a PDF or image of at most 20 MB."),
                )
                return
            entry = {"kind": "document", "file_id": doc.file_id, "name": doc.file_name}
            unique = doc.file_unique_id
            ext = ".pdf" if mime == "application/pdf" else Path(doc.file_name or "").suffix[:8]
        local = await _keep_copy(ctx, meeting_id, str(entry["file_id"]), unique, ext)
        if local is not None:
            entry["local"] = local
        files.append(entry)
        data["files"] = files
        if message.caption:
            buffer = (buffer + "\n" + message.caption).strip()
        answer = _("File {n} received.").format(n=len(files))
    elif message.text:
        if len(buffer) + len(message.text) + 1 > MAX_MINUTES:
            await reply(
                update,
                ctx,
                _("The minutes are too long (at most {n} characters).").format(n=MAX_MINUTES),
            )
            return
        buffer = (buffer + "\n" + message.text).strip()
        answer = _("Text received ({n} characters so far).").format(n=len(buffer))
    else:
        await reply(update, ctx, _("Send text, a photo or a PDF file."))
        return
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, FLOW, "collect", data, text_buffer=buffer
    )
    await reply(update, ctx, answer, _save_keyboard(ctx, meeting_id))


async def _keep_copy(
    ctx: BranchContext, meeting_id: int, file_id: str, unique: str, ext: str
) -> str | None:
    """Download the file and keep a copy under BRANCHBOT_STORAGE_DIR; None (the Telegram
    file id is still kept) when Telegram does not hand it over."""
    try:
        tg_file = await ctx.bot.get_file(file_id)
        data = bytes(await tg_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("could not download minutes file %s: %s", file_id, exc)
        return None
    assert ctx.viewer.branch_id is not None
    return write_copy(
        ctx.runtime.settings.storage_dir, ctx.viewer.branch_id, meeting_id, unique, ext, data
    )


async def save_minutes(update: Update, ctx: BranchContext, meeting_id: int) -> None:
    _ = ctx.gettext
    dialog = await ctx.svc.dialogs.get(ctx.viewer.telegram_user_id)
    if dialog is None or dialog.flow != FLOW or int(dialog.data.get("m", 0)) != meeting_id:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    try:
        version = await ctx.svc.minutes.add(
            ctx.viewer, meeting_id, dialog.text_buffer or "", list(dialog.data.get("files") or [])
        )
    except DomainError as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await answer_callback(update, _("Saved."))
    await reply(
        update,
        ctx,
        _("Minutes saved as version {n}. /meeting_{id} shows the record.").format(
            n=version, id=meeting_id
        ),
    )
