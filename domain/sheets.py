"""The one sanitising path for text that reaches a spreadsheet (openpyxl) or a ZIP entry
name. Every export builds its cells with :func:`cell` / :func:`row` / :func:`put`.

- Characters openpyxl refuses (C0 controls but tab, CR, LF; ``IllegalCharacterError``)
  are removed: one bad roster name must not break the branch's export.
- Formula injection (OWASP "CSV injection"): a text starting with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return is prefixed with ``'`` and stored as a string cell,
  so a claim text ``=HYPERLINK(…)`` shows as text, never as a live formula (also after
  the sheet is saved again as CSV).
- ZIP entry names keep Chinese characters but lose controls, path separators and
  characters Windows refuses (:func:`zip_name`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

#: What openpyxl refuses in a cell (``openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE``), plus
#: the Unicode non-characters Excel chokes on.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Lone surrogates cannot be written as UTF-8 XML at all.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Excel's limit for one cell.
CELL_LIMIT = 32767

_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f\\/:*?"<>|]+')


def clean_text(text: str) -> str:
    """``text`` without the characters a spreadsheet or ZIP cannot hold."""
    return _SURROGATE.sub("", _ILLEGAL.sub("", text))


def text_value(text: str) -> str:
    """A text as it may be written in a cell: cleaned, formula starts neutralised,
    within Excel's cell limit."""
    cleaned = clean_text(text)
    if cleaned.startswith(FORMULA_STARTS):
        cleaned = "'" + cleaned
    return cleaned[:CELL_LIMIT]


def value(raw: Any) -> Any:
    """A cell value: text sanitised (:func:`text_value`), anything else unchanged."""
    if isinstance(raw, str):
        return text_value(raw)
    return raw


def cell(ws: Worksheet, raw: Any) -> Any:
    """A value for ``ws.append``: texts become string cells (never a formula)."""
    if not isinstance(raw, str):
        return raw
    # A position of its own (``append`` moves it): a write-only sheet formats the cell
    # (e.g. in an error message) before it places it.
    c = Cell(ws, row=1, column=1, value=None)
    c.value = text_value(raw)
    c.data_type = "s"
    return c


def row(ws: Worksheet, values: Iterable[Any]) -> None:
    """Append one row of sanitised cells."""
    ws.append([cell(ws, v) for v in values])


def put(ws: Worksheet, row_index: int, column: int, raw: Any) -> Cell:
    """Write one sanitised value at (row, column); a text is a string cell."""
    target: Cell = ws.cell(row=row_index, column=column)
    target.value = value(raw)
    if isinstance(raw, str):
        target.data_type = "s"
    return target


def sheet_title(text: str) -> str:
    """A worksheet title Excel accepts (no ``[]:*?/\\``, at most 31 characters)."""
    cleaned = re.sub(r"[\[\]:*?/\\]", "_", clean_text(text)).strip("'") or "Sheet"
    return cleaned[:31]


def zip_name(text: str, limit: int = 60, *, default: str = "file") -> str:
    """A file-name-safe version of ``text`` for a ZIP entry (keeps Chinese characters)."""
    cleaned = _UNSAFE_NAME.sub("_", _SURROGATE.sub("", text)).strip(" ._") or default
    return cleaned[:limit]


def zip_extension(file_name: str | None, *, default: str = ".bin") -> str:
    """The extension of an uploaded file's name, safe for a ZIP entry (``.pdf``)."""
    name = file_name or ""
    dot = name.rfind(".")
    if dot < 0:
        return default
    ext = re.sub(r"[^0-9a-z]", "", name[dot + 1 :].lower())[:10]
    return f".{ext}" if ext else default
