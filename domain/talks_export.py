"""Each party group's quarterly talk record table (谈话记录表) as XLSX: one sheet per
group (date, the two people, the summary) with the group's members who had no talk
listed below, and a coverage sheet. Headers in the reader's language."""

# i18n-domain: meetings

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from domain import sheets
from domain.talks import GroupTable


def talks_workbook(quarter: str, tables: Sequence[GroupTable], t: Callable[[str], str]) -> bytes:
    # openpyxl (and numpy, which it imports) only when a workbook is made: not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    bold = Font(bold=True)
    summary = wb.active
    assert summary is not None
    summary.title = sheets.sheet_title(t("Overview"))
    sheets.row(summary, [t("Party group"), t("Members"), t("Talks"), t("Without a talk")])
    for cell in summary[1]:
        cell.font = bold
    used: set[str] = set()
    for table in tables:
        name = table.group or t("No party group")
        sheets.row(
            summary, [name, len(table.members), len(table.talks), t(", ").join(table.missing)]
        )
        title = sheets.sheet_title(name)
        while title in used:
            title = title[:28] + f"~{len(used)}"
        used.add(title)
        sheet = wb.create_sheet(title)
        sheets.row(sheet, [t("No."), t("Date"), t("Person"), t("Person"), t("Summary")])
        for cell in sheet[1]:
            cell.font = bold
        for number, talk in enumerate(table.talks, start=1):
            sheets.row(sheet, [number, talk.talk_on, talk.a_name, talk.b_name, talk.summary or ""])
            sheet.cell(sheet.max_row, 5).alignment = Alignment(wrap_text=True, vertical="top")
        sheets.row(sheet, [])
        sheets.row(sheet, [t("Without a talk this quarter"), t(", ").join(table.missing)])
        sheet.column_dimensions["E"].width = 60
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
