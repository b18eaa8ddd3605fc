"""Load: 200 concurrent bus requests of mixed kinds against the skill on MiniCroft, next to the same
requests issued one after the other (the reference design: a caller that waits for each answer).

    .venv/bin/python bench/bench_load.py                    # 200 requests, 400-day plant at 15 min
    .venv/bin/python bench/bench_load.py --requests 400 --seed 7 --json load.json

A temporary embedded PostgreSQL (deleted at the end) holds the reference plant (400 days at 15 minutes up
to the pinned BENCH_END); the skill runs on ovoscope's MiniCroft with ENMS_DSN/ENMS_NOW, exactly as in the
tests. The request mix (seeded): analyses of every SEU on recent days (incl. today and Boiler-1 per energy
source), fleet summaries (day, period, machine type, factory), health, and invalid requests (unknown SEU,
future or impossible dates, missing or wrong-typed fields, ambiguous SEU, bad period).

Each mix is sent twice per cache state: *sequential* (emit, wait for the reply, next) and *concurrent*
(all emitted at once, then all replies awaited). "cold" clears the engine's series and model caches
before the run, "warm" runs again on the filled caches. Printed: latency p50/p95/p99/max per run
(emit to reply on the bus), throughput and the concurrent/sequential ratio, replies and error codes, and
the checks: every request answered exactly once and the same as in the cold sequential run (the
reference), invalid requests with the expected code, at most ``pool_max_size`` (8) connections of
application_name 'skill-enms-performance' in pg_stat_activity at any time (sampled every few ms), and the
asyncio tasks left on the skill's loop after the replies (only the maintenance task ``keep_fresh``), and the
longest stalls of the skill's event loop during each run (``LoopLag``: its own part, p99 and max; fits and scans
run in the engine's compute threads, so the loop only waits for I/O).
Exit status 0; checks that fail are marked MISSED.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_END, Timing, environment, fmt_ms, table, verdict  # noqa: E402

APP_NAME = "skill-enms-performance"
DATABASE = "bench_load"
DAYS = 400
POOL_MAX = 8
ANALYZE, SUMMARY, HEALTH = "enms.performance.analyze", "enms.performance.summary", "enms.performance.health"
SEUS = [("Compressor-1", None), ("HVAC-Main", None), ("Conveyor-A", None), ("Hydraulic-Pump-1", None),
        ("Injection-Molding-1", None), ("Boiler-1", "electricity"), ("Boiler-1", "natural_gas"),
        ("Boiler-1", "steam"), ("Compressor-EU-1", None), ("HVAC-EU-North", None)]
TODAY = BENCH_END.date()  # 2025-11-06 in San Jose and Munich at 21:00 UTC


@dataclasses.dataclass
class Req:
    kind: str
    data: dict
    expect: str  # "ok" or the error code an invalid request must get
    label: str


def request_mix(n: int, seed: int) -> list[Req]:
    """About 45 % analyses, 15 % summaries, 10 % health, 30 % invalid requests, shuffled."""
    rng = random.Random(seed)
    days = [TODAY - dt.timedelta(days=k) for k in range(0, 45)]
    out: list[Req] = []
    for i in range(n):
        pick = i % 20
        if pick < 9:
            seu, source = rng.choice(SEUS)
            day = rng.choice(days)
            data: dict[str, Any] = {"seu_name": seu, "analysis_date": day.isoformat()}
            if source:
                data["energy_source"] = source
            out.append(Req(ANALYZE, data, "ok", "analyze"))
        elif pick < 12:
            start = rng.choice(days[7:])
            options = [{"analysis_date": rng.choice(days).isoformat()},
                       {"machine_type": rng.choice(["compressor", "hvac", "boiler"]),
                        "analysis_date": rng.choice(days).isoformat()},
                       {"factory": rng.choice(["Munich", "San Jose"])},
                       {"period": {"start": start.isoformat(), "end": (start + dt.timedelta(days=6)).isoformat()}}]
            out.append(Req(SUMMARY, rng.choice(options), "ok", "summary"))
        elif pick < 14:
            out.append(Req(HEALTH, {}, "ok", "health"))
        else:
            out.append(rng.choice([
                Req(ANALYZE, {"seu_name": rng.choice(["Compressor-3", "Toaster", "'; DROP TABLE seus; --"])},
                    "unknown_seu", "invalid: unknown SEU"),
                Req(ANALYZE, {"seu_name": "Compressor-1", "analysis_date": "2031-01-01"}, "future_date",
                    "invalid: future date"),
                Req(ANALYZE, {"seu_name": "Compressor-1", "analysis_date": "2025-02-30"}, "invalid_request",
                    "invalid: impossible date"),
                Req(ANALYZE, {}, "invalid_request", "invalid: missing seu_name"),
                Req(ANALYZE, {"seu_name": 42}, "invalid_request", "invalid: wrong type"),
                Req(ANALYZE, {"seu_name": "Boiler-1"}, "ambiguous_seu", "invalid: ambiguous SEU"),
                Req(ANALYZE, {"seu_name": "Compressor-1", "energy_source": "steam"}, "unknown_energy_source",
                    "invalid: energy source"),
                Req(SUMMARY, {"period": {"start": "2025-11-05", "end": "2025-10-01"}}, "invalid_request",
                    "invalid: period"),
                Req(SUMMARY, {"machine_type": "toaster"}, "invalid_request", "invalid: machine type"),
            ]))
    rng.shuffle(out)
    return out


def essence(kind: str, reply: dict) -> Any:
    """What must be the same whichever way a request was sent (no timings, no random phrasing)."""
    if "error" in reply:
        return ("error", reply["error"].get("code"))
    if kind == ANALYZE:
        return tuple(reply.get(k) for k in ("seu_name", "energy_source", "date", "actual_energy_kwh",
                                            "baseline_energy_kwh", "deviation_percent", "iso50001_status",
                                            "significant"))
    if kind == SUMMARY:
        return (tuple((i["seu_name"], i["energy_source"], i["deviation_kwh"]) for i in reply.get("items", [])),
                reply.get("total_deviation_kwh"))
    return (reply.get("database_reachable"), reply.get("mode"), reply.get("seu_count"),
            tuple((m["seu_name"], m.get("method"), m.get("valid")) for m in reply.get("models", [])))


# --- plumbing --------------------------------------------------------------------------------
class Replies:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.got: dict[str, list[tuple[float, dict]]] = collections.defaultdict(list)

    def on_reply(self, message: Any) -> None:
        fid = (message.context or {}).get("load_id")
        if fid is None:
            return
        now = time.perf_counter()
        with self.cond:
            self.got[fid].append((now, message.data))
            self.cond.notify_all()

    def wait(self, ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while any(not self.got.get(i) for i in ids):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.5))
        return True


class ConnectionWatch:
    """Samples pg_stat_activity for the skill's connections on a thread of its own."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.max_seen = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="conn-watch", daemon=True)

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            while not self._stop.is_set():
                n = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
                                        "AND datname = $2", APP_NAME, DATABASE)
                self.max_seen = max(self.max_seen, int(n))
                self.samples += 1
                await asyncio.sleep(0.003)
        finally:
            await conn.close()

    def __enter__(self) -> "ConnectionWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


async def _connections_by_state(admin_dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch("SELECT coalesce(state, '?') AS state, count(*) AS n FROM pg_stat_activity "
                                "WHERE application_name = $1 AND datname = $2 GROUP BY 1", APP_NAME, DATABASE)
        return {r["state"]: int(r["n"]) for r in rows}
    finally:
        await conn.close()


def loop_tasks(skill: Any) -> list[str]:
    """The tasks alive on the skill's event loop (besides the one asking)."""
    async def names() -> list[str]:
        me = asyncio.current_task()
        return sorted(getattr(t.get_coro(), "__qualname__", repr(t.get_coro())) for t in asyncio.all_tasks() if t is not me)

    return skill._loop.run(names(), timeout=5.0)  # noqa: SLF001 - the skill's own loop thread


@dataclasses.dataclass
class RunResult:
    label: str
    timing: Timing
    wall_s: float
    replies: dict[str, list[tuple[float, dict]]]
    ids: list[str]
    max_connections: int
    samples: int
    tasks_after: list[str]
    connections_after: dict[str, int]
    stall_p99_ms: float = 0.0
    stall_max_ms: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.ids) / self.wall_s if self.wall_s > 0 else float("nan")


def run_mix(session: Any, admin_dsn: str, mix: list[Req], *, concurrent: bool, label: str,
            timeout: float) -> RunResult:
    from ovos_bus_client.message import Message

    from skill_enms_performance.runtime import LoopLag

    bus = session.croft.bus
    replies = Replies()
    for kind in (ANALYZE, SUMMARY, HEALTH):
        bus.on(f"{kind}.response", replies.on_reply)
    ids = [uuid.uuid4().hex for _ in mix]
    sent_at: dict[str, float] = {}
    try:
        with ConnectionWatch(admin_dsn) as watch, LoopLag(session.skill._loop) as lag:  # noqa: SLF001
            time.sleep(0.05)
            t0 = time.perf_counter()
            for fid, req in zip(ids, mix, strict=True):
                sent_at[fid] = time.perf_counter()
                bus.emit(Message(req.kind, dict(req.data), {"load_id": fid}))
                if not concurrent:
                    replies.wait([fid], timeout)
            replies.wait(ids, timeout)
            wall = time.perf_counter() - t0
            time.sleep(0.3)  # duplicates, if any, and done-callbacks settle
        tasks = loop_tasks(session.skill)
        after = asyncio.run(_connections_by_state(admin_dsn))
    finally:
        for kind in (ANALYZE, SUMMARY, HEALTH):
            bus.remove(f"{kind}.response", replies.on_reply)
    got = {fid: list(replies.got.get(fid, [])) for fid in ids}
    samples = [(got[fid][0][0] - sent_at[fid]) * 1000.0 for fid in ids if got[fid]]
    return RunResult(label, Timing(label, samples), wall, got, ids, watch.max_seen, watch.samples, tasks, after,
                     lag.quantile(0.99) * 1000, lag.worst() * 1000)


def clear_caches(skill: Any) -> None:
    engine = skill._engine  # noqa: SLF001 - benchmark: cold caches on purpose

    async def clear() -> None:
        for name in ("_models", "_series", "_data", "_rates", "_left_out"):  # every per-question cache
            cache = getattr(engine, name, None)
            if isinstance(cache, dict):
                cache.clear()

    skill._loop.run(clear(), timeout=5.0)  # noqa: SLF001


# --- main ------------------------------------------------------------------------------------
async def load_plant(admin_dsn: str, dsn: str) -> tuple[float, int]:
    from skill_enms_performance.demo import generator

    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')  # a constant name
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn)
    try:
        t0 = time.perf_counter()
        await generator.load_reference_plant(conn, end=BENCH_END, days=DAYS, resolution_minutes=15)
        return time.perf_counter() - t0, int(await conn.fetchval("SELECT count(*) FROM energy_readings"))
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=50001)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for all replies of a run")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="enms-bench-load-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(root / var.lower())  # OVOS settings, padatious cache and logs stay in here
    from ovos_utils.log import LOG

    from skill_enms_performance.harness import AskSession
    from skill_enms_performance.demo.embedded import server_dsn, start_server

    LOG.set_level("ERROR")
    print(environment())
    server = start_server(root / "pgdata", cleanup_mode="delete")
    session = None
    try:
        admin_dsn = server_dsn(server, "postgres")
        dsn = server_dsn(server, DATABASE)
        load_s, readings = asyncio.run(load_plant(admin_dsn, dsn))
        print(f"reference plant: {DAYS} days at 15 min up to {BENCH_END.isoformat()}, {readings:,} readings, "
              f"loaded in {load_s:.1f} s")
        os.environ["ENMS_DSN"] = dsn
        os.environ["ENMS_NOW"] = BENCH_END.isoformat()
        t0 = time.perf_counter()
        session = AskSession("en-us", ready_timeout=600.0)
        print(f"skill on MiniCroft ready (incl. first rollup build) in {time.perf_counter() - t0:.1f} s; "
              f"pool_max_size {session.skill.settings.get('pool_max_size')}, "
              f"bus_timeout_s {session.skill.settings.get('bus_timeout_s')}, "
              f"bus_concurrency {session.skill.settings.get('bus_concurrency')}")
        mix = request_mix(args.requests, args.seed)
        print("mix: " + ", ".join(f"{n} {k}" for k, n in collections.Counter(r.label for r in mix).most_common()))

        runs: list[RunResult] = []
        for cache in ("cold", "warm"):
            for concurrent in (False, True):
                if cache == "cold":
                    clear_caches(session.skill)
                label = f"{cache} {'concurrent' if concurrent else 'sequential'}"
                runs.append(run_mix(session, admin_dsn, mix, concurrent=concurrent, label=label,
                                    timeout=args.timeout))
                engine = session.skill._engine  # noqa: SLF001 - what the caches held after the run
                print(f"after {label}: rollup generation {engine._generation}, cached series {len(engine._series)}, "  # noqa: SLF001
                      f"models {len(engine._models)} (cache size {engine.settings.model_cache_size})")  # noqa: SLF001
        report(mix, runs, args)
    finally:
        if session is not None:
            session.close()
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    return 0


def _first_difference(want: Any, got: Any) -> str:
    if isinstance(want, tuple) and isinstance(got, tuple) and len(want) == len(got):
        for a, b in zip(want, got, strict=True):
            if a != b:
                return _first_difference(a, b)
    return f"{want!r} -> {got!r}"[:160]


def report(mix: list[Req], runs: list[RunResult], args: argparse.Namespace) -> None:
    reference = runs[0]
    ref_essence = {i: essence(req.kind, reference.replies[fid][0][1]) if reference.replies[fid] else None
                   for i, (fid, req) in enumerate(zip(reference.ids, mix, strict=True))}
    rows, checks, figures = [], [], {}
    for run in runs:
        answered = sum(1 for fid in run.ids if len(run.replies[fid]) == 1)
        duplicated = sum(1 for fid in run.ids if len(run.replies[fid]) > 1)
        codes: collections.Counter = collections.Counter()
        wrong_kind, differs = [], []
        for i, (fid, req) in enumerate(zip(run.ids, mix, strict=True)):
            if not run.replies[fid]:
                continue
            reply = run.replies[fid][0][1]
            code = reply["error"]["code"] if "error" in reply else "ok"
            codes[code] += 1
            if code != req.expect:
                wrong_kind.append(f"{req.label} {req.data} -> {code}: {reply.get('error', {}).get('message', '')[:80]}")
            got = essence(req.kind, reply)
            if got != ref_essence[i]:
                differs.append(f"{req.label} {req.data}: {_first_difference(ref_essence[i], got)}")
        extra_tasks = [t for t in run.tasks_after if "keep_fresh" not in t]
        rows.append([run.label, run.timing.n, fmt_ms(run.timing.p50), fmt_ms(run.timing.p95), fmt_ms(run.timing.p99),
                     fmt_ms(run.timing.max), f"{run.wall_s:.2f} s", f"{run.throughput:.1f}/s",
                     f"{run.max_connections} ({run.samples} samples)", len(run.tasks_after),
                     f"{run.stall_p99_ms:.0f} / {run.stall_max_ms:.0f} ms",
                     " ".join(f"{c}:{n}" for c, n in codes.most_common())])
        checks += [
            [f"{run.label}: every request answered exactly once", f"{answered}/{len(mix)}, {duplicated} duplicated",
             verdict(answered == len(mix) and duplicated == 0)],
            [f"{run.label}: expected outcome (ok / error code)", f"{len(mix) - len(wrong_kind)}/{len(mix)}",
             verdict(not wrong_kind)],
            [f"{run.label}: same answers as cold sequential", f"{len(mix) - len(differs)}/{len(mix)}",
             verdict(not differs)],
            [f"{run.label}: max connections <= pool_max_size {POOL_MAX}", str(run.max_connections),
             verdict(0 < run.max_connections <= POOL_MAX)],
            [f"{run.label}: tasks left on the loop (keep_fresh only)",
             ", ".join(run.tasks_after) or "none", verdict(not extra_tasks)],
            [f"{run.label}: connections after the run (pool, idle)",
             ", ".join(f"{k}:{v}" for k, v in sorted(run.connections_after.items())) or "none",
             verdict(sum(run.connections_after.values()) <= POOL_MAX
                     and set(run.connections_after) <= {"idle"})],
        ]
        for line in (wrong_kind[:5] + [f"differs: {d}" for d in differs[:5]]):
            checks.append(["    " + line[:200], "", ""])
        figures[run.label] = {"n": run.timing.n, "p50_ms": run.timing.p50, "p95_ms": run.timing.p95,
                              "p99_ms": run.timing.p99, "max_ms": run.timing.max, "wall_s": run.wall_s,
                              "throughput_per_s": run.throughput, "max_connections": run.max_connections,
                              "tasks_after": run.tasks_after, "codes": dict(codes), "answered": answered,
                              "unexpected": len(wrong_kind), "differs": len(differs),
                              "loop_stall_p99_ms": run.stall_p99_ms, "loop_stall_max_ms": run.stall_max_ms}
    print()
    print(table(["run", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "wall", "throughput", "max conns",
                 "tasks", "loop stall p99/max", "replies"], rows, title=f"{len(mix)} bus requests (emit -> reply), seed {args.seed}"))
    ratios = []
    for cache in ("cold", "warm"):
        seq, con = (next(r for r in runs if r.label == f"{cache} {m}") for m in ("sequential", "concurrent"))
        ratio = con.throughput / seq.throughput
        figures[f"{cache} ratio concurrent/sequential"] = ratio
        ratios.append([f"{cache}: throughput concurrent / sequential", f"{ratio:.2f}x",
                       f"p99 concurrent {fmt_ms(con.timing.p99)} vs sequential {fmt_ms(seq.timing.p99)} (ms unless marked s)"])
    print()
    print(table(["reference design: the same requests one at a time", "ratio", "note"], ratios))
    print()
    print(table(["check", "observed", "verdict"], checks))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    sys.exit(main())
