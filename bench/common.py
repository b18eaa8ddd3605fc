"""Shared pieces of the benchmarks: the benchmark databases and the timing helpers.

The benchmark databases live in an embedded PostgreSQL of their own (never the demo's):
``$ENMS_BENCH_DIR/pgdata`` (default ``~/.cache/enms-performance-bench/pgdata``), databases
``bench_15min`` and ``bench_1min``, the reference plant over two years up to a pinned end time
(``BENCH_END``), so that every run measures the same data. They are created on first use and reused
afterwards (the 1-minute load takes minutes). The server is left running between runs
(``cleanup_mode=None``); stop it with ``python bench/common.py --stop``.

Run ``python bench/common.py --create [--quick]`` to create the databases ahead of a benchmark.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

import asyncpg

from skill_enms_performance.demo import embedded, generator

#: the pinned end of the benchmark data (13:00 in San Jose, 22:00 in Munich): reproducible runs
BENCH_END = dt.datetime(2025, 11, 6, 21, 0, tzinfo=dt.timezone.utc)
BENCH_DAYS = 730
#: the events' anchor: the local date of BENCH_END in San Jose (what load_reference_plant uses)
ANCHOR = BENCH_END.astimezone(ZoneInfo(generator.FACTORIES[0].timezone)).date()
DATABASES = {15: "bench_15min", 1: "bench_1min"}
_LOAD_LOCK = 50099  # session advisory lock (50099, resolution) in the postgres database: one loader per database


def bench_dir() -> Path:
    explicit = os.environ.get("ENMS_BENCH_DIR")
    return Path(explicit).expanduser() if explicit else Path.home() / ".cache" / "enms-performance-bench"


_server = None


def server():
    """The benchmark's embedded server (started if needed, left running when this process exits)."""
    global _server
    if _server is None:
        root = bench_dir()
        root.mkdir(parents=True, exist_ok=True)
        _server = embedded.start_server(root / "pgdata", cleanup_mode=None)
    return _server


def dsn(database: str) -> str:
    return embedded.server_dsn(server(), database)


@dataclasses.dataclass
class BenchDb:
    name: str
    dsn: str
    resolution_minutes: int
    created: bool                 # loaded by this run
    load_seconds: float | None    # wall time of the load (this run's, or the one recorded when it was created)
    rows: dict[str, int]
    first_reading: dt.datetime | None
    last_reading: dt.datetime | None
    anchor: dt.date


_INFO_DDL = """
CREATE TABLE IF NOT EXISTS enms_demo.bench_info (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    load_seconds float8 NOT NULL,
    rows jsonb NOT NULL,
    fingerprint text,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE enms_demo.bench_info ADD COLUMN IF NOT EXISTS fingerprint text;
"""


def plant_fingerprint(resolution: int) -> str:
    """What the data depends on besides the parameters in plant_meta: the plant's tables, the calendar
    classes of every day (holidays package) and the generated readings of sample machine-days. A database
    made by a generator that produces other data is reloaded; a refactoring of the generator is not."""
    import hashlib
    import importlib.metadata

    digest = hashlib.sha256()
    parts = (generator.GENERATOR_VERSION, generator.FACTORIES, generator.MACHINES, generator.ENERGY_SOURCES,
             generator.SAN_JOSE_TARIFF, getattr(generator, "_EVENTS", None), importlib.metadata.version("holidays"))
    digest.update(repr(parts).encode("utf-8"))
    first = ANCHOR - dt.timedelta(days=BENCH_DAYS)
    for f in generator.FACTORIES:
        digest.update("".join(generator.calendar_class(f.name, first + dt.timedelta(days=k))[0]
                              for k in range(BENCH_DAYS + 1)).encode("ascii"))
    try:  # private API of the generator: without it, fall back to its source text
        ctx = generator._Ctx(generator.REFERENCE_SEED, resolution, ANCHOR)  # noqa: SLF001
        for mi in range(len(generator.MACHINES)):
            for back in (700, 400, 50, 15, 5, 1):
                day = generator._machine_day(ctx, mi, ANCHOR - dt.timedelta(days=back))  # noqa: SLF001
                for et in sorted(day.energy_kwh):
                    digest.update(day.energy_kwh[et].tobytes())
                if day.production is not None:
                    digest.update(day.production.tobytes())
                if day.temp_c is not None:
                    digest.update(day.temp_c.tobytes())
    except (AttributeError, TypeError):
        import inspect

        digest.update(inspect.getsource(generator).encode("utf-8"))
    return digest.hexdigest()[:16]


async def _matches(conn: asyncpg.Connection, resolution: int) -> bool:
    if not await conn.fetchval("SELECT to_regclass('enms_demo.bench_info') IS NOT NULL"):
        return False  # no load finished here (bench_info is written after the load committed)
    meta = await conn.fetchrow("SELECT * FROM enms_demo.plant_meta WHERE id = 1")
    made_by = await conn.fetchval("SELECT to_jsonb(b) ->> 'fingerprint' FROM enms_demo.bench_info b WHERE id = 1")
    return bool(meta and made_by == plant_fingerprint(resolution) and meta["resolution_minutes"] == resolution
                and meta["loaded_end"] == BENCH_END and meta["days"] == BENCH_DAYS and meta["seed"] == generator.REFERENCE_SEED
                and meta["anchor"] == ANCHOR and meta["data_until"] == BENCH_END)


async def ensure_db(resolution: int, log: Callable[[str], None] = print) -> BenchDb:
    """The benchmark database of that resolution: reused when it holds exactly the pinned plant,
    else (re)loaded. Concurrent callers wait for each other."""
    import json

    name = DATABASES[resolution]
    admin = await asyncpg.connect(dsn("postgres"))
    try:
        await admin.execute("SELECT pg_advisory_lock($1, $2)", _LOAD_LOCK, resolution)
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')  # name is one of our constants
        conn = await asyncpg.connect(dsn(name), server_settings={"TimeZone": "UTC"})
        try:
            loaded = (await conn.fetchval("SELECT to_regclass('enms_demo.plant_meta') IS NOT NULL")
                      and await _matches(conn, resolution))
            created = False
            if not loaded:
                fingerprint = plant_fingerprint(resolution)  # of the generator this process loads with
                log(f"[{name}] loading the reference plant: {BENCH_DAYS} days at {resolution} min up to "
                    f"{BENCH_END.isoformat()} (one-time; minutes at 1-minute resolution) ...")
                await conn.execute("DROP SCHEMA IF EXISTS enms_perf CASCADE")  # rollups of older data
                report = await generator.load_reference_plant(conn, end=BENCH_END, days=BENCH_DAYS,
                                                              resolution_minutes=resolution)
                await conn.execute(_INFO_DDL)
                await conn.execute(
                    "INSERT INTO enms_demo.bench_info (id, load_seconds, rows, fingerprint) "
                    "VALUES (1, $1, $2::jsonb, $3) "
                    "ON CONFLICT (id) DO UPDATE SET load_seconds = EXCLUDED.load_seconds, rows = EXCLUDED.rows, "
                    "fingerprint = EXCLUDED.fingerprint, created_at = now()",
                    report.seconds, json.dumps(report.rows), fingerprint)
                created = True
                log(f"[{name}] loaded in {report.seconds:.1f} s")
            rows = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}"))  # noqa: S608 - constant names
                    for t in ("energy_readings", "production_data", "environmental_data")}
            first, last = (await conn.fetchrow("SELECT min(time), max(time) FROM energy_readings")).values()
            load_seconds = (await conn.fetchval("SELECT load_seconds FROM enms_demo.bench_info WHERE id = 1"))
            return BenchDb(name=name, dsn=dsn(name), resolution_minutes=resolution, created=created,
                           load_seconds=load_seconds, rows=rows, first_reading=first, last_reading=last,
                           anchor=ANCHOR)
        finally:
            await conn.close()
    finally:
        try:
            await admin.execute("SELECT pg_advisory_unlock($1, $2)", _LOAD_LOCK, resolution)
        finally:
            await admin.close()


def describe_db(db: BenchDb) -> str:
    how = "loaded now" if db.created else "reused"
    secs = f"{db.load_seconds:.1f} s" if db.load_seconds is not None else "?"
    return (f"{db.name}: {how} (load time {secs}); energy_readings {db.rows['energy_readings']:,} rows, "
            f"production_data {db.rows['production_data']:,}, environmental_data {db.rows['environmental_data']:,}; "
            f"readings {db.first_reading:%Y-%m-%d %H:%M} .. {db.last_reading:%Y-%m-%d %H:%M} UTC; anchor {db.anchor}")


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Timing:
    label: str
    samples_ms: list[float]

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    def pct(self, q: float) -> float:
        """Percentile by linear interpolation (numpy's default), in ms."""
        s = sorted(self.samples_ms)
        if not s:
            return math.nan
        pos = (len(s) - 1) * q / 100.0
        lo = math.floor(pos)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    @property
    def p50(self) -> float:
        return self.pct(50)

    @property
    def p95(self) -> float:
        return self.pct(95)

    @property
    def p99(self) -> float:
        return self.pct(99)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples_ms) if self.samples_ms else math.nan

    @property
    def max(self) -> float:
        return max(self.samples_ms) if self.samples_ms else math.nan


async def time_async(label: str, make_call: Callable[[int], Awaitable[Any]], *, warmup: int, runs: int) -> Timing:
    """``warmup`` untimed calls, then ``runs`` timed calls, one after the other; ``make_call(i)``
    returns the i-th awaitable (i counts over warm-up and timed calls)."""
    for i in range(warmup):
        await make_call(i)
    samples = []
    for i in range(warmup, warmup + runs):
        t0 = time.perf_counter()
        await make_call(i)
        samples.append((time.perf_counter() - t0) * 1000.0)
    return Timing(label, samples)


def time_sync(label: str, call: Callable[[int], Any], *, warmup: int, runs: int) -> Timing:
    for i in range(warmup):
        call(i)
    samples = []
    for i in range(warmup, warmup + runs):
        t0 = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - t0) * 1000.0)
    return Timing(label, samples)


def fmt_ms(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if v >= 10000:
        return f"{v / 1000:.1f} s"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def table(headers: list[str], rows: list[list[Any]], title: str | None = None) -> str:
    """A compact fixed-width text table (first column left-aligned, the others right-aligned)."""
    cells = [[str(c) for c in headers]] + [[("-" if c is None else str(c)) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    out = [title] if title else []
    out.append(line(cells[0]))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(r) for r in cells[1:])
    return "\n".join(out)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("ok" if ok else "MISSED")


def environment() -> str:
    import platform

    return (f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform(terse=True)}, "
            f"bench dir {bench_dir()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="create (or check) the benchmark databases")
    parser.add_argument("--create", action="store_true", help="create or reuse the benchmark databases")
    parser.add_argument("--quick", action="store_true", help="only the 15-minute database")
    parser.add_argument("--stop", action="store_true", help="stop the benchmark's embedded server")
    args = parser.parse_args(argv)
    if args.stop:
        srv = server()
        srv.cleanup_mode = "stop"
        srv.cleanup()
        print("stopped")
        return 0
    resolutions = (15,) if args.quick else (15, 1)
    for res in resolutions:
        db = asyncio.run(ensure_db(res))
        print(describe_db(db))
    return 0


if __name__ == "__main__":
    sys.exit(main())
