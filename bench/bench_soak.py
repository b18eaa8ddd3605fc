"""Soak: the skill for a long run against a plant whose meters keep writing, a question every second.

    .venv/bin/python bench/bench_soak.py                     # one hour
    .venv/bin/python bench/bench_soak.py --minutes 10 --json soak.json

A temporary embedded PostgreSQL (deleted at the end) holds the reference plant (60 days at 15 minutes up to the
moment the bench starts); the skill runs on ovoscope's MiniCroft on the real clock. A writer adds one reading
per machine every ``--write-every`` seconds (as a meter gateway does); one question a second alternates between
voice ("How did Compressor-1 perform today?") and the bus (analyze of today, a fleet summary, health).

Sampled every ``--sample-every`` seconds: the process's resident memory, the skill's connections in
pg_stat_activity, threads, tasks on the skill's loop, and today's energy of Compressor-1 as the bus answers it
next to the same sum read from the readings (the answer's lag behind the meters). Printed: the first and last
window of each figure and their ratio (the reference is the skill's own first window: a flat run is 1.0),
latency p50/p95 per window, the longest answer lag, errors by code, and the checks (memory ratio <= 1.2,
connections <= pool_max_size, no task or thread left behind, lag <= refresh interval + one write). Checks that
fail are marked MISSED; the exit status is 0.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import environment, fmt_ms, table, verdict  # noqa: E402

APP_NAME = "skill-enms-performance"
DATABASE = "bench_soak"
DAYS = 60
QUESTION = "How did Compressor-1 perform today?"


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


async def load_plant(admin_dsn: str, dsn: str, end: dt.datetime) -> int:
    from skill_enms_performance.demo import generator

    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')  # a constant name
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn)
    try:
        await generator.load_reference_plant(conn, end=end, days=DAYS, resolution_minutes=15)
        return int(await conn.fetchval("SELECT count(*) FROM energy_readings"))
    finally:
        await conn.close()


class MeterWriter(threading.Thread):
    """One electricity reading per machine every ``every`` seconds, stamped with the real time."""

    def __init__(self, dsn: str, every: float, stop: threading.Event) -> None:
        super().__init__(name="soak-meters", daemon=True)
        self.dsn, self.every, self.stop, self.written = dsn, every, stop, 0

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            machines = [r["id"] for r in await conn.fetch("SELECT id FROM machines")]
            while not self.stop.is_set():
                now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
                kwh = 40.0 * self.every / 3600.0  # 40 kW for the interval
                await conn.executemany(
                    "INSERT INTO energy_readings (time, machine_id, energy_type, power_kw, energy_kwh) "
                    "VALUES ($1, $2, 'electricity', 40, $3) ON CONFLICT DO NOTHING",
                    [(now, m, kwh) for m in machines])
                self.written += len(machines)
                self.stop.wait(self.every)
        finally:
            await conn.close()


async def _metered_today(dsn: str, seu: str, since: dt.datetime) -> float:
    """Compressor-1's energy since local midnight straight from the readings (the truth the answer lags)."""
    conn = await asyncpg.connect(dsn)
    try:
        return float(await conn.fetchval(
            "SELECT coalesce(sum(r.energy_kwh), 0) FROM energy_readings r JOIN machines m ON m.id = r.machine_id "
            "WHERE m.name = $1 AND r.energy_type IN ('electricity', 'electrical', 'energy') AND r.time > $2",
            seu, since))
    finally:
        await conn.close()


async def _connections(admin_dsn: str) -> int:
    conn = await asyncpg.connect(admin_dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", APP_NAME))
    finally:
        await conn.close()


def bus_call(session: Any, kind: str, data: dict, timeout: float = 15.0) -> tuple[dict, float]:
    from ovos_bus_client.message import Message

    answer: dict = {}
    got = threading.Event()
    tag = uuid.uuid4().hex

    def on_response(message: Any) -> None:
        if (message.context or {}).get("soak") == tag:
            answer.update(message.data)
            got.set()

    session.croft.bus.on(f"{kind}.response", on_response)
    started = time.perf_counter()
    try:
        session.croft.bus.emit(Message(kind, data, {"soak": tag}))
        got.wait(timeout)
    finally:
        session.croft.bus.remove(f"{kind}.response", on_response)
    return answer or {"error": {"code": "no_reply"}}, time.perf_counter() - started


def loop_tasks(skill: Any) -> int:
    async def count() -> int:
        return len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()])

    return skill._loop.run(count(), timeout=5.0)  # noqa: SLF001 - the skill's own loop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--write-every", type=float, default=60.0, help="seconds between meter readings")
    parser.add_argument("--sample-every", type=float, default=30.0)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="enms-bench-soak-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(root / var.lower())
    from ovos_utils.log import LOG

    from skill_enms_performance.cli import AskSession
    from skill_enms_performance.demo.embedded import server_dsn, start_server

    LOG.set_level("ERROR")
    print(environment())
    server = start_server(root / "pgdata", cleanup_mode="delete")
    session, stop = None, threading.Event()
    try:
        admin_dsn, dsn = server_dsn(server, "postgres"), server_dsn(server, DATABASE)
        start = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
        start -= dt.timedelta(minutes=start.minute % 15)
        readings = asyncio.run(load_plant(admin_dsn, dsn, start))
        print(f"reference plant: {DAYS} days at 15 min up to {start.isoformat()}, {readings:,} readings")
        os.environ["ENMS_DSN"] = dsn
        os.environ.pop("ENMS_NOW", None)
        session = AskSession("en-us", ready_timeout=600.0)
        pool_max = int(session.skill.settings.get("pool_max_size", 8))
        threads_before, tasks_before = threading.active_count(), loop_tasks(session.skill)
        writer = MeterWriter(dsn, args.write_every, stop)
        writer.start()

        samples: list[dict[str, float]] = []
        latencies: list[tuple[float, float]] = []  # (elapsed since start, seconds)
        codes: collections.Counter[str] = collections.Counter()
        t0 = time.monotonic()
        deadline, next_sample, tick = t0 + args.minutes * 60.0, t0, 0
        while time.monotonic() < deadline:
            began = time.monotonic()
            kind = tick % 4
            if kind == 0:
                record = session.ask(QUESTION)
                latency = time.monotonic() - began
                codes["voice" if record.get("spoken") else "voice_silent"] += 1
            else:
                message, data = (("enms.performance.analyze", {"seu_name": "Compressor-1"}),
                                 ("enms.performance.summary", {}), ("enms.performance.health", {}))[kind - 1]
                reply, latency = bus_call(session, message, data)
                codes[(reply.get("error") or {}).get("code", "answer")] += 1
            latencies.append((began - t0, latency))
            if began >= next_sample:
                reply, _ = bus_call(session, "enms.performance.analyze", {"seu_name": "Compressor-1"})
                midnight = dt.datetime.fromisoformat(reply["window"]["start"]) if "window" in reply else None
                truth = asyncio.run(_metered_today(dsn, "Compressor-1", midnight)) if midnight else float("nan")
                samples.append({"t_s": began - t0, "rss_mb": rss_mb(), "connections": asyncio.run(_connections(admin_dsn)),
                                "threads": threading.active_count(), "tasks": loop_tasks(session.skill),
                                "answered_kwh": float(reply.get("actual_energy_kwh", float("nan"))),
                                "metered_kwh": truth})
                next_sample += args.sample_every
            tick += 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
        stop.set()
        writer.join(10)
        report(args, samples, latencies, codes, writer.written, pool_max, threads_before, tasks_before, session)
    finally:
        stop.set()
        if session is not None:
            session.close()
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    return 0


def report(args, samples, latencies, codes, written, pool_max, threads_before, tasks_before, session) -> None:
    window = max(1, len(samples) // 6)
    first, last = samples[:window], samples[-window:]

    def mean(rows: list[dict[str, float]], key: str) -> float:
        return statistics.fmean(r[key] for r in rows)

    span = args.minutes * 60.0
    early = [s for t, s in latencies if t < span / 6]
    late = [s for t, s in latencies if t >= span * 5 / 6]

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else float("nan")

    lag = max((s["metered_kwh"] - s["answered_kwh"] for s in samples if s["answered_kwh"] == s["answered_kwh"]),
              default=float("nan"))
    rss_ratio = mean(last, "rss_mb") / mean(first, "rss_mb")
    rows = [
        ["resident memory (MB)", f"{mean(first, 'rss_mb'):.0f}", f"{mean(last, 'rss_mb'):.0f}", f"{rss_ratio:.2f}"],
        ["latency p50 (ms)", fmt_ms(1000 * pct(early, 50)), fmt_ms(1000 * pct(late, 50)), f"{pct(late, 50) / pct(early, 50):.2f}"],
        ["latency p95 (ms)", fmt_ms(1000 * pct(early, 95)), fmt_ms(1000 * pct(late, 95)), f"{pct(late, 95) / pct(early, 95):.2f}"],
        ["connections", f"{mean(first, 'connections'):.1f}", f"{mean(last, 'connections'):.1f}", ""],
        ["threads", f"{mean(first, 'threads'):.1f}", f"{mean(last, 'threads'):.1f}", ""],
        ["loop tasks", f"{mean(first, 'tasks'):.1f}", f"{mean(last, 'tasks'):.1f}", ""],
    ]
    print(table(["figure", "first window", "last window", "last/first"], rows,
                title=f"soak: {args.minutes:g} min, {len(latencies)} questions, {written:,} readings written"))
    print("replies: " + ", ".join(f"{k} {n}" for k, n in codes.most_common()))
    max_conn = max(s["connections"] for s in samples)
    refresh_kwh = 40.0 * (60.0 + args.write_every) / 3600.0  # what a refresh minute plus one write may lag
    checks = [
        ("memory flat (last/first <= 1.2)", rss_ratio <= 1.2),
        (f"connections <= pool_max_size ({pool_max}); max seen {max_conn}", max_conn <= pool_max),
        ("no thread left behind", threading.active_count() <= threads_before),
        (f"no task left behind ({tasks_before} at start)", loop_tasks(session.skill) <= tasks_before),
        (f"answers follow the meters (largest lag {lag:.2f} kWh <= {refresh_kwh:.2f})", lag <= refresh_kwh),
        ("no internal_error or missing reply", not (codes["internal_error"] or codes["no_reply"])),
    ]
    for label, ok in checks:
        print(f"  {verdict(ok)} {label}")
    if args.json:
        Path(args.json).write_text(json.dumps({"samples": samples, "codes": dict(codes), "rss_ratio": rss_ratio,
                                               "max_connections": max_conn, "lag_kwh": lag}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
