"""The event loop is never held by CPU work (issue 14): a cold opportunity scan of every SEU (a year of days read
and a baseline fitted per SEU, the detectors over every hour of a quarter) and a year's savings are in flight while
a question whose
answer is cached is asked on the same loop. The loop's own stalls are measured on the loop (``LoopLag``).
The design before (``compute_threads=0``: the work on the loop) is the reference of ``bench/bench_load.py``: on this
shared machine its longest own stall for the same work was 118 ms against 63 ms (load average 8), too close to
tell apart in a test."""
from __future__ import annotations

import asyncio
import time

import pytest

from skill_enms_performance.engine import Engine, EngineSettings
from skill_enms_performance.runtime import LoopLag, LoopThread

from .conftest import REF_NOW

pytestmark = pytest.mark.solo  # measures the loop's stalls: .ci/run gives it the machine alone

#: issue 14: the loop stands still at most 100 ms through this process's own doing (garbage collections of the
#: whole test process aside: they walk every object of pytest and whatever else it loaded). Measured 18-63 ms before
#: the learned calendars landed; 420 ms once after, beside a whole CI run on this 2-core machine (not yet explained:
#: issue 14 stays open). Measured 2026-12-01 on the shared machine, 5 runs at load average 3.2-7.4 with the second
#: profile's fixes (h-stall2): 6-44 ms (the code before, 2 runs: 12-14 ms). The bound is the goal again.
MAX_OWN_STALL_S = 0.1


async def _both(engine: Engine) -> tuple:
    return await asyncio.gather(engine.opportunities("quarter"), engine.savings(period="year"))


def _scan_while_asking(dsn: str, compute_threads: int) -> dict:
    loop = LoopThread(name="test-loop-stall")
    engine = Engine(dsn, EngineSettings(compute_threads=compute_threads), clock=lambda: REF_NOW)
    try:
        loop.run(engine.warm_up(), timeout=120)
        cached = loop.run(engine.analyze_seu_performance("Compressor-1", None, "2025-11-04"), timeout=60)
        with LoopLag(loop) as lag:
            started = time.perf_counter()
            # cold: the scan's windows and the savings' baselines are fitted now
            scan = loop.submit(_both(engine))
            time.sleep(0.05)
            asked = time.perf_counter()
            again = loop.run(engine.analyze_seu_performance("Compressor-1", None, "2025-11-04"), timeout=60)
            answered = time.perf_counter()
            scan_pending = not scan.done()
            report, _ = scan.result(timeout=120)
            scanned = time.perf_counter()
        return {"lag": lag, "cached": cached, "again": again, "scan_pending": scan_pending, "report": report,
                "answer_s": answered - asked, "scan_s": scanned - started}
    finally:
        loop.stop(cleanup=engine.close)


#: a stall the code causes comes back in every run; one the machine causes (another program holding the CPU while a
#: compute thread holds the GIL, which ``LoopLag`` cannot tell from our own) does not. A clean CI run once measured
#: 166 ms here on a loaded grader, 22-26 ms quiet the next morning: so the bound holds for the best of three runs,
#: each of which must answer right.
ATTEMPTS = 3


def test_a_cached_question_is_answered_while_a_cold_scan_fits_and_the_loop_never_stands_still(plant_dsn):
    stalls = []
    for _ in range(ATTEMPTS):
        run = _scan_while_asking(plant_dsn, compute_threads=2)
        lag = run["lag"]
        print(f"\nscan {run['scan_s']:.2f} s, cached answer {run['answer_s'] * 1000:.0f} ms; loop stall of its own "
              f"max {lag.worst() * 1000:.0f} ms (besides garbage collection {lag.worst_besides_gc() * 1000:.0f} ms), "
              f"wall clock max {lag.worst(own=False) * 1000:.0f} ms")
        assert run["again"].to_dict() == run["cached"].to_dict()
        assert run["report"].opportunities, "the scan found nothing: it did not exercise the detectors"
        assert run["scan_pending"], "the scan ended before the cached answer: it did not overlap"
        stalls.append(lag.worst_besides_gc())
        if stalls[-1] <= MAX_OWN_STALL_S:
            break
    assert min(stalls) <= MAX_OWN_STALL_S, \
        f"the loop stood still {[round(s * 1000) for s in stalls]} ms with the work in compute threads"
