"""Data faults in the EnMS database: the analysis still answers (or says clearly why it cannot), says what it
could not trust in ``data_quality``, and never reports NaN or infinity.

NULL, negative and DST days are in test_store; here: counter resets (a huge interval, either sign), an SEU whose
machines are inactive, deleted or missing, a machine without production data, a gap of hours on the analysed day
and a missing week in the baseline year. Every expected figure comes from independent SQL on the same database.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

import asyncpg
import pytest

from skill_enms_performance.engine import Engine
from skill_enms_performance.engine.errors import EnmsError

from .conftest import REF_NOW, run
from .test_baseline import assert_no_nan

DAY = dt.date(2025, 11, 4)               # a Tuesday, two days before REF_NOW
RESET_DAY = dt.date(2025, 11, 5)         # inside the window every refresh re-aggregates (late corrections)
#: the faults are in the data before the engine starts: its rollups are built from them
REBUILD = ("DROP SCHEMA IF EXISTS enms_perf CASCADE",)
TZ = "America/Los_Angeles"


def _clean_json(result) -> dict:
    payload = result.to_dict()
    assert_no_nan(payload, "result")
    json.dumps(payload, allow_nan=False, default=str)
    return payload


async def _with(dsn, statements, call):
    conn = await asyncpg.connect(dsn)
    try:
        for sql, *args in statements:
            await conn.execute(sql, *args)
    finally:
        await conn.close()
    engine = Engine(dsn, clock=lambda: REF_NOW)
    try:
        return await call(engine)
    finally:
        await engine.close()


async def _fetchval(dsn, sql, *args):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def _day_sql(machine: str) -> str:
    return (f"SELECT coalesce(sum(r.energy_kwh), 0)::float8 FROM energy_readings r JOIN machines m ON m.id = r.machine_id "
            f"WHERE m.name = '{machine}' AND (r.time AT TIME ZONE '{TZ}')::date = $1 "
            f"AND r.energy_kwh >= 0 AND r.energy_kwh <= 10 * m.rated_power_kw")


@pytest.mark.parametrize("spike_kwh", [-987_654.0, 987_654.0])
def test_a_counter_reset_poisons_neither_the_day_nor_the_baseline(plant_copy, spike_kwh):
    """An upstream converter that derives intervals from a meter total turns a meter reset into one huge interval
    (negative, or the meter's whole count). The reading is left out, the day's figure is the sum of the plausible
    readings, and the day says that a reading was left out."""
    at = dt.datetime(2025, 11, 5, 20, 0, tzinfo=dt.timezone.utc)  # 12:00 in San Jose
    machine = "(SELECT id FROM machines WHERE name = 'Compressor-1')"
    clean = run(_with(plant_copy, [], lambda e: e.analyze_seu_performance("Compressor-1", None, RESET_DAY)))
    statements = [(f"UPDATE energy_readings SET energy_kwh = $1 WHERE machine_id = {machine} AND time = $2",
                   spike_kwh, at)]
    result = run(_with(plant_copy, statements,
                       lambda e: e.analyze_seu_performance("Compressor-1", None, RESET_DAY)))
    payload = _clean_json(result)
    expected = run(_fetchval(plant_copy, _day_sql("Compressor-1"), RESET_DAY))
    assert result.actual_energy_kwh == pytest.approx(expected, abs=1e-3)
    lost = run(_fetchval(plant_copy, "SELECT energy_kwh FROM energy_readings WHERE machine_id = "
                         "(SELECT id FROM machines WHERE name = 'Compressor-1') AND time = $1", at))
    assert float(lost) == spike_kwh
    # one interval of a few kWh is missing from the day, not a million
    assert abs(result.actual_energy_kwh - clean.actual_energy_kwh) < 20
    assert result.baseline_energy_kwh == pytest.approx(clean.baseline_energy_kwh, rel=1e-9)
    notes = " ".join(payload["data_quality"]["notes"])
    assert "1 reading" in notes and "implausible" in notes, notes
    assert {"code": "implausible_readings", "params": {"count": 1}} in payload["data_quality"]["note_codes"]


def test_a_counter_reset_inside_the_baseline_year_leaves_the_model_alone(plant_copy):
    at = dt.datetime(2025, 6, 10, 20, 0, tzinfo=dt.timezone.utc)
    clean = run(_with(plant_copy, [], lambda e: e.analyze_seu_performance("HVAC-Main", None, DAY)))
    statements = [("UPDATE energy_readings SET energy_kwh = 5e6 WHERE machine_id = "
                   "(SELECT id FROM machines WHERE name = 'HVAC-Main') AND time = $1", at), REBUILD]
    result = run(_with(plant_copy, statements, lambda e: e.analyze_seu_performance("HVAC-Main", None, DAY)))
    _clean_json(result)
    assert result.baseline_energy_kwh == pytest.approx(clean.baseline_energy_kwh, rel=0.01)
    assert result.baseline["statistics"]["r2"] == pytest.approx(clean.baseline["statistics"]["r2"], abs=0.02)


@pytest.mark.parametrize("fault", ["inactive machines", "deleted machines", "no machines"])
def test_an_seu_without_machines_to_read_is_a_clear_error_and_the_fleet_still_answers(plant_copy, fault):
    seu = "(SELECT id FROM seus WHERE name = 'Conveyor-A')"
    statements = {
        "inactive machines": [("UPDATE machines SET is_active = false WHERE name = 'Conveyor-A'",)],
        "deleted machines": [(f"UPDATE seus SET machine_ids = ARRAY[$1::uuid] WHERE id = {seu}", uuid.uuid4())],
        "no machines": [(f"UPDATE seus SET machine_ids = '{{}}' WHERE id = {seu}",)],
    }[fault] + [REBUILD]

    async def call(engine):
        try:
            outcome = await engine.analyze_seu_performance("Conveyor-A", None, DAY)
        except EnmsError as err:
            outcome = err
        summary = await engine.summary(analysis_date=DAY.isoformat())
        return outcome, summary

    outcome, summary = run(_with(plant_copy, statements, call))
    if isinstance(outcome, EnmsError):
        assert outcome.code in {"no_data", "unknown_seu"}, outcome.to_dict()
        assert outcome.message and "nan" not in outcome.message.lower()
    else:  # inactive machines that still send readings: their data is analysed
        _clean_json(outcome)
        assert outcome.actual_energy_kwh == pytest.approx(
            run(_fetchval(plant_copy, _day_sql("Conveyor-A"), DAY)), abs=1e-3)
    payload = _clean_json(summary)
    others = [i for i in payload["items"] if i["seu_name"] != "Conveyor-A"]
    assert len(others) >= 8 and all(i["actual_energy_kwh"] > 0 for i in others)


def test_a_machine_without_production_data_is_analysed_on_weather_and_calendar(plant_copy):
    statements = [("DELETE FROM production_data WHERE machine_id = (SELECT id FROM machines WHERE name = 'Compressor-1')",),
                  REBUILD]

    async def call(engine):
        return await engine.analyze_seu_performance("Compressor-1", None, DAY), await engine.summary(
            machine_type="compressor", analysis_date=DAY.isoformat())

    result, summary = run(_with(plant_copy, statements, call))
    payload = _clean_json(result)
    _clean_json(summary)
    assert result.actual_energy_kwh == pytest.approx(run(_fetchval(plant_copy, _day_sql("Compressor-1"), DAY)),
                                                     abs=1e-3)
    assert "production" not in " ".join(result.baseline.get("drivers") or []), result.baseline
    assert payload["drivers"]["production_units"] is None
    assert result.root_cause_analysis.primary_factor != "reduced_production"


def test_a_gap_of_hours_on_the_analysed_day_is_said(plant_copy):
    machine = "(SELECT id FROM machines WHERE name = 'HVAC-Main')"
    start = dt.datetime(2025, 11, 4, 8, 0, tzinfo=dt.timezone.utc)   # 00:00-14:00 local: 14 of 24 hours missing
    statements = [(f"DELETE FROM energy_readings WHERE machine_id = {machine} AND time >= $1 AND time < $2",
                   start, start + dt.timedelta(hours=14)), REBUILD]
    result = run(_with(plant_copy, statements, lambda e: e.analyze_seu_performance("HVAC-Main", None, DAY)))
    payload = _clean_json(result)
    assert payload["data_quality"]["coverage_fraction"] == pytest.approx(10 / 24, abs=0.02)
    assert any("half" in n for n in payload["data_quality"]["notes"]), payload["data_quality"]
    assert result.actual_energy_kwh == pytest.approx(run(_fetchval(plant_copy, _day_sql("HVAC-Main"), DAY)),
                                                     abs=1e-3)


def test_a_missing_week_in_the_baseline_year_is_counted(plant_copy):
    machine = "(SELECT id FROM machines WHERE name = 'Conveyor-A')"
    start = dt.datetime(2025, 7, 7, 7, 0, tzinfo=dt.timezone.utc)    # Monday 00:00 PDT, seven whole local days
    statements = [(f"DELETE FROM energy_readings WHERE machine_id = {machine} AND time >= $1 AND time < $2",
                   start, start + dt.timedelta(days=7)), REBUILD]
    clean = run(_with(plant_copy, [], lambda e: e.analyze_seu_performance("Conveyor-A", None, DAY)))
    result = run(_with(plant_copy, statements, lambda e: e.analyze_seu_performance("Conveyor-A", None, DAY)))
    payload = _clean_json(result)
    missing = payload["data_quality"]["baseline_days_missing"] - clean.data_quality.baseline_days_missing
    assert missing == 7, payload["data_quality"]


@pytest.mark.parametrize("how", ["first build", "late arrival", "raw readings"])
def test_an_interval_recorded_twice_under_two_names_of_one_energy_counts_once(plant_copy, how):
    """Two gateways send Conveyor-A's readings of a day as 'energy' and again as 'electricity': the schema's unique
    key (machine, time, type) lets both in, and both are the SEU's electricity. Counted once, and said so: in the
    rollups' first build, when the copies arrive after it (a refresh), and on a read-only role (raw readings)."""
    from skill_enms_performance.engine import EngineSettings

    start = dt.datetime(2025, 11, 5, 8, 0, tzinfo=dt.timezone.utc)   # 2025-11-05 local, whole day
    copy = ("INSERT INTO energy_readings (time, machine_id, energy_type, power_kw, energy_kwh) "
            "SELECT time, machine_id, 'electricity', power_kw, energy_kwh FROM energy_readings "
            "WHERE machine_id = (SELECT id FROM machines WHERE name = 'Conveyor-A') AND energy_type = 'energy' "
            "AND time >= $1 AND time < $2", start, start + dt.timedelta(days=1))
    expected = run(_fetchval(plant_copy, _day_sql("Conveyor-A"), RESET_DAY))
    copies = run(_fetchval(plant_copy, "SELECT count(*) FROM energy_readings WHERE machine_id = (SELECT id FROM "
                           "machines WHERE name = 'Conveyor-A') AND time >= $1 AND time < $2",
                           start, start + dt.timedelta(days=1)))

    async def analyse(engine):
        return await engine.analyze_seu_performance("Conveyor-A", None, RESET_DAY)

    if how == "late arrival":
        run(_with(plant_copy, [], analyse))              # rollups built before the copies arrive
        result = run(_with(plant_copy, [copy], analyse))  # the next engine's refresh re-aggregates the day
    elif how == "first build":
        result = run(_with(plant_copy, [copy, REBUILD], analyse))
    else:
        async def analyse_raw(_engine):
            engine = Engine(plant_copy, EngineSettings(create_rollups=False), clock=lambda: REF_NOW)
            try:
                assert await engine.mode() == "raw"
                return await analyse(engine)
            finally:
                await engine.close()
        result = run(_with(plant_copy, [copy, REBUILD], analyse_raw))
    payload = _clean_json(result)
    assert result.actual_energy_kwh == pytest.approx(expected, abs=1e-3)
    assert f"{copies} readings of the day recorded twice" in " ".join(payload["data_quality"]["notes"])


@pytest.mark.parametrize("day, start_utc, coverage", [
    (dt.date(2025, 10, 21), dt.datetime(2025, 10, 21, 7, 0, tzinfo=dt.timezone.utc), 18 / 24),   # a whole day
    (dt.date(2025, 11, 6), dt.datetime(2025, 11, 6, 8, 0, tzinfo=dt.timezone.utc), 7 / 13),      # today, at 13:00
])
def test_a_gap_is_not_a_saving(plant_copy, day, start_utc, coverage):
    """Six night hours without readings lower the measured energy; the coverage says so (also for a running day,
    whose raw query once took a gap for wider spacing), and the shortfall is not called significant unless the
    day, filled up to full coverage, would still be low."""
    machine = "(SELECT id FROM machines WHERE name = 'Compressor-1')"
    statements = [(f"DELETE FROM energy_readings WHERE machine_id = {machine} AND time >= $1 AND time < $2",
                   start_utc, start_utc + dt.timedelta(hours=6)), REBUILD]
    result = run(_with(plant_copy, statements, lambda e: e.analyze_seu_performance("Compressor-1", None, day)))
    payload = _clean_json(result)
    assert payload["data_quality"]["coverage_fraction"] == pytest.approx(coverage, abs=0.02)
    assert f"readings cover {round(100 * coverage)}%" in " ".join(payload["data_quality"]["notes"])
    # the rule: a shortfall on an incomplete day is significant only if the filled-up day is still low
    filled = result.actual_energy_kwh / result.data_quality.coverage_fraction
    still_low = filled < result.baseline["interval"]["low_kwh"]
    if result.deviation_kwh < 0 and not still_low:
        assert not result.significant and payload["iso50001_status"] != "excellent", payload
    if result.significant and result.deviation_kwh < 0:
        assert still_low, payload


def test_an_seu_listing_a_deleted_machine_is_analysed_on_the_machines_it_has(plant_copy):
    seu = "(SELECT id FROM seus WHERE name = 'Conveyor-A')"
    statements = [(f"UPDATE seus SET machine_ids = machine_ids || $1::uuid || machine_ids WHERE id = {seu}",
                   uuid.uuid4()), REBUILD]
    result = run(_with(plant_copy, statements, lambda e: e.analyze_seu_performance("Conveyor-A", None, DAY)))
    payload = _clean_json(result)
    assert payload["data_quality"]["coverage_fraction"] == pytest.approx(1.0, abs=0.01)
    assert payload["data_quality"]["baseline_days_used"] >= 300
    assert result.actual_energy_kwh == pytest.approx(run(_fetchval(plant_copy, _day_sql("Conveyor-A"), DAY)), abs=1e-3)


def test_a_shortfall_on_an_incomplete_day_is_judged_on_the_filled_up_day(plant_copy):
    """Working hours missing (09:00-17:00 local on a Tuesday): measured far below the baseline. Filled up to full
    coverage at the day's own mean power the verdict is what the filled-up day says, and the note tells why."""
    day = dt.date(2025, 10, 28)
    machine = "(SELECT id FROM machines WHERE name = 'Injection-Molding-1')"
    start = dt.datetime(2025, 10, 28, 16, 0, tzinfo=dt.timezone.utc)
    statements = [(f"DELETE FROM energy_readings WHERE machine_id = {machine} AND time >= $1 AND time < $2",
                   start, start + dt.timedelta(hours=8)), REBUILD]
    result = run(_with(plant_copy, statements, lambda e: e.analyze_seu_performance("Injection-Molding-1", None, day)))
    payload = _clean_json(result)
    assert result.deviation_kwh < 0 and payload["data_quality"]["coverage_fraction"] == pytest.approx(16 / 24, abs=0.02)
    filled = result.actual_energy_kwh / result.data_quality.coverage_fraction
    still_low = filled < result.baseline["interval"]["low_kwh"]
    assert result.significant == still_low, payload
    actual_low = result.actual_energy_kwh < result.baseline["interval"]["low_kwh"]
    assert actual_low, "the gap should take the measured day below the interval"
    if not still_low:
        assert "the shortfall is not called significant" in " ".join(payload["data_quality"]["notes"])


def test_data_quality_notes_are_codes_with_parameters_and_keep_their_english_wording():
    """``note_codes`` carry what a dialog needs; ``notes`` stay the sentences callers already parse."""
    from types import SimpleNamespace

    from skill_enms_performance.engine.performance import DayVerdict, day_note_codes, note_text

    model = SimpleNamespace(valid=False, validity=SimpleNamespace(verdict="insufficient_fit"))
    prediction = SimpleNamespace(all_in_range=False, in_range={"production": False, "temperature": True},
                                 imputed_drivers=("temperature",))
    verdict = DayVerdict(100.0, -20.0, -20.0, False, True, None)
    codes = day_note_codes(model, prediction, verdict, 0.42, True, (1, 2, 3), 0.5)
    assert [c["code"] for c in codes] == ["partial_day", "outside_model_range", "drivers_imputed", "incomplete_day",
                                         "shortfall_not_significant", "implausible_readings",
                                         "readings_without_value", "duplicated_readings", "model_not_valid"]
    assert codes[3]["params"] == {"coverage_percent": 42, "below_min_coverage": True}
    assert codes[5]["params"] == {"count": 2} and codes[8]["params"] == {"verdict": "insufficient_fit"}
    assert [note_text(c) for c in codes] == [
        "partial day: compared with the same hours of the baseline days",
        "outside model range: production",
        "drivers missing and taken from a typical day: temperature",
        "readings cover 42% of the analysed day: less than half of its expected readings",
        "below the baseline, but readings are missing: the shortfall is not called significant",
        "2 readings of the day left out as implausible (negative, or more than ten times the rated power for an "
        "hour: a meter reset?)",
        "1 reading of the day without a value",
        "3 readings of the day recorded twice under another name of the same energy: counted once",
        "baseline model not valid (insufficient_fit): deviations are not called significant"]
