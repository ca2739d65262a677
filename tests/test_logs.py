"""Structured logs: with ``BRANCHBOT_LOG_FORMAT=json`` every line is one JSON object, and
lines written while an update is handled carry its update_id, user_id and chat_id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import log_context, setup_logging
from tests.harness import Harness


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_lines_with_context_and_traceback(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("INFO", "json", stream=out)
    log = logging.getLogger("branchbot.test")
    with log_context(update_id=42, user_id=7, chat_id=None):
        log.info("handled %s", "是", extra={"duration_ms": 3})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    log.debug("hidden at INFO")
    log.warning("outside")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 3
    first, failed, outside = lines
    assert first["msg"] == "handled 是" and first["level"] == "INFO"
    assert first["logger"] == "branchbot.test" and first["ts"].endswith("+00:00")
    assert first["update_id"] == 42 and first["user_id"] == 7 and "chat_id" not in first
    assert first["duration_ms"] == 3
    assert "ValueError: boom" in failed["exc"] and failed["update_id"] == 42
    assert "update_id" not in outside


def test_text_format_appends_fields(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("INFO", "text", stream=out)
    with log_context(update_id=5):
        logging.getLogger("x").info("hello")
    assert out.getvalue().rstrip().endswith("INFO x: hello [update_id=5]")


async def test_update_handling_logs_carry_update_id(bot: Harness, restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("DEBUG", "json", stream=out)
    stranger = bot.user(5001, "陌生人")
    update_id = await stranger.send("/start")
    await stranger.wait_reply()
    await bot.emu.redeliver(update_id)
    await bot.emu.wait_until(lambda: bot.emu.pending_updates == 0)
    await stranger.expect_no_reply(0.3)
    entries = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    ours = [e for e in entries if e.get("update_id") == update_id]
    assert {"update handled", f"update {update_id} was already processed; skipped"} <= {
        e["msg"] for e in ours
    }
    assert all(e["user_id"] == 5001 and e["chat_id"] == 5001 for e in ours)
    assert all(e["logger"] for e in entries)
