"""One bot instance for the province benchmark: ``branchbot run`` (``bot.cli``, the real
command and its arguments) in this process, plus what the benchmark reads from outside:
each run of the quarter close (the real periodic task) appends a JSON line to the file
named by ``BENCH_FIGURES``: its duration and the SQL statements the process executed
meanwhile (all of them: other tasks running at the same time count too).

    python -m bench._instance run --webhook URL --listen HOST:PORT
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def _append(path: str, line: str) -> None:
    with open(path, "a") as out:
        out.write(line + "\n")


def main() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    event.listen(Engine, "before_cursor_execute", count)

    # Wrapped before handlers.points imports it into the registry.
    import handlers.points_ranking as ranking

    original = ranking.run_quarter_close

    async def timed_close(app: Any) -> None:
        before, started = statements[0], time.perf_counter()
        await original(app)
        figures = {
            "pid": os.getpid(),
            "close_s": time.perf_counter() - started,
            "statements": statements[0] - before,
        }
        _append(os.environ["BENCH_FIGURES"], json.dumps(figures))

    ranking.run_quarter_close = timed_close

    from bot.cli import main as cli

    sys.argv = ["branchbot", *sys.argv[1:]]
    cli()


if __name__ == "__main__":
    main()
