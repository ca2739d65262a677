"""The script checker of the i18n tests (tests/script_check.py) tells the three
languages apart: a checker that cannot fail would make the recipients' test useless."""

from __future__ import annotations

import pytest

from tests.script_check import script_problems


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("✅ Your claim No. 1 (Studied the Party's theory, 2026-12-03) was approved.", "en"),
        ("Tap “Paid” below.", "en"),  # curly quotes are English too
        ("✅ 您的第 1 号申报（参加“三会一课”集中学习，2026-12-03）已审核通过：+1 分。", "zh_Hans"),
        ("✅ 您的第 1 號申報（參加“三會一課”集中學習，2026-12-03）已審核通過：+1 分。", "zh_Hant"),
        ("第 3 號申報已批准。考核指標：政治學習", "zh_Hant"),  # 准, 核: traditional too
        ("📅 3 天後是<b>支部大會</b>。發送 /mute 暫停。", "zh_Hant"),
        ("文件超过 20 MB，只接受 PDF、CSV 或 XLSX。Telegram ID 42", "zh_Hans"),
        ("请按 <code>2026-06-30 15:00 title</code> 发送。", "zh_Hans"),  # what one types
    ],
)
def test_right_script_passes(text: str, locale: str) -> None:
    assert script_problems(text, locale) == []


@pytest.mark.parametrize(
    ("text", "locale", "found"),
    [
        ("✅ Your claim No. 1 (参加“三会一课”集中学习, 2026-12-03) was approved.", "en", "参"),
        ("Points ranking 2026Q2 (公示)", "en", "公"),
        ("Reason：late", "en", "："),
        ("您的积分为 59 分。", "zh_Hant", "积"),
        ("您的積分為 59 分。", "zh_Hans", "積"),
        ("📅 3 天后是<b>支部大會</b>。", "zh_Hant", "天后"),
        ("✅ 您的第 1 号申报 was approved.", "zh_Hans", "approved"),
        ("已通知 base points (deductions)", "zh_Hant", "points"),
    ],
)
def test_wrong_script_fails(text: str, locale: str, found: str) -> None:
    problems = script_problems(text, locale)
    assert any(found in p for p in problems), problems


def test_allowed_names_are_narrow() -> None:
    text = "王明 commented on your thought report for 2026 Q2."
    assert script_problems(text, "en", allowed=["王明"]) == []
    assert script_problems(text + " 已阅", "en", allowed=["王明"]) != []
    assert script_problems("李四 已閱", "zh_Hant", allowed=["李四"]) == []
    assert script_problems("李四 已阅", "zh_Hant", allowed=["李四"]) != []
