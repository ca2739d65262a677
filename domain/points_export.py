# i18n-domain: points
"""The points workbook (XLSX, openpyxl): the quarter's ledger, scores per member and
points per indicator. Column headers are in the reader's language (passed in)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from domain import sheets
from domain.points import EntryInfo, MemberScore
from domain.points_catalogue import indicator_keys, indicator_name


def points_workbook(
    quarter: str,
    ledger: Sequence[EntryInfo],
    scores: Sequence[MemberScore],
    t: Callable[[str], str],
    locale: str,
) -> bytes:
    # openpyxl (and numpy, which it imports) only when a workbook is made: not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    bold = Font(bold=True)

    sheet = wb.active
    sheet.title = sheets.sheet_title(t("Ledger"))
    sheets.row(
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
    for e in ledger:
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
    sheets.row(
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
    sheets.row(per, [t("Member"), *(indicator_name(k, locale) for k in keys)])
    for s in scores:
        sheets.row(per, [s.name, *(s.by_indicator.get(k, 0) for k in keys)])

    for ws in wb.worksheets:
        for cell in ws[1]:
            cell.font = bold
        ws.freeze_panes = "A2"
    wb.properties.title = sheets.clean_text(quarter)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
