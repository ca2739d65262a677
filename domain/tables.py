"""Reading the rows of an imported spreadsheet (XLSX) or CSV file (UTF-8 or GB18030,
as Excel in China saves it), for the roster and the question bank."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from domain.errors import FileRejected, RowError
from locales.i18n import N_

XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})


def cell_text(value: Any) -> str:
    """A spreadsheet cell as text: dates as ISO dates, 3.0 as "3"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(
    data: bytes, suffix: str, rejected: type[FileRejected]
) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every row, header first: XLSX for ``.xlsx``/``.xlsm``,
    CSV otherwise. An unreadable file raises ``rejected`` with a line-numbered error."""
    if suffix in XLSX_SUFFIXES:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a bad file
            raise rejected([RowError(0, N_("This is not a readable XLSX file."))]) from exc
        sheet = workbook.worksheets[0]
        rows = [
            (index, [cell_text(v) for v in row])
            for index, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
        workbook.close()
        return rows
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly any byte string
        raise rejected([RowError(0, N_("The file is not UTF-8 or GB18030 text."))])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return [(reader.line_num, [c.strip() for c in row]) for row in reader]
    except csv.Error as exc:  # e.g. a stray carriage return or quote
        raise rejected(
            [RowError(reader.line_num, N_("Line {line}: the CSV cannot be read."))]
        ) from exc
