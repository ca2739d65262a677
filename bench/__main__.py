"""``python -m bench all [--quick]``: every benchmark in turn, each printing its own
table, then one summary of every target (goal, measured figure, met or not).

Each benchmark module listed in ``BENCHES`` has ``targets(quick: bool) -> list[Target]``:
it runs with its full (or, with ``--quick``, small) sizes, prints its table and returns
its targets. ``python -m bench.<name>`` runs one of them with all its options.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from bench._targets import Target, summary

#: Run in this order. ``fleet`` runs after ``scale``: its fee-day broadcast uses the
#: province data set that ``scale`` builds on PostgreSQL and keeps.
BENCHES: list[str] = [
    "updates",
    "growth",
    "scale",
    "fleet",
    "broadcast",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("what", choices=["all", *BENCHES], help="all, or one benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    args = parser.parse_args(argv)
    names = BENCHES if args.what == "all" else [args.what]
    targets: list[Target] = []
    for name in names:
        started = time.perf_counter()
        print(f"\n### bench.{name}\n", flush=True)
        module = importlib.import_module(f"bench.{name}")
        targets.extend(module.targets(args.quick))
        print(f"(bench.{name}: {time.perf_counter() - started:.0f} s)", flush=True)
    print()
    print(summary(targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
