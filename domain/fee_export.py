"""The yearly fee workbook, laid out like the paper forms: the payment register
(党费缴纳登记表: one row per member, one column per month, totals) and the amount table
(月交纳党费数额核定表). Money cells are numbers written from Decimal with a 0.00 format."""

# i18n-domain: fees

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal

from domain import sheets
from domain.fee_rules import FeeBasis, FeeSchedule, Month, bracket_for
from domain.fees import YearRegister

MONEY_FORMAT = "0.00"
ZERO = Decimal("0.00")


def _money(cell: object, value: Decimal | None) -> None:
    if value is None:
        return
    cell.value = value  # type: ignore[attr-defined]
    cell.number_format = MONEY_FORMAT  # type: ignore[attr-defined]


def fee_workbook(register: YearRegister, schedule: FeeSchedule, t: Callable[[str], str]) -> bytes:
    # openpyxl (and numpy, which it imports) only when a workbook is made: not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wb = Workbook()
    ws = wb.active
    ws.title = sheets.sheet_title(t("Fee register"))
    months = [Month(register.year, m) for m in range(1, 13)]
    headers = [
        t("No."),
        t("Name"),
        t("Category"),
        t("Monthly amount (yuan)"),
        *[t("Month {month}").format(month=m.month) for m in months],
        t("Total"),
    ]
    last_col = len(headers)
    sheets.put(
        ws,
        1,
        1,
        t("{branch} Party fee payment register {year}").format(
            branch=register.branch_name, year=register.year
        ),
    )
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_col)
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    ws.cell(row=1, column=1).alignment = center
    for col, text in enumerate(headers, start=1):
        cell = sheets.put(ws, 2, col, text)
        cell.font = Font(bold=True)
        cell.alignment = center
        cell.border = border
    month_totals = {m: ZERO for m in months}
    grand = ZERO
    row = 3
    for index, member in enumerate(register.members, start=1):
        paid = register.paid.get(member.person_id, {})
        sheets.put(ws, row, 1, index)
        sheets.put(ws, row, 2, member.name)
        sheets.put(ws, row, 3, t(member.status.label))
        _money(ws.cell(row=row, column=4), member.amount)
        total = ZERO
        for offset, month in enumerate(months):
            value = paid.get(month)
            if value is not None and value != 0:
                _money(ws.cell(row=row, column=5 + offset), value)
                total += value
                month_totals[month] += value
        _money(ws.cell(row=row, column=last_col), total)
        grand += total
        for col in range(1, last_col + 1):
            ws.cell(row=row, column=col).border = border
        row += 1
    sheets.put(ws, row, 1, t("Total"))
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=4)
    ws.cell(row=row, column=1).font = Font(bold=True)
    ws.cell(row=row, column=1).alignment = center
    for offset, month in enumerate(months):
        _money(ws.cell(row=row, column=5 + offset), month_totals[month])
    _money(ws.cell(row=row, column=last_col), grand)
    for col in range(1, last_col + 1):
        ws.cell(row=row, column=col).border = border
    ws.column_dimensions["B"].width = 12
    ws.column_dimensions["C"].width = 12
    ws.column_dimensions["D"].width = 14
    for col in range(5, last_col + 1):
        ws.column_dimensions[get_column_letter(col)].width = 9
    ws.freeze_panes = "C3"

    table = wb.create_sheet(sheets.sheet_title(t("Amount table")))
    headers2 = [
        t("No."),
        t("Name"),
        t("Category"),
        t("Fee basis"),
        t("Monthly income (yuan)"),
        t("Rate"),
        t("Monthly amount (yuan)"),
        t("In effect from"),
    ]
    sheets.put(
        table,
        1,
        1,
        t("{branch} table of monthly Party fee amounts {year}").format(
            branch=register.branch_name, year=register.year
        ),
    )
    table.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers2))
    table.cell(row=1, column=1).font = Font(bold=True, size=14)
    table.cell(row=1, column=1).alignment = center
    for col, text in enumerate(headers2, start=1):
        cell = sheets.put(table, 2, col, text)
        cell.font = Font(bold=True)
        cell.alignment = center
        cell.border = border
    row = 3
    for index, member in enumerate(register.members, start=1):
        sheets.put(table, row, 1, index)
        sheets.put(table, row, 2, member.name)
        sheets.put(table, row, 3, t(member.status.label))
        if member.basis is not None:
            sheets.put(table, row, 4, t(member.basis.label))
            _money(table.cell(row=row, column=5), member.income)
            if member.basis in (FeeBasis.EMPLOYED, FeeBasis.RETIRED) and member.income is not None:
                brackets = (
                    schedule.employed if member.basis is FeeBasis.EMPLOYED else schedule.retired
                )
                rate = table.cell(row=row, column=6)
                rate.value = bracket_for(brackets, member.income).rate
                rate.number_format = "0.0%"
            _money(table.cell(row=row, column=7), member.amount)
            if member.effective_month is not None:
                sheets.put(table, row, 8, member.effective_month.key)
        else:
            sheets.put(table, row, 4, t("not set"))
        for col in range(1, len(headers2) + 1):
            table.cell(row=row, column=col).border = border
        row += 1
    for letter, width in zip("ABCDEFGH", (6, 12, 12, 12, 16, 8, 16, 12), strict=True):
        table.column_dimensions[letter].width = width

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
