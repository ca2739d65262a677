"""The broadcast benchmark runs and prints its figures (a small N; the 5,000-member run
is ``python -m bench.broadcast``)."""

from __future__ import annotations

import pytest

from bench import broadcast


def test_benchmark_prints_its_figures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRANCHBOT_REMINDER_TICK_SECONDS", "0")
    broadcast.main(["--members", "40"])  # its exit code includes timing: not asserted
    out = capsys.readouterr().out
    for label in ("messages/s", "ratio to 30/s", "lost", "duplicates", "time over the limit"):
        assert label in out
    assert "delivered            41 of 41" in out
    assert "lost                 0" in out and "duplicates           0" in out
