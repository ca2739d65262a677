"""Fuzzing (hypothesis) of the pure parsers every piece of user input goes through:
callback data, long-message splitting, roster and question-bank files, periods and
quarters, calendar times, money, points, dates. Each parser either returns a value
or refuses with its documented error (ValueError / DomainError / RosterError /
BankError) — never anything else."""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from domain import calendar as cal
from domain.codes import normalise_code
from domain.errors import DomainError
from domain.fee_rules import Month, parse_money
from domain.fees import parse_months_arg
from domain.periods import Quarter
from domain.points import parse_points
from domain.quiz import parse_int, parse_window
from domain.quiz_bank import BankError, parse_bank
from domain.reports import chunk_text, parse_period
from domain.roster import RosterError, parse_roster
from emulator import HTMLParseError, parse_html, utf16_len
from handlers.callbacks import MAX_CALLBACK_BYTES, Callback, parse
from handlers.common import TEXT_LIMIT, esc, split_text
from handlers.points import _parse_date

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

NASTY = [
    "<b>",
    "</i>",
    "&",
    "&amp;",
    "'; DROP TABLE persons; --",
    '" OR 1=1 --',
    "\x00",
    "\u202e",
    "\ufeff",
    "²",
    "١٢",
    "𝟗",
    "9" * 30,
    "-1",
    "\n",
    "\r\n",
    "🇨🇳",
    "\ud7ff",
]
#: Text with a good share of characters that break naive parsers.
nasty_text = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.one_of(st.sampled_from(NASTY), st.text(alphabet=string.printable, max_size=8)),
        max_size=8,
    ).map("".join),
    st.from_regex(r"[0-9Qq:\-/.年月日 HhDd+@,]{0,20}", fullmatch=True),
)


# -- callback data -----------------------------------------------------------------------
callbacks = st.builds(
    Callback,
    prefix=st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    id=st.integers(min_value=0, max_value=2**63 - 1),
    action=st.from_regex(r"[a-z_]{1,16}", fullmatch=True),
    arg=st.none() | st.from_regex(r"[A-Za-z0-9_.-]{1,24}", fullmatch=True),
)


@FUZZ
@given(callbacks)
def test_callback_round_trip(cb: Callback) -> None:
    try:
        data = cb.pack()
    except ValueError:
        # Only refused when it really does not fit Telegram's 64 bytes.
        raw = f"{cb.prefix}:{cb.id}:{cb.action}" + (f":{cb.arg}" if cb.arg else "")
        assert len(raw.encode()) > MAX_CALLBACK_BYTES
        return
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    assert parse(data) == cb


@FUZZ
@given(st.one_of(nasty_text, st.text(max_size=200), st.binary(max_size=80).map(repr)))
@example("pt:1:ap\n")
@example("pt:١٢:ap")
@example("pt:99999999999999999999:ap")
@example("pt:9223372036854775808:ap")
@example("jr:1:ok:member\n")
@example("\ud800")
def test_callback_parse_never_raises(data: str) -> None:
    cb = parse(data)
    if cb is None:
        return
    # Whatever is accepted is canonical ASCII and an id the database can store.
    assert cb.pack() == data
    assert data.isascii()
    assert 0 <= cb.id < 2**63


def test_callback_parse_rejects_what_the_database_cannot_hold() -> None:
    assert parse("pt:9223372036854775807:ap") == Callback("pt", 2**63 - 1, "ap")
    assert parse("pt:9223372036854775808:ap") is None
    assert parse("pt:١٢:ap") is None  # Arabic-Indic digits
    assert parse("pt:1:ap\n") is None
    assert parse(None) is None
    assert parse("") is None


# -- HTML-safe splitting -------------------------------------------------------------------
fragment = st.one_of(
    st.text(max_size=40).map(esc),
    st.sampled_from(["\n", "\n\n", " ", "&amp;", "&lt;", "&gt;", "&quot;", "😀", "中文"]),
    st.builds(
        lambda tag, inner: f"<{tag}>{esc(inner)}</{tag}>",
        st.sampled_from(["b", "i", "u", "s", "code", "pre"]),
        st.text(max_size=300),
    ),
    st.builds(
        lambda inner: f'<a href="https://example.org/?a=1&amp;b=2">{esc(inner)}</a>',
        st.text(max_size=60),
    ),
    st.builds(lambda inner: f"<b>x<i>{esc(inner)}</i>y</b>", st.text(max_size=200)),
)


def _visible(html_text: str) -> str:
    plain, _ = parse_html(html_text, strict_entities=True)
    return plain


@settings(max_examples=120, deadline=None)
@given(st.lists(fragment, max_size=80), st.integers(min_value=20, max_value=TEXT_LIMIT))
@example(["<b>" + "x" * 5000 + "</b>"], TEXT_LIMIT)
@example(["&amp;" * 2000], TEXT_LIMIT)
@example(["a" * 4095, "&amp;"], TEXT_LIMIT)
@example(["<i>" + "y" * 50 + "</i>"], 20)
def test_split_text_keeps_valid_html(fragments: list[str], limit: int) -> None:
    text = "".join(fragments)
    assume(text.strip())
    parts = split_text(text, limit)
    visible = []
    for part in parts:
        try:
            plain = _visible(part)
        except HTMLParseError as exc:  # pragma: no cover - the failure we guard against
            raise AssertionError(f"part is not valid HTML: {exc}: {part[:200]!r}") from exc
        assert utf16_len(plain) <= limit
        visible.append(plain)
    # Nothing visible is lost or duplicated.
    assert "".join(visible).replace("\n", "") == _visible(text).replace("\n", "")


def test_split_text_reopens_tags_across_parts() -> None:
    text = "<b>" + "粗" * 5000 + "</b>"
    parts = split_text(text)
    assert len(parts) == 2
    assert all(p.startswith("<b>") and p.endswith("</b>") for p in parts)
    assert sum(len(_visible(p)) for p in parts) == 5000


def test_split_text_does_not_cut_an_entity() -> None:
    text = "a" * 4094 + "&amp;&lt;b&gt;"
    parts = split_text(text)
    assert [_visible(p) for p in parts] == ["a" * 4094 + "&<", "b>"]


def test_split_text_short_text_unchanged() -> None:
    assert split_text("<b>hi</b> &amp; bye") == ["<b>hi</b> &amp; bye"]


def test_split_text_prefers_line_breaks() -> None:
    lines = [f"<b>{i}</b> " + "x" * 90 for i in range(100)]
    parts = split_text("\n".join(lines))
    assert len(parts) == 3
    for part in parts:
        assert not part.startswith("\n") and "<b>" in part[:4]


# -- periods, months, quarters ---------------------------------------------------------------
@FUZZ
@given(nasty_text)
@example("99999Q1")
@example("0Q1")
@example("²Q1")
@example("2026Q²")
@example("9999Q4")
def test_quarter_parse(text: str) -> None:
    try:
        quarter = Quarter.parse(text)
    except ValueError:
        return
    # A quarter we accept can be used: its days and neighbours exist.
    assert quarter.start <= quarter.end
    assert quarter.next().start > quarter.prev().end


@FUZZ
@given(nasty_text)
@example("0000-01")
@example("9999-12")
def test_month_parse(text: str) -> None:
    try:
        month = Month.parse(text)
    except ValueError:
        return
    assert date(month.year, month.month, 1)
    assert month.next() > month.prev()


@FUZZ
@given(nasty_text)
@example("0000-01.0000-03")
def test_months_arg(text: str) -> None:
    months = parse_months_arg(text)
    if months is not None:
        assert 1 <= len(months) <= 121


@FUZZ
@given(nasty_text)
def test_parse_period(text: str) -> None:
    try:
        period = parse_period(text)
    except ValueError:
        return
    assert period.start <= period.end


# -- numbers -------------------------------------------------------------------------------
@FUZZ
@given(nasty_text)
@example("sNaN")
@example("-sNaN")
@example("1e999999999")
@example("Infinity")
@example("1" * 4096)
def test_parse_points(text: str) -> None:
    try:
        value = parse_points(text)
    except DomainError:
        return
    assert value.is_finite()


@FUZZ
@given(nasty_text)
@example("¥" + "9" * 4000)
def test_parse_money(text: str) -> None:
    value = parse_money(text)
    if value is not None:
        assert value >= 0 and value.is_finite()


@FUZZ
@given(nasty_text)
@example("²")
@example("𝟗")
@example("9" * 5000)
def test_parse_int(text: str) -> None:
    try:
        value = parse_int(text, 1, 100, "Send a number from {low} to {high}.")
    except DomainError:
        return
    assert 1 <= value <= 100


# -- dates and times -----------------------------------------------------------------------
TODAY = date(2026, 6, 15)


@FUZZ
@given(nasty_text)
@example("0000-01-01")
@example("2026-02-30")
@example("2月30日")
def test_claim_date(text: str) -> None:
    day = _parse_date(text, TODAY)
    assert day is None or isinstance(day, date)


@FUZZ
@given(nasty_text)
@example("2026-12-01 2026-12-07")
@example("0000-01-01 2026-12-07")
@example("2026-13-01 至 2026-12-07")
def test_exam_window(text: str) -> None:
    try:
        start, end = parse_window(text, TODAY)
    except DomainError:
        return
    assert start <= end


@FUZZ
@given(nasty_text)
@example("24:00")
@example("4 5 14:30")
@example("0000-01-01")
@example("D0")
@example("+99")
def test_parse_when(text: str) -> None:
    try:
        cal.parse_when(text)
    except ValueError:
        return


@FUZZ
@given(nasty_text)
@example("1 18:00, 0 09:00")
@example("99 18:00")
def test_parse_reminder_times(text: str) -> None:
    try:
        pairs = cal.parse_reminder_times(text)
    except ValueError:
        return
    assert 1 <= len(pairs) <= 5


@FUZZ
@given(nasty_text)
def test_parse_hhmm(text: str) -> None:
    try:
        cal.parse_hhmm(text)
    except ValueError:
        return


@FUZZ
@given(nasty_text)
def test_normalise_code(text: str) -> None:
    code = normalise_code(text)
    assert code is None or (code.isascii() and 4 <= len(code) <= 64)


# -- files -----------------------------------------------------------------------------------
csv_cells = st.lists(st.lists(nasty_text, min_size=1, max_size=6), max_size=6)


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@FUZZ
@given(
    st.lists(
        st.sampled_from(["name", "status", "telegram_id", "group", "joined_on", "姓名", "x"]),
        min_size=1,
        max_size=6,
    ),
    csv_cells,
)
def test_roster_csv(header: list[str], rows: list[list[str]]) -> None:
    try:
        parse_roster(_csv(header, rows), "roster.csv")
    except RosterError:
        return


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["r.csv", "r.xlsx", "r.txt", "r.pdf", "r"]))
def test_roster_bytes(data: bytes, filename: str) -> None:
    try:
        parse_roster(data, filename)
    except RosterError:
        return


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            ["kind", "text", "option_a", "option_b", "option_c", "answer", "explanation", "x"]
        ),
        min_size=1,
        max_size=8,
    ),
    csv_cells,
)
def test_bank_csv(header: list[str], rows: list[list[str]]) -> None:
    try:
        parse_bank(_csv(header, rows), "bank.csv")
    except BankError:
        return


@FUZZ
@given(
    st.one_of(st.binary(max_size=300), nasty_text.map(str.encode)),
    st.sampled_from(["q.yaml", "q.csv", "q.xlsx", "q.doc"]),
)
@example(b"- kind: single\n  text: [1, 2]\n  options: {a: 1}\n  answer: 7\n", "q.yaml")
@example(b"!!python/object:os.system {}", "q.yaml")
@example(b"a: &a [*a]", "q.yaml")
def test_bank_bytes(data: bytes, filename: str) -> None:
    try:
        parse_bank(data, filename)
    except BankError:
        return


# -- report chunks -----------------------------------------------------------------------------
@FUZZ
@given(st.text(max_size=3000), st.integers(min_value=1, max_value=500))
def test_chunk_text(text: str, size: int) -> None:
    chunks = chunk_text(text, size)
    assert "".join(chunks) == text
    assert all(len(c) <= size for c in chunks)


@pytest.mark.parametrize("text", NASTY)
def test_esc_makes_any_text_safe_html(text: str) -> None:
    plain, _entities = parse_html(f"<b>{esc(text)}</b>", strict_entities=True)
    assert plain == text


def test_roster_telegram_id_in_superscript_digits_is_a_row_error() -> None:
    # "²".isdigit() is true but int("²") raises: found by test_roster_csv.
    with pytest.raises(RosterError) as refused:
        parse_roster("name,status,telegram_id\n张三,member,²\n".encode(), "roster.csv")
    assert [e.line for e in refused.value.errors] == [2]
