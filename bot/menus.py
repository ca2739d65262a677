"""The command menus (``setMyCommands``): the members' menu for everyone at start-up
(three calls), and each reviewer's fuller menu in their own chat, published by a
periodic task on the scheduler's leader for the chats whose menu changed since it was
last published (``chat_menus`` keeps a fingerprint per chat). A province of 5,000
branches used to make 5,000 calls — minutes at Telegram's 30/s — before the bot could
answer; now a start makes three, and a new menu reaches the reviewers in the background.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from sqlalchemy import and_, delete, insert, or_, select
from telegram import BotCommandScopeDefault
from telegram.error import TelegramError

from bot.context import BranchApp
from bot.runtime import Runtime
from domain.roles import Role
from handlers.registry import MEMBER_MENU, REVIEWER_MENU, Registry, bot_commands, publish_chat_menu
from locales.i18n import EN, ZH_HANS, negotiate_locale
from store.models import ChatMenu, Membership, TelegramAccount

log = logging.getLogger(__name__)

#: How often the leader checks the reviewers' menus (a role change publishes at once).
SYNC_EVERY = timedelta(hours=6)
#: Menus published between two commits of their fingerprints.
BATCH = 100


async def publish_commands(app: BranchApp) -> None:
    """``setMyCommands``: members' commands for everyone (Chinese by default, English for
    English clients). The reviewers' menus: :func:`sync_chat_menus`."""
    registry: Registry = app.bot_data["registry"]
    try:
        await app.bot.set_my_commands(
            bot_commands(registry, MEMBER_MENU, ZH_HANS), scope=BotCommandScopeDefault()
        )
        await app.bot.set_my_commands(
            bot_commands(registry, MEMBER_MENU, ZH_HANS),
            scope=BotCommandScopeDefault(),
            language_code="zh",
        )
        await app.bot.set_my_commands(
            bot_commands(registry, MEMBER_MENU, EN),
            scope=BotCommandScopeDefault(),
            language_code="en",
        )
    except TelegramError as exc:
        log.warning("could not publish the command menu: %s", exc)


def menu_fingerprint(registry: Registry, locale: str) -> str:
    """What a reviewer's menu in ``locale`` is made of, hashed."""
    commands = [(c.command, c.description) for c in bot_commands(registry, REVIEWER_MENU, locale)]
    payload = json.dumps([locale, commands], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


async def sync_chat_menus(app: BranchApp) -> None:
    """Publish the fuller menu in the chat of every secretary and reviewing committee
    member (who started the bot) whose published menu is not the current one."""
    registry: Registry = app.bot_data["registry"]
    runtime: Runtime = app.bot_data["runtime"]
    async with runtime.unit_of_work() as svc:
        rows = (
            await svc.session.execute(
                select(
                    TelegramAccount.telegram_user_id,
                    TelegramAccount.locale,
                    TelegramAccount.language_code,
                    ChatMenu.fingerprint,
                )
                .join(Membership, Membership.person_id == TelegramAccount.person_id)
                .outerjoin(ChatMenu, ChatMenu.telegram_user_id == TelegramAccount.telegram_user_id)
                .where(
                    Membership.ended_at.is_(None),
                    TelegramAccount.started_at.is_not(None),
                    or_(
                        Membership.role == Role.SECRETARY,
                        and_(Membership.role == Role.COMMITTEE, Membership.can_review.is_(True)),
                    ),
                )
                .order_by(TelegramAccount.telegram_user_id)
            )
        ).all()
    fingerprints: dict[str, str] = {}
    todo: list[tuple[int, str, str]] = []
    for telegram_user_id, locale, language_code, published in rows:
        locale = locale or negotiate_locale(language_code)
        if locale not in fingerprints:
            fingerprints[locale] = menu_fingerprint(registry, locale)
        if published != fingerprints[locale]:
            todo.append((telegram_user_id, locale, fingerprints[locale]))
    done = 0
    for start in range(0, len(todo), BATCH):
        published_now: list[tuple[int, str]] = []
        for telegram_user_id, locale, fingerprint in todo[start : start + BATCH]:
            if await publish_chat_menu(app.bot, registry, telegram_user_id, locale, reviewer=True):
                published_now.append((telegram_user_id, fingerprint))
        if not published_now:
            continue
        async with runtime.unit_of_work() as svc:
            ids = [tid for tid, _ in published_now]
            await svc.session.execute(delete(ChatMenu).where(ChatMenu.telegram_user_id.in_(ids)))
            now = svc.clock.now()
            await svc.session.execute(
                insert(ChatMenu),
                [
                    {"telegram_user_id": tid, "fingerprint": fp, "published_at": now}
                    for tid, fp in published_now
                ],
            )
        done += len(published_now)
    if todo:
        log.info("command menus: %d of %d changed reviewer menus published", done, len(todo))
