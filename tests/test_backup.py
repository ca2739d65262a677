"""``branchbot backup`` / ``restore`` (SQLite): a consistent copy while the bot runs and
writes, a checked restore, refusals that keep the data safe."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from store.backup import BackupError, backup, check_database, restore, sqlite_path
from tests.databases import TemplateDatabase
from tests.harness import running_bot

STRANGERS = 30


@pytest.fixture
def sqlite_only(template_db: TemplateDatabase) -> None:
    if template_db.pg:
        pytest.skip("backup/restore are for SQLite; PostgreSQL uses pg_dump")


def leftovers(folder: Path) -> list[str]:
    """Temporary or stray files a backup/restore left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or "-wal" in p.name)


def count(path: Path, sql: str) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def test_backup_while_running_then_restore(
    tmp_path: Path, template_db: TemplateDatabase, sqlite_only: None
) -> None:
    url = await template_db.fresh(tmp_path)
    db_file = sqlite_path(url)
    copy = tmp_path / "backups" / "branchbot-backup.sqlite3"
    copy.parent.mkdir()
    async with running_bot(tmp_path, template_db, url=url) as bot:
        await bot.create_branch()
        sec = bot.user(1001, "王书记")
        await sec.send("/start")
        await sec.wait_reply()

        async def strangers() -> None:
            for i in range(STRANGERS):
                user = bot.user(6000 + i, f"访客{i}")
                await user.send("/start")
                await user.wait_reply()

        writer = asyncio.create_task(strangers())
        await bot.emu.wait_until(lambda: len(bot.emu.calls("sendMessage")) >= 8)
        with pytest.raises(BackupError, match="the database itself"):
            await asyncio.to_thread(restore, url, db_file)
        info = await asyncio.to_thread(backup, url, copy)
        await writer
        assert info.revision == check_database(copy)
        with pytest.raises(BackupError, match="exists"):
            backup(url, copy)
        # A live restore is refused (the bot runs: its -wal file exists).
        with pytest.raises(BackupError, match="looks in use"):
            await asyncio.to_thread(restore, url, copy)
        assert await bot.scalar("SELECT count(*) FROM telegram_accounts") == STRANGERS + 1

    # The copy is a consistent snapshot taken in the middle of the writes: each account
    # with the update that created it, nothing half-done.
    in_copy = count(copy, "SELECT count(*) FROM telegram_accounts WHERE telegram_user_id >= 6000")
    assert 0 < in_copy < STRANGERS
    assert count(copy, "SELECT count(*) FROM processed_updates") == in_copy + 1
    assert count(copy, "SELECT count(*) FROM branches") == 1
    assert leftovers(copy.parent) == []

    info2 = restore(url, copy)
    assert info2.saved_previous is not None and info2.saved_previous.exists()
    assert count(info2.saved_previous, "SELECT count(*) FROM telegram_accounts") == STRANGERS + 1
    assert count(db_file, "SELECT count(*) FROM telegram_accounts") == in_copy + 1
    assert leftovers(tmp_path) == []

    # The bot runs on the restored data: the branch is there, a later visitor is not.
    async with running_bot(tmp_path, template_db, url=url) as bot:
        # A new emulator numbers updates from the start again; Telegram's ids only grow.
        bot.emu._update_ids = itertools.count(900001)
        sec = bot.user(1001, "王书记")
        await sec.send("/start")
        assert "心内科党支部" in (await sec.wait_reply()).text
        late = bot.user(6000 + STRANGERS - 1, "迟到")
        await late.send("/start")
        await late.wait_reply()
        assert await bot.scalar("SELECT count(*) FROM telegram_accounts") == in_copy + 2


def test_restore_refuses_what_is_not_a_sound_branchbot_database(
    tmp_path: Path, template_db: TemplateDatabase, sqlite_only: None
) -> None:
    url = asyncio.run(template_db.fresh(tmp_path))
    db_file = sqlite_path(url)
    before = db_file.read_bytes()
    text = tmp_path / "notes.txt"
    text.write_text("这不是数据库" * 100, encoding="utf-8")
    with pytest.raises(BackupError, match="not a usable SQLite database"):
        restore(url, text)
    other = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE persons (id INTEGER)")
    with pytest.raises(BackupError, match="not a branchbot database"):
        restore(url, other)
    future = tmp_path / "future.sqlite3"
    backup(url, future)
    with closing(sqlite3.connect(future)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
        conn.commit()
        # (still open: the change is only in future.sqlite3-wal, and is read from there)
        with pytest.raises(BackupError, match="does not know"):
            restore(url, future)
    with pytest.raises(BackupError, match="does not know"):
        restore(url, future)
    truncated = tmp_path / "truncated.sqlite3"
    truncated.write_bytes(before[: len(before) // 3])
    with pytest.raises(BackupError):
        restore(url, truncated)
    with pytest.raises(BackupError, match="no backup file"):
        restore(url, tmp_path / "missing.sqlite3")
    assert db_file.read_bytes() == before  # untouched by every refusal
    assert leftovers(tmp_path) == []


async def test_forced_restore_under_a_running_bot(
    tmp_path: Path, template_db: TemplateDatabase, sqlite_only: None
) -> None:
    url = await template_db.fresh(tmp_path)
    empty = tmp_path / "empty-backup.sqlite3"
    backup(url, empty)
    async with running_bot(tmp_path, template_db, url=url) as bot:
        await bot.create_branch()
        sec = bot.user(1001, "王书记")
        await sec.send("/start")
        assert "支部书记" in (await sec.wait_reply()).text
        await asyncio.to_thread(restore, url, empty, force=True)
        # The running bot sees the restored (empty) database at once.
        await sec.send("/start")
        assert "加入码" in (await sec.wait_reply()).text
        assert await bot.scalar("SELECT count(*) FROM branches") == 0


def test_cli_backup_and_restore(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    template_db: TemplateDatabase,
    sqlite_only: None,
) -> None:
    url = asyncio.run(template_db.fresh(tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made = runner.invoke(app, ["branch", "create", "心内科党支部", "--secretary", "1001"])
    assert made.exit_code == 0, made.output
    out = runner.invoke(app, ["backup", "copy.sqlite3"])
    assert out.exit_code == 0, out.output
    assert "backup written to copy.sqlite3" in out.stdout
    again = runner.invoke(app, ["backup", "copy.sqlite3"])
    assert again.exit_code == 2 and "--force" in again.output
    other = runner.invoke(app, ["branch", "create", "外科党支部", "--secretary", "1002"])
    assert other.exit_code == 0
    back = runner.invoke(app, ["restore", "copy.sqlite3"])
    assert back.exit_code == 0, back.output
    assert "previous database was saved" in back.stdout
    assert count(sqlite_path(url), "SELECT count(*) FROM branches") == 1


def test_cli_refuses_postgresql_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://branchbot:x@127.0.0.1/branchbot")
    monkeypatch.chdir(tmp_path)
    for args in (["backup", "x.dump"], ["restore", "x.dump"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2
        assert "pg_dump" in result.output and len(result.output.strip().splitlines()) == 1
