"""Hostile and careless input, below the chat (issue #17): the one sanitising path for
spreadsheets and ZIP names, the one UTF-16 measuring path for Bot API texts, charts
without mathtext, the flood throttle's bucket."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from bot.flood import FloodThrottle
from domain import sheets
from domain.points_chart import ranking_chart
from domain.reports import ReportView
from domain.reports_export import build_zip
from domain.texts import (
    CAPTION_LIMIT,
    chunk_plain,
    split_text,
    truncate_html,
    units,
    visible_units,
)

HOSTILE = [
    "张\x07三",
    "nul\x00name",
    '=HYPERLINK("http://evil.example","点我")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\ud800lone",
    "$x^$",
]


def _saved(wb: Workbook) -> Workbook:
    out = io.BytesIO()
    wb.save(out)
    return load_workbook(io.BytesIO(out.getvalue()))


def test_hostile_text_is_written_as_plain_text_cells() -> None:
    wb = Workbook()
    ws = wb.active
    for text in HOSTILE:
        sheets.row(ws, [text, 1, None])
        sheets.put(ws, ws.max_row, 4, text)
    loaded = _saved(wb).active
    for line, text in zip(loaded.iter_rows(), HOSTILE, strict=True):
        first, number, _empty, put = line
        for c in (first, put):
            assert c.data_type == "s", (text, c.data_type)
            assert not str(c.value).startswith(sheets.FORMULA_STARTS)
            assert "\x07" not in str(c.value) and "\x00" not in str(c.value)
        assert number.value == 1
    assert loaded["A1"].value == "张三"
    assert loaded["A3"].value == "'" + HOSTILE[2]


@given(st.text())
def test_any_text_can_be_written(text: str) -> None:
    wb = Workbook()
    sheets.row(wb.active, [text])
    value = _saved(wb).active["A1"].value
    assert value is None or not str(value).startswith(("=", "+", "-", "@"))


def test_zip_names_and_extensions() -> None:
    assert sheets.zip_name("../../etc/passwd\x00") == "etc_passwd"
    assert sheets.zip_name("\x00\x07") == "file"
    assert sheets.zip_name("张三 思想汇报") == "张三 思想汇报"
    assert sheets.zip_extension("汇报.PD\x00F") == ".pdf"
    assert sheets.zip_extension("noext") == ".bin"
    assert sheets.zip_extension("a.\x07") == ".bin"


def _report(rid: int, name: str, file_name: str | None, text: str | None) -> ReportView:
    from domain.roles import PersonStatus

    when = datetime(2026, 8, 15, 2, tzinfo=UTC)
    return ReportView(  # type: ignore[call-arg]
        **{
            **{f: None for f in ReportView.__dataclass_fields__},
            "id": rid,
            "branch_id": 1,
            "person_id": rid,
            "person_name": name,
            "status": PersonStatus.PROBATIONARY,
            "period_key": "2026Q3",
            "required": True,
            "kind": "document" if file_name else "text",
            "text": text,
            "file_name": file_name,
            "submitted_at": when,
            "submitted_on": date(2026, 8, 15),
            "comments": (),
        }
    )


def test_reports_zip_with_hostile_names_streams_to_a_file(tmp_path: object) -> None:
    from domain.periods import Quarter

    reports = [
        _report(1, "张\x07三", "汇报\x00.pdf", "=1+1"),
        _report(2, "=cmd|' /C calc'!A0", None, "思想汇报\ud800正文"),
    ]
    out = io.BytesIO()
    build_zip(reports, Quarter(2026, 3), lambda r: b"%PDF-1.4", lambda s: s, "Asia/Shanghai", out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
        names = zf.namelist()
        assert all("\x00" not in n and "\x07" not in n for n in names)
        index = load_workbook(io.BytesIO(zf.read("index.xlsx"))).active
    cells = [c for row in index.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    assert "张三" in [c.value for c in cells]
    assert "'=cmd|' /C calc'!A0" in [c.value for c in cells]


def test_chart_draws_mathtext_and_control_characters_literally() -> None:
    png = ranking_chart("$公示$", [("$x^$", Decimal(90)), ("a\x07b", Decimal(60))])
    assert png.startswith(b"\x89PNG")


# -- texts -------------------------------------------------------------------------------
def test_units_count_utf16() -> None:
    assert units("党") == 1 and units("🚩") == 2 and units("👨‍👩‍👧") == 8
    assert visible_units("<b>&amp;🚩</b>") == 3


@given(st.lists(st.sampled_from(["🚩", "党", "&amp;", "&lt;", "<b>", "</b>", " ", "\n", "x"])))
def test_truncated_html_fits_and_stays_valid(pieces: list[str]) -> None:
    text = "".join(pieces)
    cut = truncate_html(text, 50)
    assert visible_units(cut) <= 50
    # Never cut inside an escape: every & starts a whole entity.
    for index, ch in enumerate(cut):
        if ch == "&":
            assert cut[index:].startswith(("&amp;", "&lt;")), cut
    if visible_units(text) <= 50:
        assert cut == text


def test_emoji_caption_is_cut_below_the_limit_without_splitting_an_escape() -> None:
    caption = "<b>申报</b>\n" + "&amp;🚩" * 600
    cut = truncate_html(caption, CAPTION_LIMIT)
    assert visible_units(cut) <= CAPTION_LIMIT and cut.endswith("…")
    assert cut.count("<b>") == cut.count("</b>")
    assert not cut.rstrip("…").endswith("&am")


def test_chunks_fit_a_message_in_utf16_and_join_back() -> None:
    text = ("🌟" * 1500 + "\n") * 4
    chunks = chunk_plain(text, 3500)
    assert "".join(chunks) == text
    assert all(units(c) <= 3500 for c in chunks)
    assert all(visible_units(p) <= 4096 for p in split_text(text))


# -- the flood throttle ------------------------------------------------------------------
async def test_throttle_admits_a_burst_then_drops_and_warns_once() -> None:
    throttle = FloodThrottle(burst=5, period=60)
    admitted = [await throttle.admit(1) for _ in range(20)]
    assert admitted == [True] * 5 + [False] * 15
    assert [throttle.should_warn(1) for _ in range(3)] == [True, False, False]
    assert await throttle.admit(2)  # another user is not affected
    assert throttle.dropped == 15


async def test_throttle_forgets_the_least_recent_users() -> None:
    throttle = FloodThrottle(burst=1, period=60, max_users=3)
    for uid in range(10):
        assert await throttle.admit(uid)
    assert len(throttle._users) == 3


@pytest.mark.parametrize("text", HOSTILE)
def test_sheet_title_is_always_accepted(text: str) -> None:
    wb = Workbook()
    wb.active.title = sheets.sheet_title(text)
    _saved(wb)
