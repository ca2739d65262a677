"""PostgreSQL for the benchmarks: the local server that ``.ci/pg-up`` installs and starts
(as ``.ci/run`` does), and fresh databases on it.

``BENCH_POSTGRES_URL`` (a server URL without a database name, e.g.
``postgresql://user:pw@host:5432``) points the benchmarks at another server instead."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

DEFAULT_SERVER = "postgresql://branchbot:branchbot@127.0.0.1:5432"
ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def _connection(server: str) -> AsyncIterator[Any]:
    """An asyncpg connection to the server's ``postgres`` database."""
    import asyncpg

    url = make_url(f"{server}/postgres")
    conn = await asyncpg.connect(
        user=url.username,
        password=url.password,
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        database="postgres",
        timeout=5,
    )
    try:
        yield conn
    finally:
        await conn.close()


async def _admin(server: str, *statements: str) -> None:
    async with _connection(server) as conn:
        for statement in statements:
            await conn.execute(statement)


async def server() -> str:
    """The server URL; starts the local one (``.ci/pg-up``) when it does not answer."""
    url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_SERVER).rstrip("/")
    try:
        await _admin(url, "SELECT 1")
    except Exception as exc:  # any failure (refused, no role, no database): start it
        if "BENCH_POSTGRES_URL" in os.environ:
            raise RuntimeError(f"PostgreSQL at {url} does not answer: {exc}") from exc
        await asyncio.to_thread(subprocess.run, ["bash", str(ROOT / ".ci" / "pg-up")], check=True)
        await _admin(url, "SELECT 1")
    return url


async def fresh_database(name: str) -> str:
    """An empty database ``name`` (dropped first if it exists); its URL."""
    url = await server()
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return f"{url}/{name}"


async def existing_database(name: str) -> str | None:
    """The URL of database ``name`` if the server has it (e.g. the province data set that
    ``bench.scale --postgres`` keeps), else None."""
    url = await server()
    async with _connection(url) as conn:
        found = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    return f"{url}/{name}" if found else None


async def drop_database(name: str) -> None:
    url = await server()
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
