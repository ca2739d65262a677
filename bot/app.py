"""The composition root: builds the PTB Application with the database, services,
translations and every feature's handlers.

Each update is handled inside one database transaction (``BranchApplication``): the
update id is recorded in ``processed_updates`` in the same transaction as the update's
effects, so an update Telegram delivers twice has its effect once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from types import ModuleType
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot.context import CURRENT_SCOPE, BranchApp, BranchContext, UpdateScope
from bot.flood import FLOOD_NOTICE, FloodThrottle
from bot.limiter import RetryingRateLimiter
from bot.logs import log_context
from bot.menus import SYNC_EVERY, publish_commands, sync_chat_menus
from bot.ordering import AnswerFirst
from bot.runtime import Runtime
from domain.services import Services
from domain.viewer import TelegramUserInfo
from handlers import (
    appraisal,
    appraisal_meeting,
    calendar,
    dialog,
    errors,
    export,
    fees,
    lang,
    meetings,
    meetings_jobs,
    meetings_minutes,
    membership,
    org,
    org_moves,
    pipeline,
    pipeline_votes,
    points,
    quiz,
    reports,
    start,
    talks,
)
from handlers.common import reader_for
from handlers.dialog import DialogRouter
from handlers.registry import (
    PeriodicTask,
    Registry,
)
from locales.i18n import negotiate_locale
from scheduler import dispatcher as reminders_dispatcher
from scheduler.deliveries import deliver_due
from scheduler.leader import LeaderLease
from store.models import ProcessedUpdate

log = logging.getLogger(__name__)

#: Feature modules, in registration order. ``dialog`` and ``errors`` come last: they
#: take what no feature handler matched.
FEATURES: Sequence[ModuleType] = (
    start,
    lang,
    membership,
    export,
    reports,
    fees,
    points,
    quiz,
    calendar,
    org,
    org_moves,
    pipeline,
    pipeline_votes,
    meetings,
    meetings_minutes,
    meetings_jobs,
    talks,
    appraisal,
    appraisal_meeting,
)
FALLBACKS: Sequence[ModuleType] = (dialog, errors)

#: Placeholder token for the local emulator (demo, tests); never a real token.
LOCAL_TOKEN = "123456:LOCAL-EMULATOR-TOKEN"


#: The idempotency record of every update, built once (see ``_process_in_transaction``).
_RECORD_UPDATE = insert(ProcessedUpdate).values(outcome="ok")


class ConfirmAfterProcessingQueue(asyncio.Queue[object]):
    """PTB's update queue, except that ``put`` returns once the update has been processed
    (its transaction committed, or its failure recorded).

    PTB's ``Updater`` confirms the updates it fetched through the offset of its next
    ``getUpdates`` call, and it makes that call as soon as the batch is queued: a process
    killed then loses every update it had queued but not handled yet, as Telegram will not
    deliver them again. With this queue the next ``getUpdates`` waits until the batch is
    handled, so an update is confirmed only after its transaction is over. A process killed
    before that has the update delivered again, and ``processed_updates`` skips it if its
    transaction had committed (at-least-once delivery + idempotency = effect exactly once).
    """

    async def put(self, item: object) -> None:
        await super().put(item)
        await self.join()


class BranchApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB Application with one database transaction and idempotency per update."""

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.bot_data["runtime"]
        return runtime

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        with log_context(
            update_id=update.update_id,
            user_id=update.effective_user.id if update.effective_user else None,
            chat_id=update.effective_chat.id if update.effective_chat else None,
        ):
            if not await self._admit(update):
                return
            await self._process_in_transaction(update)
            log.debug("update handled")

    async def _admit(self, update: Update) -> bool:
        """The flood throttle (``bot.flood``): an update from a user over their rate is
        dropped before any database work; the user is told once, in the background."""
        throttle: FloodThrottle = self.bot_data["flood"]
        user = update.effective_user
        if user is None or user.is_bot or await throttle.admit(user.id):
            return True
        log.info("update %s from user %s dropped (flood)", update.update_id, user.id)
        if throttle.should_warn(user.id):
            self.create_task(self._flood_notice(user.id))
        return False

    async def _flood_notice(self, user_id: int) -> None:
        """Tell a flooder once, in their language; a notice Telegram does not take now
        (their chat is over its pace) is queued for the delivery task."""
        try:
            async with self.runtime.unit_of_work() as svc:
                text = (await reader_for(svc, user_id)).gettext(FLOOD_NOTICE)
                try:
                    await self.bot.send_message(user_id, text)
                except TelegramError as exc:
                    log.info("flood notice to %s queued: %s", user_id, exc)
                    await svc.deliveries.queue(user_id, text, None, str(exc))
        except Exception:
            log.exception("could not tell user %s to slow down", user_id)

    async def _process_in_transaction(self, update: Update) -> None:
        runtime = self.runtime
        async with runtime.db.session(keep_loaded=True) as session:
            try:
                # Core on the session's connection: no ORM bulk-insert machinery.
                connection = await session.connection()
                await connection.execute(
                    _RECORD_UPDATE,
                    {"update_id": update.update_id, "processed_at": runtime.clock.now()},
                )
            except IntegrityError:
                await session.rollback()
                log.info("update %s was already processed; skipped", update.update_id)
                return
            services = Services(session, runtime.clock)
            viewer = None
            user = update.effective_user
            if user is not None and not user.is_bot:
                viewer = await services.membership.touch(
                    TelegramUserInfo(
                        user.id, user.first_name, user.last_name, user.username, user.language_code
                    )
                )
            locale = viewer.locale if viewer else negotiate_locale(None)
            scope = UpdateScope(
                session=session,
                services=services,
                viewer=viewer,
                locale=locale,
                update_id=update.update_id,
                request=_request_text(update),
            )
            token = CURRENT_SCOPE.set(scope)
            try:
                await super().process_update(update)
                if not scope.failed:
                    await session.commit()
                    await self._after_commit(scope)
            finally:
                await scope.settle()  # the answer to a button press, sent meanwhile
                CURRENT_SCOPE.reset(token)
            if not scope.failed:
                return
            await session.rollback()
        # The handler failed: its effects are rolled back, but the update is marked
        # so a re-delivery does not repeat a half-done action.
        async with runtime.db.session() as session:
            session.add(
                ProcessedUpdate(
                    update_id=update.update_id, processed_at=runtime.clock.now(), outcome="error"
                )
            )
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()

    async def _after_commit(self, scope: UpdateScope) -> None:
        """Messages to other users, sent once the update's effects are durable: a button
        never names a row that a failed transaction rolled back. Their own bookkeeping
        (blocked users, deliveries to retry) commits in a second, short transaction."""
        if not scope.after_commit:
            return
        for send in scope.after_commit:
            try:
                await send()
            except Exception:
                log.exception("a message after commit failed")
        try:
            await scope.session.commit()
        except Exception:
            log.exception("could not record the outcome of messages sent after commit")
            await scope.session.rollback()


def _request_text(update: Update) -> str | None:
    if update.callback_query is not None:
        return (update.callback_query.data or "")[:100]
    message = update.effective_message
    if message is not None and message.text:
        return message.text[:100]
    return None


def build_application(
    runtime: Runtime,
    *,
    request: BaseRequest | None = None,
    rate_limiter: bool = True,
) -> BranchApp:
    settings = runtime.settings
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else None
    builder = (
        ApplicationBuilder()
        .application_class(BranchApplication)
        .token(token or LOCAL_TOKEN)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_file_url)
        .context_types(ContextTypes(context=BranchContext))
        .update_queue(ConfirmAfterProcessingQueue())
        .defaults(Defaults(tzinfo=settings.tz))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    # Calls in the handler's order although a button press is answered concurrently.
    if request is not None:
        builder = builder.request(AnswerFirst(request)).get_updates_request(request)
    else:
        builder = builder.request(AnswerFirst(HTTPXRequest(connection_pool_size=256)))
    throttle = FloodThrottle(settings.flood_burst, settings.flood_period)
    if rate_limiter:
        limiter = RetryingRateLimiter(max_retries=3, backoff=settings.retry_backoff)
        limiter.impatient = throttle.is_hot
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    app: BranchApp = builder.build()
    registry = Registry()
    app.bot_data["runtime"] = runtime
    app.bot_data["registry"] = registry
    app.bot_data["dialogs"] = DialogRouter()
    app.bot_data["leader"] = LeaderLease(runtime, ttl=timedelta(seconds=settings.lease_seconds))
    app.bot_data["flood"] = throttle
    for module in (*FEATURES, *FALLBACKS):
        module.register(app, registry)
    registry.periodic("deliveries", timedelta(seconds=15), deliver_due)
    registry.periodic("menus", SYNC_EVERY, sync_chat_menus)
    return app


async def _post_init(app: BranchApp) -> None:
    await publish_commands(app)
    schedule_periodic_tasks(app)
    runtime: Runtime = app.bot_data["runtime"]
    if runtime.settings.webapp_listen:
        from bot.webapp import start_webapp

        runner, port = await start_webapp(runtime, runtime.settings.webapp_listen)
        app.bot_data["webapp"] = runner
        app.bot_data["webapp_port"] = port


def schedule_periodic_tasks(app: BranchApp) -> None:
    """Put every feature's periodic task on PTB's job queue. APScheduler's default
    misfire grace (1 s) would silently skip a late run: a late tick runs once instead.

    Only the instance holding the scheduler lease runs them (``scheduler.leader``): with
    several instances on one database, each task runs in exactly one of them, and another
    takes over within the lease time (``BRANCHBOT_LEASE_SECONDS``, 30 s) when the leader
    dies."""
    registry: Registry = app.bot_data["registry"]
    leader: LeaderLease = app.bot_data["leader"]
    if app.job_queue is None:
        log.warning("no job queue: periodic tasks are not scheduled")
        return

    async def renew(ctx: BranchContext) -> None:
        try:
            await leader.ensure()
        except Exception:
            log.exception("could not renew the scheduler lease")

    app.job_queue.run_repeating(
        renew,
        interval=leader.ttl / 3,
        first=0.0,
        name="leader-lease",
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )
    for task in registry.periodic_tasks:

        async def run(ctx: BranchContext, task: PeriodicTask = task) -> None:
            try:
                if await leader.ensure():
                    await task.run(ctx.application)
            except Exception:
                log.exception("periodic task %s failed", task.name)

        app.job_queue.run_repeating(
            run,
            interval=task.every,
            first=task.first,
            name=task.name,
            job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )


async def _post_shutdown(app: BranchApp) -> None:
    runtime: Runtime = app.bot_data["runtime"]
    leader: LeaderLease = app.bot_data["leader"]
    try:
        webapp = app.bot_data.pop("webapp", None)
        if webapp is not None:
            await webapp.cleanup()
        await leader.release()
        await reminders_dispatcher.close(app)
    finally:
        await runtime.db.dispose()
