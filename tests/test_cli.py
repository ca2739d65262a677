"""The branchbot command line: branch creation and roster import (CSV and XLSX)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from bot.cli import app
from tests.databases import TemplateDatabase

ROSTER = """name,status,telegram_id,group,joined_on
张三,正式党员,,第一党小组,2010-07-01
李四,预备党员,2002,,2026-05-01
王五,activist,,,
"""


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_db: TemplateDatabase
) -> Iterator[CliRunner]:
    url = asyncio.run(template_db.empty(tmp_path))  # the CLI migrates it itself
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    yield CliRunner()
    asyncio.run(template_db.discard(url))


def create_branch(cli: CliRunner, name: str = "心内科党支部", secretary: int = 1001) -> str:
    result = cli.invoke(app, ["branch", "create", name, "--secretary", str(secretary)])
    assert result.exit_code == 0, result.output
    code = result.stdout.strip().splitlines()[-1]
    assert len(code) == 8 and code.isalnum() and code.isupper()
    return code


def test_branch_create_prints_join_code_last(cli: CliRunner) -> None:
    code = create_branch(cli)
    again = cli.invoke(app, ["branch", "create", "外科党支部", "--secretary", "1001"])
    assert again.exit_code == 1
    assert "已属于其他支部" in again.output
    assert create_branch(cli, "外科党支部", 1002) != code


def test_roster_csv_import_is_idempotent(cli: CliRunner, tmp_path: Path) -> None:
    code = create_branch(cli)
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    first = cli.invoke(app, ["roster", "import", "--branch", code, str(roster)])
    assert first.exit_code == 0, first.output
    lines = first.stdout.strip().splitlines()
    codes = dict(line.split("\t") for line in lines)
    assert set(codes) == {"张三", "王五"}  # 李四 has a telegram_id: bound at once
    assert "新增 3 人" in first.stderr
    second = cli.invoke(app, ["roster", "import", "--branch", code, str(roster)])
    assert second.exit_code == 0
    assert dict(line.split("\t") for line in second.stdout.strip().splitlines()) == codes
    assert "新增 0 人，更新 0 人，未变 3 人" in second.stderr


def test_roster_bad_rows_reported_by_line_and_nothing_imported(
    cli: CliRunner, tmp_path: Path
) -> None:
    code = create_branch(cli)
    roster = tmp_path / "bad.csv"
    roster.write_text(
        "姓名,身份,telegram_id\n张三,正式党员,\n李四,群众,\n王五,预备党员,abc\n", encoding="utf-8"
    )
    result = cli.invoke(app, ["roster", "import", "--branch", code, str(roster)])
    assert result.exit_code == 1
    assert "第 3 行：身份“群众”无效" in result.stderr
    assert "第 4 行：telegram_id“abc”不是数字" in result.stderr
    assert "均未导入" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text("姓名,身份\n张三,正式党员\n", encoding="utf-8")
    ok = cli.invoke(app, ["roster", "import", "--branch", code, str(good)])
    assert "新增 1 人" in ok.stderr  # 张三 was not half-imported by the bad file


def test_roster_xlsx_import(cli: CliRunner, tmp_path: Path) -> None:
    code = create_branch(cli)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["姓名", "身份", "telegram_id", "党小组", "入党时间"])
    ws.append(["周一", "正式党员", None, "第一党小组", "2001-07-01"])
    ws.append(["吴二", "发展对象", 3003, None, None])
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    result = cli.invoke(app, ["roster", "import", "--branch", code, str(path)])
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.stdout.strip().splitlines()] == ["周一"]


def test_roster_wrong_file_type(cli: CliRunner, tmp_path: Path) -> None:
    code = create_branch(cli)
    path = tmp_path / "roster.pdf"
    path.write_bytes(b"%PDF-1.4")
    result = cli.invoke(app, ["roster", "import", "--branch", code, str(path)])
    assert result.exit_code == 1
    assert "只接受 CSV 和 XLSX" in result.stderr


def test_unknown_branch_code(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(ROSTER, encoding="utf-8")
    result = cli.invoke(app, ["roster", "import", "--branch", "NOPE1234", str(path)])
    assert result.exit_code == 1
    assert "没有支部使用加入码 NOPE1234" in result.stderr


def test_run_without_token_points_to_demo(cli: CliRunner) -> None:
    result = cli.invoke(app, ["run"])
    assert result.exit_code == 2
    assert "branchbot demo" in result.stderr


def test_malformed_setting_is_one_line(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHBOT_TIMEZONE", "Mars/Olympus")
    result = cli.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "BRANCHBOT_TIMEZONE" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BRANCHBOT_BROADCAST_RATE", "1500"),  # over Telegram's paid 1,000 a second
        ("BRANCHBOT_LEASE_SECONDS", "0"),
        ("BRANCHBOT_REMINDER_TICK_SECONDS", "soon"),
        ("BRANCHBOT_REMINDER_GRACE_HOURS", "-1"),
    ],
)
def test_malformed_reminder_setting_is_one_line(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    result = cli.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert name in result.stderr and "Traceback" not in result.output


def test_reminder_settings_reach_the_dispatcher(tmp_path: Path) -> None:
    from bot.settings import Settings
    from scheduler.dispatcher import ReminderConfig

    settings = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
        BRANCHBOT_REMINDER_GRACE_HOURS=2,
        BRANCHBOT_REMINDER_TICK_SECONDS=0,
        BRANCHBOT_BROADCAST_RATE=12.5,
    )
    config = ReminderConfig.from_settings(settings)
    assert config.grace.total_seconds() == 7200
    assert config.tick_seconds == 0 and config.rate_per_second == 12.5
    assert not config.paid
    paid = ReminderConfig.from_settings(settings.model_copy(update={"broadcast_rate": 1000.0}))
    assert paid.paid and paid.claim_size == 1000 and paid.group_size == 50


def test_demo_can_be_scripted(tmp_path: Path) -> None:
    from bot.demo import run_demo

    script = io.StringIO(
        "/start\n:as new\n/start {join_code}\n:as sec\n#2\n:as new\n/help\n"
        ":as 3001 赵强\n/start {code:赵强}\n:quit\n"
    )
    out = io.StringIO()
    asyncio.run(run_demo(tmp_path / "demo.sqlite3", stdin=script, stdout=out))
    text = out.getvalue()
    assert "王书记 (支部书记 secretary, 1001) ← 支部助手" in text
    assert "申请已发送给支部书记" in text
    assert "[2] ✅ 预备党员" in text
    assert "陈新 已由 王书记 批准加入，身份：预备党员" in text
    assert "欢迎加入示范党支部" in text
    assert "/help — 我能为您做什么" in text
    assert "您的账号已绑定到示范党支部" in text
    assert text.rstrip().endswith("bye 再见")


def test_demo_shows_a_meeting(tmp_path: Path) -> None:
    from bot.demo import run_demo

    script = io.StringIO(":meeting\n:as member\n#3\n:as sec\n/meetings\n:quit\n")
    out = io.StringIO()
    asyncio.run(run_demo(tmp_path / "demo.sqlite3", stdin=script, stdout=out))
    text = out.getvalue()
    assert "会议已安排" in text
    assert "李明 (正式党员 member, 1002) ← 支部助手" in text and "会议通知" in text
    assert "签到成功" in text
    assert "示范党员大会 — /meeting_1" in text
