"""Pure rules of thought reports: periods, who owes what, accepted files, text chunks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.periods import HalfYear, Quarter
from domain.reports import (
    MAX_FILE_BYTES,
    IncomingFile,
    Period,
    check_file,
    chunk_text,
    content_matches,
    counts_for,
    obligations,
    parse_period,
    period_label,
)
from domain.roles import PersonStatus

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
periods: st.SearchStrategy[Period] = st.one_of(
    st.builds(Quarter, st.integers(2000, 2099), st.integers(1, 4)),
    st.builds(HalfYear, st.integers(2000, 2099), st.integers(1, 2)),
)


def doc(name: str | None, mime: str | None, size: int = 1000) -> IncomingFile:
    return IncomingFile("document", "fid", "uid", name, mime, size)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026Q3", Quarter(2026, 3)),
        ("2026-q1", Quarter(2026, 1)),
        (" 2026h2 ", HalfYear(2026, 2)),
        ("2026-H1", HalfYear(2026, 1)),
    ],
)
def test_parse_period(text: str, expected: Period) -> None:
    assert parse_period(text) == expected


@pytest.mark.parametrize("text", ["2026Q5", "2026H3", "2026", "Q3", "26Q3", "2026Q0", "x"])
def test_parse_period_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        parse_period(text)


@given(periods)
def test_period_keys_round_trip(period: Period) -> None:
    assert parse_period(period.key) == period


def test_period_labels_in_chinese() -> None:
    from locales.i18n import translator

    t = translator("zh_Hans").gettext
    assert period_label(Quarter(2026, 3), t) == "2026年第3季度"
    assert period_label(HalfYear(2026, 1), t) == "2026年上半年"
    assert period_label(HalfYear(2026, 2), t) == "2026年下半年"


@given(days)
def test_a_report_counts_for_the_period_of_its_day(day: date) -> None:
    period, required = counts_for(PersonStatus.PROBATIONARY, day)
    assert period == Quarter.of(day) and required
    for status in (PersonStatus.ACTIVIST, PersonStatus.TARGET):
        period, required = counts_for(status, day)
        assert period == HalfYear.of(day) and required
    period, required = counts_for(PersonStatus.MEMBER, day)
    assert period.contains(day) and not required


@given(periods)
def test_obligations_by_status(period: Period) -> None:
    assert obligations(PersonStatus.MEMBER, period) == []
    quarterly = obligations(PersonStatus.PROBATIONARY, period)
    assert quarterly and all(isinstance(p, Quarter) for p in quarterly)
    assert len(quarterly) == (1 if isinstance(period, Quarter) else 2)
    for status in (PersonStatus.ACTIVIST, PersonStatus.TARGET):
        half = obligations(status, period)
        assert len(half) == 1 and isinstance(half[0], HalfYear)
    for owed in (*quarterly, *obligations(PersonStatus.ACTIVIST, period)):
        # Every obligation overlaps the period asked about.
        assert owed.start <= period.end and period.start <= owed.end


@pytest.mark.parametrize(
    ("name", "mime", "ext"),
    [
        ("汇报.pdf", "application/pdf", ".pdf"),
        ("汇报.PDF", "application/octet-stream", ".pdf"),
        ("汇报.doc", "application/msword", ".doc"),
        (
            "汇报.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ".docx",
        ),
        ("scan.jpeg", "image/jpeg", ".jpeg"),
        ("scan.png", "image/png", ".png"),
        (None, "application/pdf", ".pdf"),
    ],
)
def test_accepted_files(name: str | None, mime: str, ext: str) -> None:
    assert check_file(doc(name, mime)) == ext


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("setup.exe", "application/x-msdownload"),
        ("材料.zip", "application/zip"),
        ("汇报.pdf", "application/x-msdownload"),  # the type contradicts the name
        ("汇报.txt", "text/plain"),
        (None, None),
    ],
)
def test_refused_files(name: str | None, mime: str | None) -> None:
    with pytest.raises(DomainError):
        check_file(doc(name, mime))


def test_size_limit() -> None:
    assert check_file(doc("a.pdf", "application/pdf", MAX_FILE_BYTES)) == ".pdf"
    with pytest.raises(DomainError) as info:
        check_file(doc("a.pdf", "application/pdf", MAX_FILE_BYTES + 1))
    assert info.value.params["limit"] == 20


def test_content_sniffing() -> None:
    assert content_matches(".pdf", b"%PDF-1.7\n...")
    assert not content_matches(".pdf", b"MZ\x90\x00")
    assert content_matches(".docx", b"PK\x03\x04...")
    assert not content_matches(".doc", b"PK\x03\x04...")
    assert content_matches(".png", b"\x89PNG\r\n\x1a\n....")
    assert content_matches(".jpg", b"\xff\xd8\xff\xe0")
    assert not content_matches(".exe", b"MZ")


@given(st.text(alphabet=st.sampled_from("学习党章\n ab"), max_size=3000), st.integers(2, 400))
def test_chunks_join_back_and_fit(text: str, size: int) -> None:
    chunks = chunk_text(text, size)
    assert "".join(chunks) == text
    assert all(len(c) <= size for c in chunks)
    assert all(chunks) or chunks == [""]
    # Breaking at line ends never more than doubles the number of messages.
    assert len(chunks) <= max(1, 2 * -(-len(text) // size))
