"""Reading a branch roster (党员花名册) from CSV or XLSX, validated row by row.

Columns: ``name,status[,telegram_id][,group][,joined_on]`` (Chinese headers accepted).
Feature modules may register further optional columns (``register_column``); their
parsed values arrive in :attr:`RosterRow.extra`. Errors carry the file's line number and
a gettext msgid, so nothing is imported from a file that has any bad row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from domain.errors import FileRejected, RowError
from domain.roles import PersonStatus, parse_status
from domain.tables import XLSX_SUFFIXES, read_rows
from locales.i18n import N_

MAX_NAME = 64
MAX_GROUP = 64
MAX_ROWS = 20_000


class RosterError(FileRejected):
    """The roster cannot be imported; ``errors`` lists every bad row."""

    what = "roster"


@dataclass(frozen=True)
class RosterRow:
    line: int
    name: str
    status: PersonStatus
    telegram_id: int | None = None
    group: str | None = None
    joined_on: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


#: A column parser returns the parsed value or raises ValueError(msgid).
ColumnParser = Callable[[str], Any]


@dataclass(frozen=True)
class ExtraColumn:
    key: str
    aliases: tuple[str, ...]
    parse: ColumnParser


_EXTRA_COLUMNS: dict[str, ExtraColumn] = {}

_HEADER_ALIASES: dict[str, str] = {
    "name": "name",
    "full_name": "name",
    "姓名": "name",
    "status": "status",
    "状态": "status",
    "身份": "status",
    "类别": "status",
    "人员类别": "status",
    "政治面貌": "status",
    "telegram_id": "telegram_id",
    "telegram": "telegram_id",
    "telegramid": "telegram_id",
    "电报id": "telegram_id",
    "group": "group",
    "party_group": "group",
    "党小组": "group",
    "小组": "group",
    "joined_on": "joined_on",
    "admitted_on": "joined_on",
    "入党时间": "joined_on",
    "入党日期": "joined_on",
}


def register_column(key: str, aliases: Iterable[str], parse: ColumnParser) -> None:
    """Let a feature accept an optional roster column (e.g. fees: ``fee_basis``)."""
    column = ExtraColumn(key=key, aliases=tuple(aliases), parse=parse)
    _EXTRA_COLUMNS[key] = column
    _HEADER_ALIASES[key] = key
    for alias in column.aliases:
        _HEADER_ALIASES[_norm_header(alias)] = key


def _norm_header(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
)


def parse_date(text: str) -> date:
    text = text.strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return date(year, month, day)
    raise ValueError(text)


def read_table(data: bytes, filename: str) -> list[tuple[int, list[str]]]:
    """Rows of a CSV or XLSX file as (line number, cells), header first."""
    suffix = Path(filename).suffix.lower()
    if suffix in XLSX_SUFFIXES or suffix in {".csv", ".txt"}:
        return read_rows(data, suffix, RosterError)
    raise RosterError([RowError(0, N_("Only CSV and XLSX roster files are accepted."))])


def parse_roster(data: bytes, filename: str) -> list[RosterRow]:
    """Parse and validate a whole roster file; raise RosterError listing every bad row."""
    table = read_table(data, filename)
    table = [(line, cells) for line, cells in table if any(cells)]
    if not table:
        raise RosterError([RowError(0, N_("The roster file is empty."))])
    header_line, header_cells = table[0]
    columns: list[str | None] = []
    for cell in header_cells:
        key = _HEADER_ALIASES.get(_norm_header(cell)) if cell else None
        columns.append(key)
    missing = [c for c in ("name", "status") if c not in columns]
    if missing:
        raise RosterError(
            [
                RowError(
                    header_line,
                    N_("The header row must have the columns {columns}; missing: {missing}."),
                    {"columns": "name,status", "missing": ",".join(missing)},
                )
            ]
        )
    if len(table) - 1 > MAX_ROWS:
        raise RosterError(
            [
                RowError(
                    0,
                    N_(
                        "Too many rows (at most {max}).",
                    ),
                    {"max": MAX_ROWS},
                )
            ]
        )

    errors: list[RowError] = []
    rows: list[RosterRow] = []
    seen_ids: dict[int, int] = {}
    seen_names: dict[str, int] = {}
    for line, cells in table[1:]:
        values: dict[str, str] = {}
        for key, cell in zip(columns, cells, strict=False):
            if key is not None:
                values[key] = cell
        row_errors: list[RowError] = []
        name = values.get("name", "").strip()
        if not name:
            row_errors.append(RowError(line, N_("Line {line}: the name is empty.")))
        elif len(name) > MAX_NAME:
            row_errors.append(
                RowError(
                    line,
                    N_("Line {line}: the name is longer than {max} characters."),
                    {"max": MAX_NAME},
                )
            )
        status_text = values.get("status", "")
        status = parse_status(status_text)
        if status is None:
            row_errors.append(
                RowError(
                    line,
                    N_(
                        "Line {line}: unknown status “{value}” (use member, probationary, "
                        "activist or target)."
                    ),
                    {"value": status_text},
                )
            )
        telegram_id: int | None = None
        tid_text = values.get("telegram_id", "").strip()
        if tid_text:
            if tid_text.isascii() and tid_text.isdigit() and 0 < int(tid_text) < 2**53:
                telegram_id = int(tid_text)
            else:
                row_errors.append(
                    RowError(
                        line,
                        N_("Line {line}: telegram_id “{value}” is not a number."),
                        {"value": tid_text},
                    )
                )
        group = values.get("group", "").strip() or None
        if group is not None and len(group) > MAX_GROUP:
            row_errors.append(
                RowError(
                    line,
                    N_("Line {line}: the group is longer than {max} characters."),
                    {"max": MAX_GROUP},
                )
            )
        joined_on: date | None = None
        joined_text = values.get("joined_on", "").strip()
        if joined_text:
            try:
                joined_on = parse_date(joined_text)
            except ValueError:
                row_errors.append(
                    RowError(
                        line,
                        N_("Line {line}: the date “{value}” is not like 2020-07-01."),
                        {"value": joined_text},
                    )
                )
        extra: dict[str, Any] = {}
        for key, column in _EXTRA_COLUMNS.items():
            raw = values.get(key, "").strip()
            if not raw:
                continue
            try:
                extra[key] = column.parse(raw)
            except ValueError as exc:
                msgid = str(exc.args[0]) if exc.args else N_("Line {line}: bad value “{value}”.")
                row_errors.append(RowError(line, msgid, {"value": raw, "column": key}))
        if telegram_id is not None:
            if telegram_id in seen_ids:
                row_errors.append(
                    RowError(
                        line,
                        N_("Line {line}: telegram_id {value} repeats line {other}."),
                        {"value": telegram_id, "other": seen_ids[telegram_id]},
                    )
                )
            seen_ids.setdefault(telegram_id, line)
        elif name:
            if name in seen_names:
                row_errors.append(
                    RowError(
                        line,
                        N_(
                            "Line {line}: the name {value} repeats line {other}; give each "
                            "a telegram_id to tell them apart."
                        ),
                        {"value": name, "other": seen_names[name]},
                    )
                )
            seen_names.setdefault(name, line)
        if row_errors:
            errors.extend(row_errors)
            continue
        assert status is not None
        rows.append(
            RosterRow(
                line=line,
                name=name,
                status=status,
                telegram_id=telegram_id,
                group=group,
                joined_on=joined_on,
                extra=extra,
            )
        )
    if errors:
        raise RosterError(errors)
    return rows
