"""Minutes of a meeting (会议记录): append-only versions of text and attached files
(photos of the sign-in sheet, PDF), each audited; a correction is the next version."""

# i18n-domain: meetings

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from domain.errors import Conflict, NotAllowed
from domain.meetings import MeetingInfo, MeetingService
from domain.reports import safe_name
from domain.viewer import Viewer
from locales.i18n import N_
from store.models import Meeting, MeetingMinutes

MAX_MINUTES = 8000
MAX_FILES = 10


@dataclass(frozen=True)
class MinutesVersion:
    version: int
    text: str
    files: list[dict[str, Any]]
    author_person_id: int | None
    created_at: datetime


class MinutesService(MeetingService):
    def _may_write(self, viewer: Viewer, m: Meeting) -> None:
        if not (viewer.is_secretary or viewer.person_id == m.minutes_person_id):
            raise NotAllowed(N_("Only the minute-taker or the secretary can record minutes."))

    async def check_write(self, viewer: Viewer, meeting_id: int) -> MeetingInfo:
        m = await self._meeting(viewer, meeting_id)
        self._may_write(viewer, m)
        if m.status == "cancelled":
            raise Conflict(N_("This meeting was cancelled."))
        return await self._info(m)

    async def add(
        self, viewer: Viewer, meeting_id: int, text: str, files: list[dict[str, Any]]
    ) -> int:
        """Record a new version of the minutes; its number."""
        m = await self._meeting(viewer, meeting_id)
        self._may_write(viewer, m)
        text = text.strip()
        if not text and not files:
            raise Conflict(N_("The minutes are empty: send text or files first."))
        if len(text) > MAX_MINUTES:
            raise Conflict(N_("The minutes are too long (at most {n} characters)."), n=MAX_MINUTES)
        if len(files) > MAX_FILES:
            raise Conflict(N_("At most {n} files per version."), n=MAX_FILES)
        last = await self.session.scalar(
            select(func.max(MeetingMinutes.version)).where(MeetingMinutes.meeting_id == m.id)
        )
        version = (last or 0) + 1
        self.session.add(
            MeetingMinutes(
                meeting_id=m.id,
                version=version,
                text=text,
                files=files,
                author_person_id=viewer.person_id,
                created_at=self.clock.now(),
            )
        )
        await self.session.flush()
        await self.audit(
            "meeting.minutes",
            actor=viewer,
            subject_type="meeting",
            subject_id=m.id,
            version=version,
            files=len(files),
            chars=len(text),
        )
        return version

    async def versions(self, viewer: Viewer, meeting_id: int) -> list[MinutesVersion]:
        m = await self._visible(viewer, meeting_id)
        rows = (
            await self.session.scalars(
                select(MeetingMinutes)
                .where(MeetingMinutes.meeting_id == m.id)
                .order_by(MeetingMinutes.version)
            )
        ).all()
        return [
            MinutesVersion(r.version, r.text, list(r.files or []), r.author_person_id, r.created_at)
            for r in rows
        ]


def write_copy(
    storage_dir: Path, branch_id: int, meeting_id: int, unique_id: str, ext: str, data: bytes
) -> str:
    """Keep the bot's own copy of a minutes file (Telegram may forget it); written
    atomically; returns its path relative to ``storage_dir``."""
    relative = Path("meetings") / str(branch_id) / str(meeting_id)
    name = safe_name(unique_id or "file", 60) + ext
    folder = storage_dir / relative
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, folder / name)
    return (relative / name).as_posix()
