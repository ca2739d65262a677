"""Question bank import: parsing rules (unit, hypothesis), errors by line over the chat and
the CLI, nothing half-imported, and the shared starter bank loaded once."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import text

from domain.quiz import choose_questions, parse_window, percent, reaches
from domain.quiz_bank import (
    BankError,
    QuestionKind,
    parse_answer,
    parse_bank,
    starter_bank,
)
from store.db import Database
from tests.databases import TemplateDatabase
from tests.harness import Harness
from tests.quiz_helpers import BRANCH_BANK_CSV, settled, setup_branch, started

HEADER = "kind,text,option_a,option_b,option_c,option_d,answer,explanation,topics,source\n"
BAD_CSV = (
    HEADER
    + "single,好题一,甲,乙,丙,丁,B,解析,org_life,自编\n"  # line 2: fine
    + "single,坏题二,甲,乙,,,C,解析,,\n"  # line 3: answer names an empty option
    + "multiple,坏题三,甲,乙,丙,,A,解析,,\n"  # line 4: multiple with one answer
    + "判断,坏题四,,,,,也许,解析,,\n"  # line 5: bad true/false answer
    + "essay,坏题五,,,,,A,解析,,\n"  # line 6: unknown kind
    + "single,好题一,甲,乙,丙,丁,A,解析,,\n"  # line 7: repeats line 2
)


# -- unit ------------------------------------------------------------------------------


def test_csv_answers_letters_and_true_false_words() -> None:
    questions = parse_bank(BRANCH_BANK_CSV.encode(), "bank.csv")
    by_text = {q.text: q for q in questions}
    assert by_text["支部单选一"].answer == (1,)
    assert by_text["支部多选二"].answer == (1, 2, 3)
    assert by_text["支部判断一"].answer == (0,) and by_text["支部判断一"].options == ()
    assert by_text["支部判断二"].answer == (1,)
    assert by_text["支部单选二"].options == ("甲", "乙", "丙")
    assert by_text["支部多选一"].kind is QuestionKind.MULTIPLE
    assert by_text["支部单选一"].topics == ("org_life",)


def test_bad_rows_reported_by_line() -> None:
    with pytest.raises(BankError) as info:
        parse_bank(BAD_CSV.encode(), "bad.csv")
    lines = sorted({e.line for e in info.value.errors})
    assert lines == [3, 4, 5, 6, 7]


def test_xlsx_and_yaml_lines() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["题型", "题目", "选项A", "选项B", "答案", "解析"])
    ws.append(["单选", "表格题一", "甲", "乙", "A", "x"])
    ws.append(["多选", "表格题二", "甲", "乙", "AB", "x"])  # all options right: refused
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(BankError) as info:
        parse_bank(buf.getvalue(), "bank.xlsx")
    assert [e.line for e in info.value.errors] == [3]
    yaml_text = (
        "questions:\n"
        "  - kind: single\n    text: 题一\n    options: [甲, 乙]\n    answer: [0]\n"
        "    explanation: x\n"
        "  - kind: truefalse\n    text: 题二\n    answer: maybe\n    explanation: x\n"
    )
    with pytest.raises(BankError) as info:
        parse_bank(yaml_text.encode(), "bank.yaml")
    assert [e.line for e in info.value.errors] == [7]
    assert len(parse_bank(yaml_text.replace("maybe", "false").encode(), "b.yml")) == 2


def test_wrong_file_type_and_empty_file() -> None:
    with pytest.raises(BankError):
        parse_bank(b"%PDF-1.4", "bank.pdf")
    with pytest.raises(BankError):
        parse_bank(HEADER.encode(), "bank.csv")


def test_starter_bank_parses() -> None:
    questions, sources = starter_bank()
    assert len(questions) >= 110
    assert {q.kind for q in questions} == set(QuestionKind)
    assert all(q.source in sources for q in questions)


@given(
    st.sampled_from([QuestionKind.SINGLE, QuestionKind.MULTIPLE]),
    st.lists(st.integers(0, 5), min_size=1, max_size=6),
    st.integers(2, 6),
)
def test_parse_answer_letters_roundtrip(kind: QuestionKind, picks: list[int], n: int) -> None:
    letters = "".join("ABCDEF"[i] for i in picks)
    try:
        result = parse_answer(kind, letters, n)
    except ValueError:
        assert (
            len(set(picks)) != len(picks)
            or max(picks) >= n
            or ((len(picks) == 1) != (kind is QuestionKind.SINGLE))
        )
        return
    assert list(result) == sorted(set(picks)) and len(set(picks)) == len(picks)
    assert all(i < n for i in result)
    assert (len(result) == 1) == (kind is QuestionKind.SINGLE)


def test_true_false_words() -> None:
    for word in ("对", "正确", "true", "T", "√"):
        assert parse_answer(QuestionKind.TRUEFALSE, word, 0) == (0,)
    for word in ("错", "错误", "false", "F", "×"):
        assert parse_answer(QuestionKind.TRUEFALSE, word, 0) == (1,)
    assert parse_answer(QuestionKind.TRUEFALSE, False, 0) == (1,)
    with pytest.raises(ValueError):
        parse_answer(QuestionKind.TRUEFALSE, "也许", 0)


@given(
    st.lists(st.integers(1, 300), min_size=0, max_size=60, unique=True),
    st.lists(st.integers(1, 300), max_size=80),
    st.integers(1, 20),
)
def test_choose_questions_avoids_recent(pool: list[int], recent: list[int], n: int) -> None:
    chosen = choose_questions(pool, recent, n)
    assert len(chosen) == len(set(chosen)) == min(n, len(pool))
    assert set(chosen) <= set(pool)
    fresh = set(pool) - set(recent)
    if len(fresh) >= n:
        assert set(chosen) <= fresh
    else:
        assert fresh <= set(chosen)


@given(st.integers(0, 60), st.integers(1, 60), st.integers(1, 100))
def test_percent_and_pass_mark(correct: int, total: int, mark: int) -> None:
    correct = min(correct, total)
    score = percent(correct, total)
    assert 0 <= score <= 100
    assert abs(score - 100 * correct / total) <= 0.5
    assert reaches(correct, total, mark) == (correct / total * 100 >= mark - 1e-9)


def test_exam_window_parsing() -> None:
    from datetime import date

    from domain.errors import DomainError

    today = date(2026, 12, 1)
    assert parse_window("2026-12-01 至 2026-12-07", today) == (today, date(2026, 12, 7))
    assert parse_window("2026/12/02~2026/12/03", today) == (date(2026, 12, 2), date(2026, 12, 3))
    for bad in ("2026-12-07 2026-12-01", "明天", "2026-11-01 2026-11-02", "2026-12-01 2027-12-01"):
        with pytest.raises(DomainError):
            parse_window(bad, today)


# -- end to end ------------------------------------------------------------------------


@pytest.mark.e2e
async def test_chat_import_errors_by_line_then_success(bot: Harness) -> None:
    await setup_branch(bot)
    sec = await started(bot, 1001, "王书记")
    member = await started(bot, 2001, "张三")
    await member.send("/questions")
    assert "只有支部书记" in (await member.wait_reply()).text

    await sec.send("/questions")
    _shared, info = await sec.wait_replies(2)
    assert "共享题库：167 题" in info.text
    await sec.send_document(b"%PDF-1.4", "bank.pdf", "application/pdf")
    assert "只接受 YAML、CSV 和 XLSX" in (await sec.wait_reply()).text
    await sec.send_document(BAD_CSV.encode(), "bad.csv", "text/csv")
    errors = await sec.wait_reply()
    for line in (3, 4, 5, 6, 7):
        assert f"第 {line} 行" in errors.text
    assert "\n第 2 行" not in errors.text
    assert "选项 C" in errors.text or "指向的选项为空" in errors.text
    assert "与第 2 行的题目重复" in errors.text
    assert "没有导入任何试题" in errors.text
    count = "SELECT count(*) FROM quiz_questions WHERE branch_id IS NOT NULL"
    assert await bot.scalar(count) == 0
    # The dialog is still open: the fixed file is accepted.
    await sec.send_document(BRANCH_BANK_CSV.encode(), "bank.csv", "text/csv")
    assert "新增 10 题" in (await sec.wait_reply()).text
    assert await settled(bot, count, 10) == 10
    # The same file again changes nothing; the dialog is closed now.
    await sec.send("/questions")
    await sec.wait_replies(2)
    await sec.send_document(BRANCH_BANK_CSV.encode(), "bank.csv", "text/csv")
    assert "新增 0 题，更新 0 题，未变 10 题" in (await sec.wait_reply()).text
    starter = "SELECT count(*) FROM quiz_questions WHERE branch_id IS NULL"
    assert await bot.scalar(starter) == 167


def _cli(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": ""}
    env.pop("TELEGRAM_BOT_TOKEN")
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
        check=False,
    )


@pytest.mark.e2e
async def test_cli_import_reports_lines_and_imports_into_a_branch(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    url = await template_db.empty(tmp_path)  # the CLI migrates it
    created = _cli(["branch", "create", "心内科党支部", "--secretary", "1001"], url)
    assert created.returncode == 0, created.stderr
    code = created.stdout.strip().splitlines()[-1]
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    result = _cli(["questions", "import", str(bad), "--branch", code], url)
    assert result.returncode == 1
    for line in (3, 4, 5, 6, 7):
        assert f"第 {line} 行" in result.stderr
    assert "均未导入" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text(BRANCH_BANK_CSV, encoding="utf-8")
    result = _cli(["questions", "import", str(good), "--branch", code], url)
    assert result.returncode == 0, result.stderr
    assert "心内科党支部" in result.stdout and "新增 10 题" in result.stdout
    db = Database(url)
    try:
        async with db.session() as session:
            own = await session.scalar(
                text("SELECT count(*) FROM quiz_questions WHERE branch_id IS NOT NULL")
            )
            shared = await session.scalar(
                text("SELECT count(*) FROM quiz_questions WHERE branch_id IS NULL")
            )
        assert own == 10
        assert shared == 167
    finally:
        await db.dispose()
        await template_db.discard(url)
