"""``branchbot org``: organisations over branches from the command line."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bot.cli import app
from store.db import Database
from tests.databases import TemplateDatabase


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_db: TemplateDatabase
) -> Iterator[tuple[CliRunner, str]]:
    url = asyncio.run(template_db.empty(tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    yield CliRunner(), url
    asyncio.run(template_db.discard(url))


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    async def go() -> list[tuple[object, ...]]:
        db = Database(url)
        try:
            async with db.session() as session:
                return [tuple(r) for r in (await session.execute(text(sql))).all()]
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_create_attach_admin_and_list(cli: tuple[CliRunner, str]) -> None:
    runner, url = cli
    made = runner.invoke(app, ["org", "create", "人民医院党委", "--admin", "5001"])
    assert made.exit_code == 0, made.output
    assert "已创建组织 人民医院党委" in made.stdout
    org_id = made.stdout.strip().splitlines()[-1]
    general = runner.invoke(app, ["org", "create", "内科党总支", "--general", "--parent", org_id])
    assert general.exit_code == 0, general.output
    general_id = general.stdout.strip().splitlines()[-1]

    branch = runner.invoke(app, ["branch", "create", "心内科党支部", "--secretary", "1001"])
    code = branch.stdout.strip().splitlines()[-1]
    attached = runner.invoke(app, ["org", "attach", general_id, "--branch", code.lower()])
    assert attached.exit_code == 0, attached.output
    assert f"心内科党支部 已归属编号 {general_id} 的组织" in attached.stdout

    again = runner.invoke(app, ["org", "admin", org_id, "5001"])
    assert "已经是管理员" in again.stdout
    added = runner.invoke(app, ["org", "admin", general_id, "5002"])
    assert "5002 已成为管理员" in added.stdout

    listing = runner.invoke(app, ["org", "list"])
    assert listing.stdout.splitlines() == [
        f"{org_id}\tcommittee\t-\t人民医院党委",
        f"{general_id}\tgeneral\t{org_id}\t内科党总支",
    ]
    assert rows(url, "SELECT organisation_id FROM branches") == [(int(general_id),)]
    assert sorted(rows(url, "SELECT organisation_id, telegram_user_id FROM org_admins")) == [
        (int(org_id), 5001),
        (int(general_id), 5002),
    ]
    actions = [a for (a,) in rows(url, "SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("org.create") == 2
    assert actions.count("org.admin") == 2  # the repeat is not audited: nothing changed
    assert actions.count("org.attach") == 1


def test_bad_input_is_refused_clearly(cli: tuple[CliRunner, str]) -> None:
    runner, url = cli
    no_parent = runner.invoke(app, ["org", "create", "党总支", "--parent", "99"])
    assert no_parent.exit_code == 1
    assert "没有编号为 99 的组织" in no_parent.output
    long_name = runner.invoke(app, ["org", "create", "党" * 121])
    assert long_name.exit_code == 1
    assert "1 至 120 个字符" in long_name.output
    org = runner.invoke(app, ["org", "create", "党委"]).stdout.strip().splitlines()[-1]
    bad_code = runner.invoke(app, ["org", "attach", org, "--branch", "NOSUCH00"])
    assert bad_code.exit_code == 1
    assert "NOSUCH00" in bad_code.output
    no_org = runner.invoke(app, ["org", "admin", "77", "5001"])
    assert no_org.exit_code == 1
    assert rows(url, "SELECT count(*) FROM org_admins") == [(0,)]
