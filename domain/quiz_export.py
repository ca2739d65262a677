# i18n-domain: quiz
"""An exam's results as a workbook (XLSX, openpyxl): one row per person asked to sit it,
in the reader's language (the translate function is passed in)."""

from __future__ import annotations

import io
from collections.abc import Callable

from domain import sheets
from domain.quiz import ExamResults
from locales.i18n import N_

#: The result column, by ``ResultRow.state``.
STATE_LABELS = {
    "passed": N_("passed"),
    "failed": N_("not passed"),
    "in_progress": N_("in progress"),
    "missing": N_("not taken"),
}


def exam_workbook(res: ExamResults, t: Callable[[str], str]) -> bytes:
    # openpyxl (and numpy, which it imports) only when a workbook is made: not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    bold = Font(bold=True)
    sheet = wb.active
    sheet.title = sheets.sheet_title(t("Exam results"))
    e = res.exam
    sheets.row(sheet, [e.title])
    sheets.row(
        sheet,
        [
            t("Window"),
            f"{e.opens_on.isoformat()} – {e.closes_on.isoformat()}",
            t("Pass mark"),
            e.pass_mark,
            t("Questions"),
            e.question_count,
        ],
    )
    sheets.row(sheet, [])
    header = [t("No."), t("Member"), t("Status"), t("Score"), t("Result"), t("Note")]
    sheets.row(sheet, header)
    for cell in sheet[4]:
        cell.font = bold
    sheet["A1"].font = bold
    for n, row in enumerate(res.rows, start=1):
        sheets.row(
            sheet,
            [
                n,
                row.name,
                t(row.status.label),
                row.score,
                t(STATE_LABELS[row.state]),
                t("time ran out") if row.expired else None,
            ],
        )
    sheets.row(sheet, [])
    for state in ("passed", "failed", "in_progress", "missing"):
        sheets.row(sheet, [None, t(STATE_LABELS[state]), None, res.count(state)])
    for column, width in zip("ABCDEF", (6, 16, 14, 8, 12, 14), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
