"""Messages Telegram did not accept, kept for a later retry (at-least-once replies)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from domain.base import Service
from store.models import Delivery, DeliveryFile

MAX_ATTEMPTS = 8
#: How long a claimed delivery may stay in ``sending`` before another run takes it over.
SENDING_LEASE = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** max(attempts - 1, 0), 3600))


@dataclass(frozen=True)
class DueDelivery:
    id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    attempts: int
    photo_id: int | None = None


class DeliveryService(Service):
    async def queue(
        self, chat_id: int, text: str, reply_markup: dict[str, Any] | None, error: str
    ) -> int:
        now = self.clock.now()
        row = Delivery(
            chat_id=chat_id,
            text=text,
            reply_markup=reply_markup,
            status="pending",
            attempts=1,
            last_error=error[:255],
            created_at=now,
            next_attempt_at=now + backoff(1),
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def store_file(self, name: str, data: bytes) -> int:
        """Keep a picture that deliveries will send (``queue_now(photo_id=…)``)."""
        row = DeliveryFile(name=name[:128], data=data, created_at=self.clock.now())
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def queue_now(
        self,
        chat_id: int,
        text: str,
        *,
        photo_id: int | None = None,
        reply_markup: dict[str, Any] | None = None,
    ) -> None:
        """A message to send as soon as this transaction commits (the delivery task, or
        whoever drains the outbox first); kept and retried like any delivery."""
        now = self.clock.now()
        self.session.add(
            Delivery(
                chat_id=chat_id,
                text=text,
                reply_markup=reply_markup,
                status="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
                photo_id=photo_id,
            )
        )

    async def photo(self, photo_id: int) -> tuple[str | None, bytes | None]:
        """A stored picture: Telegram's file id once uploaded, else the bytes (read only
        then: a branch's ranking sends the same chart to every member)."""
        file_id = await self.session.scalar(
            select(DeliveryFile.telegram_file_id).where(DeliveryFile.id == photo_id)
        )
        if file_id:
            return file_id, None
        data = await self.session.scalar(
            select(DeliveryFile.data).where(DeliveryFile.id == photo_id)
        )
        return None, data

    async def photo_uploaded(self, photo_id: int, telegram_file_id: str) -> None:
        await self.session.execute(
            update(DeliveryFile)
            .where(DeliveryFile.id == photo_id, DeliveryFile.telegram_file_id.is_(None))
            .values(telegram_file_id=telegram_file_id[:255])
        )

    async def claim_due(self, limit: int = 50) -> list[DueDelivery]:
        """Due rows, each claimed atomically by this caller: ``pending`` → ``sending``
        with a lease (``next_attempt_at`` moved SENDING_LEASE ahead). A process that
        dies between claiming and finishing leaves its rows in ``sending``; once the
        lease is over they are due again (at least once: a message may repeat, none is
        lost)."""
        now = self.clock.now()
        rows = (
            await self.session.scalars(
                select(Delivery)
                .where(Delivery.status.in_(("pending", "sending")), Delivery.next_attempt_at <= now)
                .order_by(Delivery.id)
                .limit(limit)
            )
        ).all()
        claimed: list[DueDelivery] = []
        for row in rows:
            result = await self.session.execute(
                update(Delivery)
                .where(
                    Delivery.id == row.id,
                    Delivery.status == row.status,
                    Delivery.next_attempt_at == row.next_attempt_at,
                )
                .values(status="sending", next_attempt_at=now + SENDING_LEASE)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                claimed.append(
                    DueDelivery(
                        row.id, row.chat_id, row.text, row.reply_markup, row.attempts, row.photo_id
                    )
                )
        return claimed

    async def finish(self, delivery_id: int, outcome: str, error: str | None = None) -> None:
        """``sent``, ``blocked``, or ``retry`` (back to pending with a backoff, or
        ``failed`` after MAX_ATTEMPTS)."""
        row = await self.session.get(Delivery, delivery_id)
        if row is None:
            return
        if outcome == "retry":
            row.attempts += 1
            row.last_error = (error or "")[:255]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.status = "pending"
                row.next_attempt_at = self.clock.now() + backoff(row.attempts)
        else:
            row.status = outcome
            row.last_error = (error or None) and error[:255]
        await self.session.flush()
