"""The register of organisational life (组织生活记录本) as XLSX (openpyxl): one sheet per
meeting kind, one row per meeting (date, title, place, chair, minute-taker, counts,
the latest minutes) and an attendance matrix with one column per member. Headers are
in the reader's language (passed in)."""

# i18n-domain: meetings

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from domain import meetings_rules as rules
from domain import sheets
from domain.meetings_compliance import RegisterRow
from locales.i18n import N_

MARKS = {rules.PRESENT: "✓", rules.ON_LEAVE: N_("leave"), rules.ABSENT: "✗"}


def meetings_workbook(
    year: int,
    rows: Sequence[RegisterRow],
    people: Sequence[tuple[int, str]],
    t: Callable[[str], str],
) -> bytes:
    # openpyxl (and numpy, which it imports) only when a workbook is made: not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    bold = Font(bold=True)
    first = True
    for kind in rules.KINDS:
        sheet = wb.active if first else wb.create_sheet()
        first = False
        assert sheet is not None
        sheet.title = sheets.sheet_title(t(rules.KIND_LABELS[kind]))
        header = [
            t("No."),
            t("Date"),
            t("Title"),
            t("Place"),
            t("Chair"),
            t("Minute-taker"),
            t("Status"),
            t("Invited"),
            t("Present"),
            t("On leave"),
            t("Absent"),
            t("Minutes (latest version)"),
            t("Version"),
            t("Attachments"),
            *(name for _pid, name in people),
        ]
        sheets.row(sheet, header)
        for cell in sheet[1]:
            cell.font = bold
        number = 0
        for row in rows:
            m = row.meeting
            if m.kind != kind:
                continue
            number += 1
            outcomes = {a.person_id: a.outcome for a in row.attendees}
            held = m.status == "held"
            counts = {k: sum(o == k for o in outcomes.values()) for k in MARKS}
            matrix = []
            for pid, _name in people:
                result = outcomes.get(pid)
                if result is None:
                    matrix.append("")
                elif not held and result == rules.ABSENT:
                    matrix.append("")  # not over yet
                else:
                    matrix.append(t(MARKS[result]) if result == rules.ON_LEAVE else MARKS[result])
            sheets.row(
                sheet,
                [
                    number,
                    m.local_start.strftime("%Y-%m-%d %H:%M"),
                    m.title,
                    m.place or "",
                    m.chair_name or "",
                    m.minutes_name or "",
                    t("held") if held else t("scheduled"),
                    len(row.attendees),
                    counts[rules.PRESENT],
                    counts[rules.ON_LEAVE],
                    counts[rules.ABSENT] if held else "",
                    row.minutes,
                    row.version or "",
                    row.files or "",
                    *matrix,
                ],
            )
            sheet.cell(sheet.max_row, 12).alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions["C"].width = 28
        sheet.column_dimensions["L"].width = 48
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def year_title(t: Callable[[str], str], year: int) -> str:
    return t("Organisational life register {year}").format(year=year)
