"""The fee-day broadcast on two instances survives a SIGKILL of the leader.

Two ``branchbot run`` instances in webhook mode run as OS processes on the test database
(SQLite file, or PostgreSQL with ``TEST_DATABASE_URL``) against the emulator in this
process, with a lease of 2 s and a paid broadcast of 200 msg/s to 200 members. When half
the reminders are out, the leader is killed with SIGKILL; the standby takes the lease
over, puts the rows the dead leader had claimed but not handed to Telegram back in the
queue, records the ones it was sending as ``unknown`` (never resent) and sends the rest.

Verdict (at most once, nothing silently lost): every member got the reminder exactly
once, or (only for the requests in flight at the kill) the row is ``unknown`` and nobody
resent it; no member got it twice; both instances sent a part. No timing is asserted:
``python -m bench.fleet`` prints the figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fleet import generate, print_result, run_once
from tests.databases import TemplateDatabase

pytestmark = pytest.mark.e2e

MEMBERS = 200
RATE = 200.0
LEASE = 2.0


async def test_sigkill_of_the_leader_mid_broadcast_loses_and_repeats_nothing(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    url = await template_db.fresh(tmp_path)
    try:
        await generate(url, MEMBERS)
        result = await run_once(
            url, rate=RATE, lease=LEASE, kill_leader=True, workdir=tmp_path, timeout=60, echo=False
        )
        print_result(result, RATE)
        assert result.expected == MEMBERS
        assert result.duplicates == 0
        # Members who got nothing: only rows recorded "unknown" (in flight at the kill).
        assert result.lost == result.lost_unknown
        assert result.delivered + result.lost == MEMBERS
        # The unknown rows are few: the group being sent, not the whole claimed batch.
        assert result.unknown <= MEMBERS // 2
        standby = next(name for name in result.sent_by if name != result.leader)
        assert result.sent_by[result.leader] > 0 and result.sent_by[standby] > 0
        assert result.sent_by[result.leader] + result.sent_by[standby] + result.unknown == (MEMBERS)
        assert result.takeover is not None
    finally:
        await template_db.discard(url)
