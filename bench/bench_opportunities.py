"""Opportunities over all SEUs for a quarter, warm, against a raw-readings scan in the same run.

    .venv/bin/python bench/bench_opportunities.py            # 15-minute and 1-minute databases
    .venv/bin/python bench/bench_opportunities.py --quick    # 15-minute database only

The engine reads its hourly/daily rollups. The reference is what a scan without rollups has to do
for the same question: aggregate every raw reading of the quarter per machine and hour (the input of
the idle and off-hours detectors) and per machine and day (the input of the residual detector).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fmt_ms, table, time_async, verdict  # noqa: E402

from skill_enms_performance.engine import Engine, EngineSettings  # noqa: E402

REF_HOURLY_SQL = """
SELECT machine_id, energy_type, date_trunc('hour', time) AS hour, sum(energy_kwh), max(power_kw), count(*)
FROM energy_readings WHERE time >= $1 AND time < $2
GROUP BY 1, 2, 3
"""
REF_DAILY_SQL = """
SELECT machine_id, energy_type, date_trunc('day', time) AS day, sum(energy_kwh)
FROM energy_readings WHERE time >= $1::timestamptz - interval '365 days' AND time < $2
GROUP BY 1, 2, 3
"""


async def bench(db: common.BenchDb, runs: int) -> list[list[str]]:
    engine = Engine(db.dsn, EngineSettings(statement_timeout_s=1800.0, rollup_refresh_s=3600.0),
                    clock=lambda: common.BENCH_END)
    try:
        await engine.warm_up()
        report = await engine.opportunities("quarter")
        ours = await time_async("opportunities, quarter, all SEUs (warm)", lambda i: engine.opportunities("quarter"),
                                warmup=1, runs=runs)
        cold_engine = Engine(db.dsn, EngineSettings(statement_timeout_s=1800.0, rollup_refresh_s=3600.0),
                             clock=lambda: common.BENCH_END)
        try:
            await cold_engine.warm_up()
            first = await time_async("opportunities, quarter, new engine (series reads + fits)",
                                     lambda i: cold_engine.opportunities("quarter"), warmup=0, runs=1)
        finally:
            await cold_engine.close()
    finally:
        await engine.close()
    end = common.BENCH_END.replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=91)
    conn = await asyncpg.connect(db.dsn)
    try:
        async def raw(_i: int) -> None:
            await conn.fetch(REF_HOURLY_SQL, start, end)
            await conn.fetch(REF_DAILY_SQL, start, end)

        ref = await time_async("reference: raw scan of the quarter (+ daily year)", raw, warmup=1,
                               runs=max(2, runs // 10))
    finally:
        await conn.close()
    found = ", ".join(f"{o.seu_name} {o.details['kind']} from {o.start_date}" for o in report.opportunities)
    print(f"{db.name}: {len(report.opportunities)} opportunities: {found}")
    ratio = ref.p50 / ours.p50 if ours.p50 > 0 else float("nan")
    return [[db.name, ours.label, ours.n, fmt_ms(ours.p50), fmt_ms(ours.p95), fmt_ms(ours.p99),
             "p50<=200", verdict(ours.p50 <= 200)],
            [db.name, first.label, first.n, fmt_ms(first.p50), "", "", "", ""],
            [db.name, ref.label, ref.n, fmt_ms(ref.p50), fmt_ms(ref.p95), fmt_ms(ref.p99), "", ""],
            [db.name, "ratio reference / engine (p50)", "", f"{ratio:.0f}x", "", "", "", ""]]


async def main_async(quick: bool) -> None:
    print(f"bench_opportunities ({'quick' if quick else 'full'}): {common.environment()}")
    rows = []
    for resolution in ([15] if quick else [15, 1]):
        db = await common.ensure_db(resolution)
        rows += await bench(db, 10 if quick else 40)
    print(table(["database", "measure (ms)", "n", "p50", "p95", "p99", "goal", ""], rows))
    print(f"end: {common.environment()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    asyncio.run(main_async(parser.parse_args().quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
