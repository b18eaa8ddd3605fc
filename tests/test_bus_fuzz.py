"""Bad input on the bus: >= 3,000 generated messages of every request type, every one answered exactly once with a
result or a structured error, never an internal error, never NaN/Infinity, invalid ones in at most 16 KB, the
skill's event loop never standing still, and the EnMS data untouched.

The messages go through the real skill on ovoscope's MiniCroft (the same module-scoped session as
``test_skill_e2e``). Hypothesis draws batches of messages; each batch is emitted at once (the skill
answers bus requests on its own event loop, so a batch runs concurrently) and every reply is matched
to its request by an id in ``message.context`` (``message.response()`` keeps the context).

Violations are collected over the whole run and reported together at the end (a shrunk single
example would hide the other kinds of failure); hypothesis therefore only generates (no shrinking).
A fixed batch of known-nasty messages (``ALWAYS``) goes first in every run.
"""
from __future__ import annotations

import collections
import gc
import datetime as dt
import json
import marshal
import math
import threading
import time
import uuid
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from ovos_bus_client.message import Message

from skill_enms_performance.runtime import LoopLag

from .conftest import _SANDBOX, REF_NOW, run

set_hypothesis_home_dir(str(_SANDBOX / "hypothesis"))  # its caches stay out of the checkout

pytestmark = [pytest.mark.e2e, pytest.mark.solo]

ANALYZE, SUMMARY, HEALTH = "enms.performance.analyze", "enms.performance.summary", "enms.performance.health"
OPPORTUNITIES, SAVINGS = "enms.performance.opportunities", "enms.performance.savings"
ACTION_PLAN = "enms.performance.action_plan"
KINDS = (ANALYZE, SUMMARY, HEALTH, OPPORTUNITIES, SAVINGS, ACTION_PLAN)
CORRELATION = "fuzz_id"

#: the error codes of the bus API (README); internal_error is a known code but never acceptable here
KNOWN_CODES = {"invalid_request", "unknown_seu", "ambiguous_seu", "unknown_energy_source", "no_data", "future_date",
               "insufficient_history", "database_unavailable", "database_preparing", "timeout", "internal_error",
               "no_opportunity", "busy", "read_only_database"}
#: the 14 fields of the seed's analysis result
SEED_FIELDS = {"seu_name", "energy_source", "date", "actual_energy_kwh", "baseline_energy_kwh", "deviation_kwh",
               "deviation_percent", "deviation_cost_usd", "efficiency_score", "root_cause_analysis",
               "recommendations", "iso50001_status", "voice_summary", "timestamp"}

REAL_SEUS = ("Compressor-1", "HVAC-Main", "Conveyor-A", "Hydraulic-Pump-1", "Injection-Molding-1", "Boiler-1",
             "Compressor-EU-1", "HVAC-EU-North")
SOURCES = ("electricity", "natural_gas", "steam", "compressed_air", "gas", "power", "Natural Gas", " STEAM ",
           "electric", "energy")
MACHINE_TYPES = ("compressor", "hvac", "motor", "pump", "injection_molding", "boiler", "Compressor", "conveyor")
FACTORIES = ("Munich", "San Jose", "Demo Manufacturing Plant", "European Production Facility", "munich")

NASTY = (
    "", " ", "\t\n", "\x00", "Compressor-1\x00", "\x00'; DROP TABLE seus; --",
    "'; DROP TABLE seus; --", "Compressor-1'; DELETE FROM energy_readings; --", "\" OR 1=1 --", "' OR '1'='1",
    "1; TRUNCATE energy_readings", "$1", "$$; DROP SCHEMA enms_perf CASCADE; $$", "%s%s%s%n", "{0}{seu}",
    "%(password)s", "\\", "\\x00", "../../../../etc/passwd", "${jndi:ldap://example.invalid/a}", "<script>x</script>",
    "NaN", "Infinity", "null", "None", "true", "[]", "{}", "🔥⚡🏭", "👩‍🔧 Compressor-1", "مضخة هيدروليكية",
    "\u202eCompressor-1\u202c", "\u200bCompressor-1", "ＣＯＭＰＲＥＳＳＯＲ－１", "Kompressor-1 ä ö ü ß", "שלום",
    "\ud7ff\ue000\uffff", "Compressor-1" * 30, "compressor\u00a0one",
)
ABSURD_DATES = (
    "0001-01-01", "0001-01-02", "0001-12-31", "0002-01-01", "1900-01-01", "1970-01-01", "9999-12-31", "9999-01-01",
    "2025-02-30", "2025-02-29", "2024-02-29", "2025-13-01", "2025-00-10", "2025-11-31", "2025-11-06T25:00",
    "2025-11-05T12:00:00+14:00", "2025-11-05; DROP TABLE seus", "20251105", "05/11/2025", "11/05/2025",
    "yesterday", "today", "last week", "-2025-11-05", "+2025-11-05", " 2025-11-05 ", "2025-11-05\x00", "２０２５-１１-０５",
    "٢٠٢٥-١١-٠٥", "2025-W45-3", "2025-310", "1e308", "NaN", "-1", "0", "", " ", "2025-11-06", "2025-11-07",
    "2026-01-01", "3000-01-01",
)


# --- strategies ---------------------------------------------------------------------------
def _huge(draw_char: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(draw_char, st.integers(1_000, 250_000)).map(lambda t: t[0] * t[1])


huge_strings = st.one_of(_huge(st.sampled_from("A9-'\x00🔥ש")), st.just("2025-11-05" * 20_000))
odd_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=30), huge_strings)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(2 ** 70), 2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.nan, math.inf, -math.inf]))
junk = st.recursive(st.one_of(scalars, odd_text),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                    max_leaves=6)


def _odd_spelling(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.lower(), name.upper(), name.swapcase(), name.replace("-", " "),
                            name.replace("-", ""), f"  {name}  ", name.replace("-", " - "), f"\t{name.lower()}\n",
                            name.replace("-", "\u2014"), name.replace("-", "_"), " ".join(name)])


real_seu = st.sampled_from(REAL_SEUS).flatmap(_odd_spelling)
unknown_seu = st.one_of(st.sampled_from(("Compressor-3", "Toaster", "HVAC-Mains", "Boiler-2", "Compressor-EU-2",
                                         "compressor three", "Conveyor-B")), odd_text)
seu_names = st.one_of(real_seu, real_seu, unknown_seu, junk)
sources = st.one_of(st.sampled_from(SOURCES), st.sampled_from(("water", "nuclear", "diesel", "")), odd_text, junk)
in_data = st.dates(dt.date(2023, 10, 25), REF_NOW.date()).map(dt.date.isoformat)
future = st.dates(REF_NOW.date() + dt.timedelta(days=1), dt.date(9999, 12, 31)).map(dt.date.isoformat)
long_ago = st.dates(dt.date(1, 1, 1), dt.date(2023, 10, 1)).map(dt.date.isoformat)
dates = st.one_of(in_data, in_data, future, long_ago, st.sampled_from(ABSURD_DATES), odd_text, junk)
langs = st.one_of(st.sampled_from(("en-us", "en-US", "en", "de-de", "EN-us")), st.sampled_from(("ar", "xx-yy", "")),
                  odd_text, junk)
periods = st.one_of(
    st.fixed_dictionaries({}, optional={"start": dates, "end": dates}),
    st.tuples(in_data, in_data).map(lambda t: {"start": min(t), "end": max(t)}),
    st.tuples(in_data, in_data).map(lambda t: {"start": max(t), "end": min(t)}),
    st.lists(dates, max_size=3), junk,
)


def _with_extra(base: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    """Occasionally unknown keys next to the known ones."""
    return st.tuples(base, st.dictionaries(st.text(max_size=8), junk, max_size=2)).map(lambda t: {**t[1], **t[0]})


#: "hostile": any field may be missing or any type; "plausible": a real SEU, odd values in one or two fields
hostile_analyze = _with_extra(st.fixed_dictionaries({}, optional={
    "seu_name": seu_names, "energy_source": sources, "analysis_date": dates, "lang": langs}))
plausible_analyze = st.fixed_dictionaries({"seu_name": real_seu}, optional={
    "energy_source": st.one_of(st.sampled_from(SOURCES), sources), "analysis_date": dates,
    "lang": st.one_of(st.sampled_from(("en-us", "de-de")), langs)})
hostile_summary = _with_extra(st.fixed_dictionaries({}, optional={
    "machine_type": st.one_of(st.sampled_from(MACHINE_TYPES), odd_text, junk),
    "factory": st.one_of(st.sampled_from(FACTORIES), odd_text, junk),
    "analysis_date": dates, "period": periods, "lang": langs}))
plausible_summary = st.one_of(
    st.fixed_dictionaries({}, optional={"machine_type": st.sampled_from(MACHINE_TYPES),
                                        "factory": st.sampled_from(FACTORIES), "analysis_date": dates}),
    st.fixed_dictionaries({"period": periods}, optional={"machine_type": st.sampled_from(MACHINE_TYPES)}))
health_data = st.one_of(st.just({}), st.dictionaries(st.text(max_size=8), junk, max_size=3))
period_words = st.one_of(st.sampled_from(("week", "month", "quarter", "year", "WEEK", " month ", "fortnight", "")),
                         periods)
hostile_opportunities = _with_extra(st.fixed_dictionaries({}, optional={
    "period": period_words, "factory": st.one_of(st.sampled_from(FACTORIES), odd_text, junk),
    "seu_name": seu_names, "lang": langs}))
plausible_opportunities = st.fixed_dictionaries({}, optional={
    "period": st.sampled_from(("week", "month")), "factory": st.sampled_from(FACTORIES),
    "seu_name": st.sampled_from(REAL_SEUS)})
hostile_savings = _with_extra(st.fixed_dictionaries({}, optional={
    "seu_name": seu_names, "period": period_words, "lang": langs}))
plausible_savings = st.fixed_dictionaries({}, optional={
    "seu_name": st.sampled_from(REAL_SEUS), "period": st.sampled_from(("week", "month", "quarter"))})
flags = st.one_of(st.sampled_from(("false", "no", "true", 0, 1, [False], {"x": 1}, None, False)), junk)


def _no_write(data: dict) -> dict:
    """This module shares the plant with others: a plan may be asked for, never saved."""
    return {**data, "save": False} if data.get("save") is True else data


hostile_plan = _with_extra(st.fixed_dictionaries({}, optional={
    "seu_name": seu_names, "issue_type": st.one_of(st.sampled_from(("excessive_idle", "equipment_degradation",
                                                                      "nonsense")), odd_text, junk),
    "save": flags, "status": st.one_of(st.sampled_from(("draft", "planned", "done", "")), odd_text, junk),
    "list": flags, "limit": st.one_of(st.integers(-5, 500), junk), "offset": st.one_of(st.integers(-5, 10 ** 9), junk),
    "lang": langs})).map(_no_write)
plausible_plan = st.one_of(st.fixed_dictionaries({"list": st.just(True)}, optional={
    "status": st.sampled_from(("planned", "in_progress")), "limit": st.integers(1, 100)}),
    st.fixed_dictionaries({"seu_name": st.sampled_from(("Compressor-1", "Compressor-EU-1", "HVAC-Main"))}))
messages = st.one_of(
    st.tuples(st.just(ANALYZE), plausible_analyze), st.tuples(st.just(ANALYZE), plausible_analyze),
    st.tuples(st.just(ANALYZE), hostile_analyze), st.tuples(st.just(ANALYZE), hostile_analyze),
    st.tuples(st.just(SUMMARY), plausible_summary), st.tuples(st.just(SUMMARY), hostile_summary),
    st.tuples(st.just(HEALTH), health_data),
    st.tuples(st.just(OPPORTUNITIES), plausible_opportunities), st.tuples(st.just(OPPORTUNITIES), hostile_opportunities),
    st.tuples(st.just(SAVINGS), plausible_savings), st.tuples(st.just(SAVINGS), hostile_savings),
    st.tuples(st.just(ACTION_PLAN), plausible_plan), st.tuples(st.just(ACTION_PLAN), hostile_plan),
    st.tuples(st.sampled_from(KINDS), st.one_of(st.none(), st.dictionaries(st.text(max_size=8), junk, max_size=3))),
)
batches = st.lists(messages, min_size=20, max_size=26)

#: sent in every run, before the random draw
ALWAYS = [
    (ANALYZE, {"seu_name": "Compressor-1", "analysis_date": "0001-01-01"}),
    (ANALYZE, {"seu_name": "HVAC-EU-North", "analysis_date": "0001-01-02"}),
    (ANALYZE, {"seu_name": "Compressor-1", "analysis_date": "9999-12-31"}),
    (ANALYZE, {"seu_name": "Compressor-1", "analysis_date": "2025-02-30"}),
    (ANALYZE, {"seu_name": "Compressor-1", "analysis_date": ""}),
    (ANALYZE, {"seu_name": "Compressor-1", "analysis_date": "9" * 100_000}),
    (ANALYZE, {"seu_name": "'; DROP TABLE seus; --"}),
    (ANALYZE, {"seu_name": "Compressor-1", "energy_source": "'; DROP TABLE seus; --"}),
    (ANALYZE, {"seu_name": "Compressor-1", "energy_source": "x" * 100_000}),
    (ANALYZE, {"seu_name": "compressor-1\x00", "lang": "xx-yy"}),
    (ANALYZE, {"seu_name": "🔥⚡", "analysis_date": "٢٠٢٥-١١-٠٥"}),
    (ANALYZE, {"seu_name": ["Compressor-1"], "analysis_date": 20251105}),
    (ANALYZE, {"seu_name": "Compressor-1", "analysis_date": math.nan}),
    (ANALYZE, {"seu_name": "Boiler-1", "energy_source": math.inf}),
    (ANALYZE, {"seu_name": "  hvac   main ", "analysis_date": "2025-10-20"}),
    (SUMMARY, {"analysis_date": "0001-01-01"}),
    (SUMMARY, {"period": {"start": "0001-01-01", "end": "0001-01-07"}}),
    (SUMMARY, {"period": {"start": "2025-11-05", "end": "9999-12-31"}}),
    (SUMMARY, {"period": {"start": "2025-11-01"}}),
    (SUMMARY, {"period": ["2025-10-01", "2025-10-07"]}),
    (SUMMARY, {"period": "2025-10"}),
    (SUMMARY, {"machine_type": "\u202ecompressor", "lang": "🔥"}),
    (SUMMARY, {"factory": "'; DROP TABLE factories; --"}),
    (SUMMARY, {"analysis_date": "2031-01-01"}),
    (SUMMARY, {"period": {"start": "2030-01-01", "end": "2030-01-07"}}),
    (HEALTH, {"junk": [None, math.nan, {"x": "\x00"}]}),
    (OPPORTUNITIES, {"factory": "M" * 100_000}),
    (OPPORTUNITIES, {"seu_name": "x" * 40_000, "period": "month"}),
    (OPPORTUNITIES, {"period": {"start": "2025-10-01", "end": "2025-10-31"}, "factory": "Munich"}),
    (SAVINGS, {"seu_name": "HVAC-Main", "period": "2025-11-18; DROP TABLE seus"}),
    (ACTION_PLAN, {"seu_name": "Compressor-EU-1", "save": "false"}),
    (ACTION_PLAN, {"seu_name": "Compressor-EU-1", "save": [False], "status": "draft"}),
    (ACTION_PLAN, {"list": "false"}),
    (ACTION_PLAN, {"list": True, "limit": 10 ** 12}),
]
EXAMPLES = 145         # x 20-26 messages (hypothesis favours the short end; 135 drew 2,956 once) = ~3,200
REPLY_TIMEOUT = 45.0   # bus_timeout_s is 10 s; a batch is answered well within this
MAX_REPLY_BYTES = 64_000  # the largest real reply (a fleet summary) is a few kB
MAX_REJECTION_BYTES = 16_384  # a reply to an invalid request, whatever it carried
#: the skill's loop sleeps 10 ms at a time through the run and must never stand still (a quadratic redaction held
#: it for 105 s; baseline fits and opportunity scans computed on the loop held it up to 0.9 s). What counts is the
#: part this process causes (``LoopLag.own_s``: not the time the system gives other programs). Issue 14's goal is
#: 100 ms at most. Measured 2026-12-01 with the work in compute threads, 3 runs on the shared 2-core machine at load
#: average 8-9: p99 19-24 ms, max 214-321 ms (garbage collection aside still up to 265 ms: GIL hand-overs to the
#: loop among the compute, bus and test threads, not yet explained further). So: p99 <= 50 ms, max <= 0.5 s.
#: Wall clock, everything counted: up to 1.9 s in the same runs, in which collections of the whole test process
#: (hypothesis, OVOS) took up to 1.9 s while the system ran other programs. After the learned calendars landed
#: (more work per baseline), one run beside another test run: p99 79 ms, max 333 ms; alone on the machine p99 137-177
#: ms, max 417-541 ms. A profile of the loop thread (py-spy) showed why: every holiday day built the country's holiday
#: calendar anew on the loop (16 s of a 270 s run), and the plant's correlated uncertainty was computed there. With
#: both fixed and the objects loaded at start frozen for the collector: p99 72 ms, max 236 ms. The p99 bound is the
#: issue's 100 ms; .ci/run runs this test alone (`solo`). A second profile (py-spy and a watchdog sampling the loop
#: while it was late) found the bus handler's language lookup (skill.lang digging through inspect.stack(): half the
#: process's CPU), a pool reset round trip after every query, tens of thousands of cached rows and day classes
#: walked by every full collection, and a quadratic peer scan of the calendar in the compute threads. With those
#: fixed, 5 runs on the shared machine at load average 3.3-7: p99 15-21 ms, max 82-132 ms, the run half as long
#: (the code before, 3 runs alternated with them: p99 16-26 ms, max 84-120 ms; the longest stall is not shorter, it
#: is load: full collections of this test process, mostly hypothesis's, and GIL hand-overs while the system runs
#: other programs). So the longest stall is held to 250 ms; the issue's 100 ms needs a machine of its own.
#: A watchdog sampling every thread while the loop was late then showed the longest one on a quiet machine (102 ms)
#: to be hypothesis building its character maps in this process, the client's work, not the skill's: they are
#: built before the loop is watched now. 3 runs at load average 1.3-1.6: p99 24-33 ms, max 64-100 ms, apart from
#: garbage collection at most 35-48 ms; the collections of the whole test process took up to 87-103 ms.
MAX_OWN_STALL_P99_S = 0.1
MAX_OWN_STALL_S = 0.25
MAX_WALL_STALL_S = 3.0


# --- the run -------------------------------------------------------------------------------
class Ledger:
    """Requests sent and replies received, by correlation id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[str, tuple[str, Any]] = {}
        self.replies: dict[str, list[dict]] = collections.defaultdict(list)
        self.arrived = threading.Condition(self.lock)
        self.violations: list[tuple[str, str, Any, Any]] = []
        self.codes: collections.Counter = collections.Counter()
        self.latency_ms: list[float] = []
        self.sent_at: dict[str, float] = {}

    def on_reply(self, message: Message) -> None:
        fid = (message.context or {}).get(CORRELATION)
        if fid is None:
            return
        try:  # kept as bytes: thousands of replies held as dicts were what the process' full collections walked
            kept: Any = marshal.dumps(message.data)
        except ValueError:  # a type marshal does not know: kept as it is, and judged as it is
            kept = message.data
        with self.arrived:
            self.replies[fid].append(kept)
            if fid in self.sent_at and len(self.replies[fid]) == 1:
                self.latency_ms.append((time.monotonic() - self.sent_at[fid]) * 1000)
            self.arrived.notify_all()

    def violation(self, what: str, kind: str, data: Any, reply: Any) -> None:
        self.violations.append((what, kind, data, reply))


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _check(ledger: Ledger, kind: str, data: Any, reply: dict) -> None:
    try:
        encoded = json.dumps(reply, allow_nan=False)
    except (TypeError, ValueError) as err:
        ledger.violation(f"reply not strict JSON ({type(err).__name__}: {err})", kind, data, reply)
        return
    if len(encoded) > MAX_REPLY_BYTES:  # an error echoing a 250 kB input back in full (and into the logs)
        ledger.violation(f"reply larger than {MAX_REPLY_BYTES // 1000} kB", kind, data, reply)
    if "error" in reply:
        error = reply["error"]
        if isinstance(error, dict) and error.get("code") == "invalid_request" and len(encoded) > MAX_REJECTION_BYTES:
            ledger.violation(f"rejection larger than {MAX_REJECTION_BYTES} bytes", kind, data, reply)
        if not isinstance(error, dict) or not isinstance(error.get("message"), str) or not error.get("message"):
            ledger.violation("malformed error", kind, data, reply)
            return
        code = error.get("code")
        ledger.codes[(kind, code)] += 1
        if code not in KNOWN_CODES:
            ledger.violation(f"unknown error code {code!r}", kind, data, reply)
        elif code == "internal_error":
            ledger.violation(f"internal_error: {error.get('message')}", kind, data, reply)
        elif kind == ANALYZE:
            name = (data or {}).get("seu_name")
            if (not isinstance(name, str) or not name.strip()) and code != "invalid_request":
                ledger.violation(f"missing/non-string seu_name answered {code!r}", kind, data, reply)
        return
    ledger.codes[(kind, "ok")] += 1
    if kind == ANALYZE:
        missing = SEED_FIELDS - set(reply)
        if missing:
            ledger.violation(f"analysis lacks {sorted(missing)}", kind, data, reply)
        elif reply["seu_name"] not in REAL_SEUS:
            ledger.violation("analysis of an SEU that does not exist", kind, data, reply)
    elif kind == SUMMARY:
        if not isinstance(reply.get("items"), list):
            ledger.violation("summary without items", kind, data, reply)
        elif not reply["items"] and reply.get("errors"):  # every SEU failed, e.g. a day in the future
            codes = sorted({e.get("code") for e in reply["errors"]})
            ledger.violation(f"empty summary instead of an error ({', '.join(codes)})", kind, data,
                             {"items": [], "errors": reply["errors"][:1], "voice_summary": reply.get("voice_summary")})
    elif kind == HEALTH and reply.get("database_reachable") is not True:
        ledger.violation("health without database_reachable", kind, data, reply)
    elif kind in (OPPORTUNITIES, SAVINGS) and not isinstance(reply.get("period"), dict):
        ledger.violation("report without its period", kind, data, reply)
    elif kind == ACTION_PLAN and not ("plans" in reply or "seu_name" in reply):
        ledger.violation("neither a plan nor a list of plans", kind, data, reply)


@pytest.fixture(scope="module")
def session(skill_session):
    return skill_session


async def _enms_fingerprint(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            "seus": await conn.fetchval("SELECT count(*) FROM seus"),
            "seu_names": await conn.fetchval("SELECT md5(string_agg(name, ',' ORDER BY id)) FROM seus"),
            "energy_readings": await conn.fetchval("SELECT count(*) FROM energy_readings"),
            "energy_kwh": await conn.fetchval("SELECT sum(energy_kwh) FROM energy_readings"),
            "tables": await conn.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"),
        }
    finally:
        await conn.close()


def test_bus_survives_3000_generated_messages(session, plant_dsn):
    before = run(_enms_fingerprint(plant_dsn))
    assert before["seus"] == 10
    ledger = Ledger()
    bus = session.croft.bus
    for kind in KINDS:
        bus.on(f"{kind}.response", ledger.on_reply)
    # The hostile client is another program on a device, not part of the skill's process. Its messages are drawn
    # before the loop is watched, and what drawing them left in this process (hypothesis' character maps and its
    # tree of every example drawn, about 100,000 objects by the end of a run) is frozen for the garbage collector:
    # otherwise every full collection of this process walks the client's objects, and the skill's loop, like every
    # thread here, stands still meanwhile (87-103 ms on a quiet machine, of which the skill's own objects are
    # a small part). The skill itself freezes what it loaded at start (``freeze_startup_objects``).
    drawn: list[list] = [list(ALWAYS)]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(batch=batches)
    def draw(batch):
        drawn.append(batch)

    draw()
    gc.collect()
    gc.freeze()
    started = time.monotonic()
    lag = LoopLag(session.skill._loop).start()

    def send_batch(batch):
        ids = []
        for kind, data in batch:
            fid = uuid.uuid4().hex
            with ledger.lock:
                ledger.sent[fid] = (kind, data)
                ledger.sent_at[fid] = time.monotonic()
            ids.append(fid)
            bus.emit(Message(kind, data, {CORRELATION: fid}))
        deadline = time.monotonic() + REPLY_TIMEOUT
        with ledger.arrived:
            while any(not ledger.replies.get(fid) for fid in ids) and time.monotonic() < deadline:
                ledger.arrived.wait(0.5)

    try:
        for batch in drawn:
            send_batch(batch)
        time.sleep(1.0)  # late duplicates, if any, arrive now
    finally:
        lag.stop()
        for kind in KINDS:
            bus.remove(f"{kind}.response", ledger.on_reply)

    with ledger.lock:
        sent = dict(ledger.sent)
        replies = {k: [marshal.loads(r) if isinstance(r, bytes) else r for r in v]  # noqa: S302 - our own replies
                   for k, v in ledger.replies.items()}
    for fid, (kind, data) in sent.items():
        got = replies.get(fid, [])
        if len(got) != 1:
            ledger.violation(f"{len(got)} replies", kind, data, got[:2])
        for reply in got[:1]:
            _check(ledger, kind, data, reply)
    strays = set(replies) - set(sent)

    elapsed = time.monotonic() - started
    lat = sorted(ledger.latency_ms)
    print(f"\n{len(sent)} messages in {elapsed:.1f} s; reply latency p50 {lat[len(lat) // 2]:.0f} ms, "
          f"p99 {lat[int(len(lat) * 0.99)]:.0f} ms, max {lat[-1]:.0f} ms; loop stall of its own p99 {lag.quantile(0.99) * 1000:.0f} ms, "
          f"max {lag.worst() * 1000:.0f} ms (wall clock p99 {lag.quantile(0.99, own=False) * 1000:.0f} ms, "
          f"max {lag.worst(own=False) * 1000:.0f} ms); besides garbage collection max "
          f"{lag.worst_besides_gc() * 1000:.0f} ms, collection at most {max(lag.gc_s) * 1000:.0f} ms")
    for (kind, code), n in sorted(ledger.codes.items(), key=lambda kv: (kv[0][0], -kv[1])):
        print(f"  {kind.rsplit('.', 1)[1]:8s} {code:22s} {n}")

    grouped: dict[str, list] = collections.defaultdict(list)
    for what, kind, data, reply in ledger.violations:
        grouped[f"{kind.rsplit('.', 1)[1]}: {what}"].append((data, reply))
    report = "\n".join(f"{len(cases)} x {what}\n    e.g. data={_short(cases[0][0])}\n    reply={_short(cases[0][1])}"
                       for what, cases in sorted(grouped.items(), key=lambda kv: -len(kv[1])))

    after = run(_enms_fingerprint(plant_dsn))
    assert len(sent) >= 3000, f"only {len(sent)} messages generated"
    assert {kind for kind, _ in sent.values()} == set(KINDS)
    assert lag.quantile(0.99) <= MAX_OWN_STALL_P99_S, f"loop stall p99 {lag.quantile(0.99) * 1000:.0f} ms"
    assert lag.worst() <= MAX_OWN_STALL_S, f"the skill's event loop stood still {lag.worst() * 1000:.0f} ms"
    assert lag.worst(own=False) < MAX_WALL_STALL_S, f"the loop stood still {lag.worst(own=False):.1f} s (wall clock)"
    assert not strays, f"replies to messages never sent: {len(strays)}"
    assert after == before, f"EnMS data changed: {before} -> {after}"
    assert not ledger.violations, f"{len(ledger.violations)} of {len(sent)} messages mishandled:\n{report}"
