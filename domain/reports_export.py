# i18n-domain: reports
"""The per-period export of thought reports: a ZIP with every file, each text report as
a .txt file and an XLSX index (``index.xlsx``).

The ZIP is written to a file the caller gives (a temporary file), one report file at a
time, read from the local copy on disk: a period's export is never held in memory.
Entry names and index cells go through :mod:`domain.sheets`."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from domain import sheets
from domain.reports import Period, ReportView, key_label, period_label
from locales.i18n import N_

Gettext = Callable[[str], str]
#: (report) -> the file on disk (or its bytes), or None when no copy could be had.
FileReader = Callable[[ReportView], Path | bytes | None]

INDEX_NAME = "index.xlsx"

_KIND_LABELS = {
    "text": N_("text"),
    "document": N_("document"),
    "photo": N_("photo"),
}
_HEADERS = (
    N_("No."),
    N_("Name"),
    N_("Status"),
    N_("Counts for"),
    N_("Handed in"),
    N_("Form"),
    N_("Original file name"),
    N_("File in this ZIP"),
    N_("Characters"),
    N_("Acknowledged by"),
    N_("Acknowledged at"),
    N_("Comments"),
)


def _local(when: datetime | None, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M") if when else ""


def build_zip(
    reports: list[ReportView],
    period: Period,
    read_file: FileReader,
    gettext: Gettext,
    timezone: str,
    out: IO[bytes],
) -> None:
    """Write the ZIP to ``out`` (a binary file open for writing)."""
    t = gettext
    zone = ZoneInfo(timezone)
    # openpyxl (and numpy, which it imports) only when a workbook is made: not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = period.key
    sheets.row(ws, [t("Thought reports — {period}").format(period=period_label(period, t))])
    ws["A1"].font = Font(bold=True)
    sheets.row(ws, [t(h) for h in _HEADERS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for report in reports:
            base = sheets.zip_name(
                f"{report.id:06d}_{sheets.zip_name(report.person_name, 30)}_{report.period_key}",
                80,
            )
            member = ""
            if report.kind == "text":
                member = f"text/{base}.txt"
                zf.writestr(member, (report.text or "").encode("utf-8", "replace") + b"\n")
            else:
                data = read_file(report)
                ext = sheets.zip_extension(report.file_name)
                if isinstance(data, Path):
                    member = f"files/{base}{ext}"
                    zf.write(data, member)
                elif data is not None:
                    member = f"files/{base}{ext}"
                    zf.writestr(member, data)
                else:
                    member = t("(file missing)")
            comments = "\n".join(
                f"{c.author} ({_local(c.created_at, zone)}): {c.text}" for c in report.comments
            )
            sheets.row(
                ws,
                [
                    report.id,
                    report.person_name,
                    t(report.status.label),
                    key_label(report.period_key, t)
                    if report.required
                    else t("{period} (voluntary)").format(period=key_label(report.period_key, t)),
                    _local(report.submitted_at, zone),
                    t(_KIND_LABELS.get(report.kind, report.kind)),
                    report.file_name or "",
                    member,
                    len(report.text or "") if report.kind == "text" else None,
                    report.acknowledged_by or "",
                    _local(report.acknowledged_at, zone),
                    comments,
                ],
            )
        for column, width in zip(
            "ABCDEFGHIJKL", (8, 14, 12, 18, 18, 8, 28, 40, 8, 14, 18, 50), strict=True
        ):
            ws.column_dimensions[column].width = width
        sheet = io.BytesIO()
        wb.save(sheet)
        zf.writestr(INDEX_NAME, sheet.getvalue())
