# i18n-domain: org
"""What the Mini App dashboard shows, scoped by the same rights as the chat: a member
their own scores; a secretary (or reviewer) their branch's charts and ledger; an
organisation administrator the comparison of their branches and any one of them.

Returns plain JSON-ready dicts (the web server serialises them as they are)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain import meetings_rules
from domain.base import Service
from domain.errors import NotAllowed, NotFound
from domain.fee_rules import Month
from domain.org_life import LifeFigures, life_figures
from domain.organisation import (
    FLAG_LABELS,
    average_score,
    branch_lens,
    missed_periods,
    sort_rows,
)
from domain.periods import Quarter
from domain.viewer import Viewer
from locales.i18n import N_, translator
from store.models import Branch

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from domain.clock import Clock
    from domain.services import Services

QUARTERS = 4
MONTHS = 6
LEDGER_ROWS = 500

OTHER_BRANCH = N_("You may not see this branch.")


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _life(life: LifeFigures | None, t: Callable[[str], str]) -> dict[str, Any] | None:
    """Meetings compliance of a quarter (per kind: held of due) and the year's talks."""
    if life is None:
        return None
    return {
        "year": life.year,
        "held": life.held,
        "due": life.due,
        "rate": life.rate,
        "missed": missed_periods(life, t),
        "kinds": [
            {
                "kind": k.kind,
                "label": t(meetings_rules.KIND_LABELS[k.kind]),
                "held": k.held,
                "due": k.due,
                "missed": list(k.missed),
            }
            for k in life.kinds
        ],
        "lectured": life.lectured,
        "talk_people": life.talk_people,
        "talk_uncovered": life.talk_uncovered,
    }


def _months_back(month: Month, count: int) -> list[Month]:
    result = [month]
    while len(result) < count:
        m = result[-1]
        result.append(Month(m.year - 1, 12) if m.month == 1 else Month(m.year, m.month - 1))
    return list(reversed(result))


class DashboardService(Service):
    def __init__(self, session: AsyncSession, clock: Clock, services: Services) -> None:
        super().__init__(session, clock)
        self.services = services

    async def view(self, telegram_user_id: int, branch_id: int | None = None) -> dict[str, Any]:
        """The dashboard of this Telegram user; ``branch_id`` picks a branch (an
        administrator's choice, or the secretary's own). Refuses what they may not see."""
        svc = self.services
        viewer = await svc.membership.viewer_of(telegram_user_id)
        t = translator(viewer.locale).gettext
        admin_scope = await svc.organisation.scope(viewer)
        result: dict[str, Any] = {
            "user": {"name": viewer.full_name or viewer.display_name, "locale": viewer.locale},
            "role": "member",
            "branches": [],
            "branch": None,
            "own": None,
        }
        if admin_scope:
            result["role"] = "org"
            rows = sort_rows(await svc.organisation.oversight(viewer), "name")
            result["branches"] = [
                {
                    "id": r.branch_id,
                    "name": r.name,
                    "organisation": r.organisation,
                    "average": _num(r.average),
                    "below_60": r.below_60,
                    "fee_rate": r.fee_rate,
                    "reports_owed": r.reports_owed,
                    "exam_rate": r.exam_rate,
                    "meetings": _life(r.life, t),
                    "flags": [t(FLAG_LABELS[f]) for f in r.flags],
                }
                for r in rows
            ]
        elif viewer.is_reviewer:
            result["role"] = "secretary"
        elif not viewer.is_member:
            raise NotAllowed(N_("Only members of a branch can do this."))

        wanted = branch_id
        if wanted is None and viewer.is_reviewer:
            wanted = viewer.branch_id
        if wanted is not None:
            branch = await self.session.get(Branch, wanted)
            own = viewer.is_reviewer and viewer.branch_id == wanted
            if branch is None or not (own or branch.organisation_id in admin_scope):
                await self.audit(
                    "access.denied",
                    actor=viewer,
                    subject_type="branch",
                    subject_id=wanted,
                    reason=OTHER_BRANCH,
                    request="dashboard",
                )
                raise NotFound(OTHER_BRANCH)
            result["branch"] = await self._branch(branch, viewer, t)
        if viewer.is_member and viewer.status is not None and viewer.status.is_party_member:
            overview = await svc.points.overview(viewer, recent=0)
            result["own"] = {
                "quarters": [
                    {"quarter": q.key, "total": _num(total), "final": final}
                    for q, total, final in overview.year
                ]
            }
        return result

    async def _branch(
        self, branch: Branch, viewer: Viewer, t: Callable[[str], str]
    ) -> dict[str, Any]:
        svc = self.services
        lens = branch_lens(branch, viewer)
        current = Quarter.of(await svc.points.today(branch.id))
        quarters = [current]
        while len(quarters) < QUARTERS:
            quarters.append(quarters[-1].prev())
        quarters.reverse()
        score_series = []
        for quarter in quarters:  # the current quarter last: its scores stay in ``scores``
            scores = await svc.points.member_scores(branch.id, quarter)
            totals = [s.figures.total for s in scores]
            score_series.append(
                {
                    "quarter": quarter.key,
                    "average": _num(average_score(totals)),
                    "below_60": sum(1 for x in totals if x < 60),
                    "members": len(totals),
                }
            )
        members = [{"name": s.name, "total": _num(s.figures.total), "rank": s.rank} for s in scores]
        this_month = svc.fees.current_month(branch)
        fee_series = []
        months = list(_months_back(this_month, MONTHS))
        for month, summary in zip(
            months, await svc.fees.month_summaries(lens, months), strict=True
        ):  # one read of the branch for the whole series
            fee_series.append(
                {
                    "month": month.key,
                    "liable": summary.liable,
                    "paid": summary.confirmed_count,
                    "pending": summary.pending_count,
                    "due": _num(summary.due_total),
                    "confirmed": _num(summary.confirmed_total),
                }
            )
        reports = await svc.reports.overview(lens)
        ledger = await svc.points.recent_ledger(lens, current, LEDGER_ROWS)
        life = await life_figures(svc, lens, current)
        return {
            "id": branch.id,
            "name": branch.name,
            "quarter": current.key,
            "scores": score_series,
            "members": members,
            "fees": fee_series,
            "reports": {
                "period": reports.period.key,
                "submitted": len(reports.submitted),
                "owed": len(reports.owed),
                "overdue": sum(1 for r in reports.owed if r.overdue),
            },
            "meetings": _life(life, t),
            "ledger": [
                {
                    "date": e.occurred_on.isoformat(),
                    "member": e.person_name,
                    "item": e.item_name or e.note or "",
                    "indicator": e.indicator,
                    "points": _num(e.points),
                    "kind": e.kind.value,
                }
                for e in ledger
            ],
        }
