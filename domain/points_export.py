# i18n-domain: points
"""The points workbook (XLSX, openpyxl): the quarter's ledger, scores per member and
points per indicator. Column headers are in the reader's language (passed in).

Written in openpyxl's write-only mode from the streamed ledger (``quarter_ledger``):
rows go to a temporary file as they come, so a quarter of 100,000 entries is never held
as cells in memory."""

from __future__ import annotations

import io
from collections.abc import AsyncIterable, Callable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font

from domain import sheets
from domain.points import EntryInfo, MemberScore
from domain.points_catalogue import indicator_keys, indicator_name


def _header(ws: Any, titles: Sequence[str]) -> None:
    """The bold first row, frozen (a write-only sheet takes its views and styled cells
    before its rows, never later edits)."""
    ws.freeze_panes = "A2"
    cells = []
    for title in titles:
        c = Cell(ws, row=1, column=1, value=sheets.text_value(title))
        c.data_type = "s"
        c.font = Font(bold=True)
        cells.append(c)
    ws.append(cells)


async def points_workbook(
    quarter: str,
    ledger: AsyncIterable[EntryInfo],
    scores: Sequence[MemberScore],
    t: Callable[[str], str],
    locale: str,
) -> bytes:
    wb = Workbook(write_only=True)

    sheet = wb.create_sheet(sheets.sheet_title(t("Ledger")))
    _header(
        sheet,
        [
            t("No."),
            t("Member"),
            t("Date"),
            t("Indicator"),
            t("Block"),
            t("Item"),
            t("Points"),
            t("Requested"),
            t("Kind"),
            t("Reverses"),
            t("Note"),
        ],
    )
    async for e in ledger:
        sheets.row(
            sheet,
            [
                e.id,
                e.person_name,
                e.occurred_on,
                indicator_name(e.indicator, locale),
                e.block.value,
                e.item_name or "",
                e.points,
                e.requested,
                e.kind.value,
                e.reverses_id,
                e.note or "",
            ],
        )

    scores_sheet = wb.create_sheet(sheets.sheet_title(t("Scores")))
    _header(
        scores_sheet,
        [
            t("Rank"),
            t("Member"),
            t("Base"),
            t("Deductions"),
            t("Special"),
            t("Extra"),
            t("Total score"),
        ],
    )
    for s in scores:
        f = s.figures
        sheets.row(
            scores_sheet, [s.rank, s.name, f.base, f.deductions, f.special, f.extra, f.total]
        )

    keys = indicator_keys()
    per = wb.create_sheet(sheets.sheet_title(t("Indicators")))
    _header(per, [t("Member"), *(indicator_name(k, locale) for k in keys)])
    for s in scores:
        sheets.row(per, [s.name, *(s.by_indicator.get(k, 0) for k in keys)])

    wb.properties.title = sheets.clean_text(quarter)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
