"""Half-finished conversations kept in the database (survive restarts, any instance)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from domain.base import Service
from store.models import DialogState

#: A conversation untouched for this long is forgotten.
DIALOG_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Dialog:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    text_buffer: str | None = None


class DialogService(Service):
    async def get(self, telegram_user_id: int) -> Dialog | None:
        row = await self.session.get(DialogState, telegram_user_id)
        if row is None:
            return None
        if self.clock.now() - row.updated_at > DIALOG_TTL:
            await self.session.delete(row)
            return None
        return Dialog(row.flow, row.step, dict(row.data or {}), row.text_buffer)

    async def set(
        self,
        telegram_user_id: int,
        flow: str,
        step: str,
        data: dict[str, Any] | None = None,
        *,
        text_buffer: str | None = None,
    ) -> Dialog:
        row = await self.session.get(DialogState, telegram_user_id)
        now = self.clock.now()
        if row is None:
            row = DialogState(
                telegram_user_id=telegram_user_id,
                flow=flow,
                step=step,
                data=data or {},
                text_buffer=text_buffer,
                updated_at=now,
            )
            self.session.add(row)
        else:
            row.flow, row.step, row.data = flow, step, dict(data or {})
            row.text_buffer = text_buffer
            row.updated_at = now
        await self.session.flush()
        return Dialog(flow, step, dict(data or {}), text_buffer)

    async def clear(self, telegram_user_id: int) -> bool:
        row = await self.session.get(DialogState, telegram_user_id)
        if row is None:
            return False
        await self.session.delete(row)
        await self.session.flush()
        return True
