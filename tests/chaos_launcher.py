"""Starts ``branchbot run`` processes for the crash test (tests/test_chaos_e2e.py).

On this small machine importing the bot takes seconds, and the crash test restarts it
dozens of times. So this launcher imports the bot once and forks one child per start
(what pre-forking servers call preloading): each child is a separate OS process running
``branchbot run`` from the top (settings, migrations, Bot API bootstrap, polling) and is
killed with SIGKILL by the test, from outside.

Protocol, one line each way: ``start`` → the child's pid; ``reap PID`` → its wait status.
The children write their output to the file named by ``CHAOS_LOG``.
"""

from __future__ import annotations

import os
import sys
import traceback


def _child() -> None:
    code = 1
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        log = os.open(os.environ["CHAOS_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        print(f"===== bot process {os.getpid()} =====", flush=True)
        from bot.cli import main

        sys.argv = ["branchbot", "run"]
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    # The slow imports, done once before forking.
    import bot.app
    import bot.cli  # noqa: F401
    import store.db  # noqa: F401

    for line in sys.stdin:
        command, *args = line.split()
        if command == "start":
            pid = os.fork()
            if pid == 0:
                _child()
            print(pid, flush=True)
        elif command == "reap":
            _, status = os.waitpid(int(args[0]), 0)
            print(status, flush=True)


if __name__ == "__main__":
    main()
