"""The rooms' doors are one-way: ``domain/`` (and ``locales/`` below it) never import
the bot, the handlers, the scheduler or the Telegram library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: room -> top-level packages it must not import
FORBIDDEN = {
    "domain": {"bot", "handlers", "scheduler", "telegram", "emulator"},
    "locales": {"bot", "handlers", "scheduler", "domain", "store", "telegram"},
    "store": {"bot", "handlers", "scheduler", "telegram"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_room_imports_only_downwards(room: str) -> None:
    bad = []
    for path in sorted((ROOT / room).rglob("*.py")):
        if room == "store" and "migrations" in path.parts:
            continue  # Alembic's env.py reads the app settings by design
        wrong = _imports(path) & FORBIDDEN[room]
        if wrong:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert not bad, "\n".join(bad)
