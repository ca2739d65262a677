# i18n-domain: org
"""The oversight roll-up (XLSX): one row per branch, headers in the reader's language."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from domain import sheets
from domain.organisation import FLAG_LABELS, BranchOversight, missed_periods
from locales.i18n import N_

COLUMNS = (
    N_("Branch No."),
    N_("Branch"),
    N_("Organisation"),
    N_("Secretary"),
    N_("People"),
    N_("Quarter"),
    N_("Quarter closed"),
    N_("Scored"),
    N_("Average points"),
    N_("Claims pending"),
    N_("Below 60"),
    N_("诫勉"),
    N_("Fee month"),
    N_("Fees due (people)"),
    N_("Fees paid (people)"),
    N_("Fees to confirm"),
    N_("Owe 3+ months"),
    N_("Owe 6+ months"),
    N_("Reports owed"),
    N_("Reports overdue"),
    N_("Latest exam"),
    N_("Exam passed"),
    N_("Exam takers"),
    N_("Meetings held"),
    N_("Meetings due"),
    N_("Meetings not held"),
    N_("Secretary's lecture"),
    N_("Talks: people covered"),
    N_("Talks: people without"),
    N_("Flags"),
)


def oversight_workbook(rows: Sequence[BranchOversight], t: Callable[[str], str]) -> bytes:
    # openpyxl (and numpy, which it imports) only when a workbook is made: not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    sheet = wb.active
    sheet.title = t("Oversight")
    sheets.row(sheet, [t(c) for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    red = PatternFill("solid", fgColor="FFC7CE")
    for r in rows:
        life = r.life
        missed = "、".join(missed_periods(life, t)) if life else ""
        sheets.row(
            sheet,
            [
                r.branch_id,
                r.name,
                r.organisation,
                r.secretary or "",
                r.members,
                r.quarter,
                t("yes") if r.quarter_closed else t("no"),
                r.scored,
                float(r.average) if r.average is not None else None,
                r.pending_claims,
                r.below_60,
                r.warnings,
                r.fee_month,
                r.fee_liable,
                r.fee_paid,
                r.fee_pending,
                r.arrears_3,
                r.arrears_6,
                r.reports_owed,
                r.reports_overdue,
                r.exam_title or "",
                r.exam_passed,
                r.exam_total,
                life.held if life else None,
                life.due if life else None,
                missed,
                (t("yes") if life.lectured else t("no")) if life else "",
                life.talk_people - life.talk_uncovered if life else None,
                life.talk_uncovered if life else None,
                "; ".join(t(FLAG_LABELS[f]) for f in r.flags),
            ],
        )
        if r.flags:
            for cell in sheet[sheet.max_row]:
                cell.fill = red
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
