"""Hostile requests: one validation at the boundary, bounded replies, plans that don't pile up, a read-only role.

The schema tests are pure (thousands of hypothesis-drawn requests in a few seconds); the bus tests go through the
real skill on MiniCroft with a private copy of the reference plant (plans are written).
"""
from __future__ import annotations

import json
import threading
import time
import uuid

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from skill_enms_performance.engine.errors import InvalidRequestError
from skill_enms_performance.engine.models import PLAN_STATUSES
from skill_enms_performance.runtime import LoopLag
from skill_enms_performance.store import redact_dsn, rollup_sql
from skill_enms_performance.validation import NAME_MAX_CHARS, SCHEMAS, validate

from .conftest import _SANDBOX, run
from .test_security import bus_call, make_role, skill_session  # noqa: F401 - make_role is a fixture

set_hypothesis_home_dir(str(_SANDBOX / "hypothesis"))

#: a reply to an invalid request stays this small whatever it was sent
MAX_REJECTION_BYTES = 16 * 1024

FIELDS = ("seu_name", "energy_source", "analysis_date", "machine_type", "factory", "period", "list", "save",
          "status", "issue_type", "limit", "offset", "lang")
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "2026-11-18; DROP TABLE seus", "2026-11-20T25:00", "2025-02-30", "false",
                     "no", "0", "draft", "WEEK", "Compressor-1", "a" * 100_000, "2025-11-05" + "x" * 50_000]),
    st.lists(st.booleans(), max_size=2), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.fixed_dictionaries({"start": st.text(max_size=12), "end": st.text(max_size=12)}),
)


@settings(max_examples=3000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(op=st.sampled_from(sorted(SCHEMAS)), data=st.dictionaries(st.sampled_from(FIELDS), JUNK, max_size=6))
def test_any_request_is_accepted_or_rejected_with_a_short_reason(op, data):
    try:
        request = validate(op, data)
    except InvalidRequestError as err:
        reply = json.dumps({"error": err.to_dict()})
        assert len(reply) < 1024, reply[:200]
        for value in data.values():  # the input is never echoed (beyond words of our own)
            if isinstance(value, str) and len(value) > 20:
                assert value not in reply
        return
    # what passes is typed: real booleans, bounded names, days as dates
    for name in ("seu_name", "energy_source", "machine_type", "factory"):
        value = getattr(request, name, None)
        assert value is None or (isinstance(value, str) and 1 <= len(value) <= NAME_MAX_CHARS)
    for name in ("list", "save"):
        assert getattr(request, name, False) in (True, False)


@pytest.mark.parametrize("op,data,field", [
    ("analyze", {"seu_name": "Compressor-1", "analysis_date": "2026-11-18; DROP TABLE seus"}, "analysis_date"),
    ("analyze", {"seu_name": "Compressor-1", "analysis_date": "2026-11-20T25:00"}, "analysis_date"),
    ("analyze", {"seu_name": "Compressor-1", "analysis_date": "2025-11-05" + "x" * 100_000}, "analysis_date"),
    ("analyze", {"seu_name": "Compressor-1", "analysis_date": "2025-02-30"}, "analysis_date"),
    ("analyze", {"seu_name": "x" * (NAME_MAX_CHARS + 1)}, "seu_name"),
    ("analyze", {"seu_name": "Compressor-1\x00"}, "seu_name"),
    ("opportunities", {"factory": "M" * 100_000}, "factory"),
    ("summary", {"period": {"start": "2025-03-01", "end": "2025-02-01"}}, "period"),
    ("summary", {"period": "fortnight"}, "period"),
    ("action_plan", {"seu_name": "Compressor-1", "save": "false"}, "save"),
    ("action_plan", {"seu_name": "Compressor-1", "save": "no"}, "save"),
    ("action_plan", {"seu_name": "Compressor-1", "save": [False]}, "save"),
    ("action_plan", {"seu_name": "Compressor-1", "save": {"x": 1}}, "save"),
    ("action_plan", {"seu_name": "Compressor-1", "save": 1}, "save"),
    ("action_plan", {"list": "false"}, "list"),
    ("action_plan", {"seu_name": "Compressor-1", "save": True, "status": "draft"}, "status"),
    ("action_plan", {"list": True, "limit": 10_000}, "limit"),
])
def test_known_bad_requests_are_rejected_naming_the_field(op, data, field):
    with pytest.raises(InvalidRequestError) as caught:
        validate(op, data)
    assert caught.value.facts["fields"] == [field]
    assert len(caught.value.message) < 300


def test_plan_statuses_are_the_tables():
    """The engine's list of statuses and the table's CHECK constraint are one list."""
    check = rollup_sql().split("status IN (", 1)[1].split(")", 1)[0]
    assert tuple(s.strip().strip("'") for s in check.split(",")) == PLAN_STATUSES


@pytest.mark.parametrize("text", ["a" * 200_000, "x://" * 50_000, "password=" * 30_000, "postgresql://" * 20_000,
                                  ("a" * 100_000) + "://" + ("b" * 100_000) + "@"])
def test_redaction_is_linear(text):
    """Each of these took minutes with the old expression (quadratic); linear, each is a few milliseconds.
    The bound is loose on purpose (shared machines): it only separates linear from quadratic."""
    started = time.perf_counter()
    redact_dsn(text)
    assert time.perf_counter() - started < 1.0


def test_redaction_still_hides_passwords():
    text = "postgresql://bob:s3cr3t-pw@db:5432/enms and password='hunter22' and host=x password=topsecret&y"
    redacted = redact_dsn(text)
    assert "s3cr3t-pw" not in redacted and "hunter22" not in redacted and "topsecret" not in redacted
    assert "postgresql://bob:***@db:5432/enms" in redacted


# --- through the bus ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile_session(admin_dsn, plant_template):
    from .conftest import _create_db, _drop_db, with_database

    name = f"h_{uuid.uuid4().hex[:10]}"
    run(_create_db(admin_dsn, name, template=plant_template))
    dsn = with_database(admin_dsn, name)
    with skill_session(dsn) as session:
        yield session, dsn
    run(_drop_db(admin_dsn, name))


async def _plans(dsn: str) -> list[dict]:
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch("SELECT seu_name, issue_type, status FROM enms_perf.action_plans")]
    finally:
        await conn.close()


#: the longest the skill's loop may stand still through this process's own doing (issue 14: <= 100 ms); what the
#: system takes for other programs on a busy machine is not counted (``LoopLag.own_s``)
MAX_OWN_STALL_S = 0.1


@pytest.mark.e2e
@pytest.mark.solo
def test_a_huge_factory_is_rejected_at_once_and_stalls_nothing(hostile_session):
    session, _ = hostile_session
    stalls = []
    for _ in range(3):  # the bound holds for the best of three rounds (a busy machine's stall does not come back)
        with LoopLag(session.skill._loop) as lag:
            for size in (20_000, 40_000, 100_000):
                started = time.perf_counter()
                reply = bus_call(session, "enms.performance.opportunities", {"factory": "M" * size}, timeout=10)
                assert time.perf_counter() - started < 2.0  # was 4 s, 14 s and 105 s
                assert reply["error"]["code"] == "invalid_request"
                assert len(json.dumps(reply)) <= MAX_REJECTION_BYTES
            reply = bus_call(session, "enms.performance.health", {})
            assert reply["database_reachable"]
        stalls.append(lag.worst())
        if stalls[-1] <= MAX_OWN_STALL_S:
            break
    assert min(stalls) <= MAX_OWN_STALL_S, f"the skill's loop stood still {[round(s * 1000) for s in stalls]} ms"


@pytest.mark.e2e
@pytest.mark.parametrize("save", ["false", "no", [False], {"x": 1}, 0])
def test_a_save_flag_that_is_not_a_boolean_saves_nothing(hostile_session, save):
    session, dsn = hostile_session
    before = len(run(_plans(dsn)))
    reply = bus_call(session, "enms.performance.action_plan", {"seu_name": "Compressor-EU-1", "save": save})
    assert reply["error"]["code"] == "invalid_request"
    assert len(run(_plans(dsn))) == before


@pytest.mark.e2e
def test_draft_status_is_a_request_error_not_a_constraint_violation(hostile_session):
    session, _ = hostile_session
    reply = bus_call(session, "enms.performance.action_plan",
                     {"seu_name": "Compressor-EU-1", "save": True, "status": "draft"})
    assert reply["error"]["code"] == "invalid_request"


@pytest.mark.e2e
def test_repeated_saves_keep_one_open_plan_and_the_list_pages(hostile_session):
    session, dsn = hostile_session

    def save(**extra) -> dict:
        reply = bus_call(session, "enms.performance.action_plan",
                         {"seu_name": "Compressor-EU-1", "save": True, **extra}, timeout=30)
        assert "error" not in reply, reply
        return reply

    first = save()
    ids = {save()["id"] for _ in range(4)} | {first["id"]}
    # five saves at once, too: the advisory lock keeps them from inserting twice
    replies: list[dict] = []
    threads = [threading.Thread(target=lambda: replies.append(save())) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids |= {r["id"] for r in replies}
    assert len(ids) == 1, ids
    plans = [p for p in run(_plans(dsn)) if p["seu_name"] == "Compressor-EU-1"]
    assert len(plans) == 1 and plans[0]["status"] == "planned", plans
    # an explicit status is kept by a later save that names none
    save(status="in_progress")
    assert save()["status"] == "in_progress"

    page = bus_call(session, "enms.performance.action_plan", {"list": True, "limit": 1})
    assert page["total"] == sum(page["counts"].values()) and len(page["plans"]) == 1
    assert page["counts"]["in_progress"] == 1
    empty = bus_call(session, "enms.performance.action_plan", {"list": True, "offset": page["total"]})
    assert empty["plans"] == [] and empty["total"] == page["total"]


@pytest.mark.e2e
def test_a_read_only_role_gets_its_own_code_for_what_needs_the_engines_tables(plant_copy, make_role):  # noqa: F811
    _, dsn = make_role(may_create=False)
    with skill_session(dsn) as session:
        for kind, data in (("enms.performance.opportunities", {}),
                           ("enms.performance.action_plan", {"seu_name": "Compressor-1", "save": True}),
                           ("enms.performance.action_plan", {"list": True})):
            reply = bus_call(session, kind, data)
            assert reply["error"]["code"] == "read_only_database", reply
        reply = bus_call(session, "enms.performance.savings", {"seu_name": "Compressor-1", "period": "week"})
        assert "error" not in reply, reply



def test_a_long_savings_curve_is_weekly_and_ends_on_the_last_day():
    import datetime as dt

    import numpy as np

    from skill_enms_performance.engine.savings import DAILY_CURVE_MAX_DAYS, curve_points

    days = [dt.date(2024, 4, 10) + dt.timedelta(days=i) for i in range(560)]
    points = curve_points(np.array(days, dtype="datetime64[D]"), np.arange(560.0))
    assert len(points) == 81 and points[-1] == {"date": "2025-10-21", "cumulative_kwh": 559.0}
    assert all(dt.date.fromisoformat(p["date"]).weekday() == 6 for p in points[:-1])
    short = curve_points(days[:DAILY_CURVE_MAX_DAYS], np.arange(float(DAILY_CURVE_MAX_DAYS)))
    assert len(short) == DAILY_CURVE_MAX_DAYS
