"""Each party group's quarterly talk record table (谈话记录表) as XLSX: one sheet per
group (date, the two people, the summary) with the group's members who had no talk
listed below, and a coverage sheet. Headers in the reader's language."""

# i18n-domain: meetings

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from domain.talks import GroupTable


def talks_workbook(quarter: str, tables: Sequence[GroupTable], t: Callable[[str], str]) -> bytes:
    wb = Workbook()
    bold = Font(bold=True)
    summary = wb.active
    assert summary is not None
    summary.title = t("Overview")
    summary.append([t("Party group"), t("Members"), t("Talks"), t("Without a talk")])
    for cell in summary[1]:
        cell.font = bold
    used: set[str] = set()
    for table in tables:
        name = table.group or t("No party group")
        summary.append([name, len(table.members), len(table.talks), t(", ").join(table.missing)])
        title = name[:31]
        while title in used:
            title = title[:28] + f"~{len(used)}"
        used.add(title)
        sheet = wb.create_sheet(title)
        sheet.append([t("No."), t("Date"), t("Person"), t("Person"), t("Summary")])
        for cell in sheet[1]:
            cell.font = bold
        for number, talk in enumerate(table.talks, start=1):
            sheet.append([number, talk.talk_on, talk.a_name, talk.b_name, talk.summary or ""])
            sheet.cell(sheet.max_row, 5).alignment = Alignment(wrap_text=True, vertical="top")
        sheet.append([])
        sheet.append([t("Without a talk this quarter"), t(", ").join(table.missing)])
        sheet.column_dimensions["E"].width = 60
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
