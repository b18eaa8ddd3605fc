"""The engine against the generator's known truth (reference plant, 15-minute data).

Models are judged on a day whose 365-day baseline holds no injected event (A - 62), so the
recovered coefficients can be compared with the physics the generator used.
"""
from __future__ import annotations

import datetime as dt

import pytest

from skill_enms_performance.demo.generator import plant_truth
from skill_enms_performance.engine import Engine

from .conftest import REF_NOW, run

ANCHOR = dt.date(2025, 11, 6)  # San Jose's local date of REF_NOW
TRUTH = plant_truth(ANCHOR)
CLEAN_DAY = ANCHOR - dt.timedelta(days=62)


@pytest.fixture(scope="module")
def engine_results(plant_dsn):
    """Analyses of the clean day for every SEU, and of every event day."""
    async def go():
        engine = Engine(plant_dsn, clock=lambda: REF_NOW)
        try:
            clean = {(t.seu_name, t.energy_source): await engine.analyze_seu_performance(
                t.seu_name, t.energy_source, CLEAN_DAY) for t in TRUTH.seus}
            events = {}
            for ev in TRUTH.events:
                last = ev.end or ANCHOR - dt.timedelta(days=1)
                days = [ev.start + dt.timedelta(days=i) for i in range((last - ev.start).days + 1)][:28]
                events[(ev.kind, ev.seu_name)] = [
                    await engine.analyze_seu_performance(ev.seu_name, ev.energy_source, d) for d in days]
            return clean, events
        finally:
            await engine.close()

    return run(go())


@pytest.mark.parametrize("truth", TRUTH.seus, ids=lambda t: f"{t.seu_name}/{t.energy_source}")
def test_models_meet_the_gates_and_recover_the_coefficients(engine_results, truth):
    result = engine_results[0][(truth.seu_name, truth.energy_source)]
    base = result.baseline
    stats = base["statistics"]
    assert base["method"] == "regression" and base["validity"]["valid"]
    assert stats["cv_rmse"] <= 0.15
    assert abs(stats["nmbe_out_of_sample"]) <= 0.005
    coef = base["coefficients"]
    assert coef["intercept_kwh"] == pytest.approx(truth.intercept_kwh["working"], rel=0.10)
    if truth.production_driven:
        assert coef["production_kwh_per_unit"] == pytest.approx(truth.kwh_per_unit, rel=0.10)
    else:
        assert "production" not in base["drivers"]
    for key, slope, balance, point in (("hdd_kwh_per_degree_day", truth.hdd_kwh_per_degree_day, "heating_balance_c",
                                        truth.heating_base_c),
                                       ("cdd_kwh_per_degree_day", truth.cdd_kwh_per_degree_day, "cooling_balance_c",
                                        truth.cooling_base_c)):
        if slope > 0:
            assert coef[key] == pytest.approx(slope, rel=0.10)
            assert abs(base[balance] - point) <= 1.0
        else:
            assert key not in coef
    closed = coef["calendar_closed_day_kwh"] + coef["intercept_kwh"]
    assert closed == pytest.approx(truth.intercept_kwh["closed"], abs=0.10 * truth.intercept_kwh["working"])


def _event(engine_results, kind, seu):
    return engine_results[1][(kind, seu)]


def test_hvac_fault_is_flagged_on_every_fault_day(engine_results):
    days = _event(engine_results, "hvac_fault", "HVAC-Main")
    assert len(days) == 8
    assert all(r.significant and r.deviation_percent > 20 for r in days)


def test_compressed_air_leak_is_flagged_from_its_first_day(engine_results):
    days = _event(engine_results, "compressed_air_leak", "Compressor-EU-1")
    assert days[0].date == TRUTH.event("compressed_air_leak").start
    flagged = [r.significant and r.deviation_kwh > 0 for r in days]
    assert all(flagged[:14]) and sum(flagged) >= 0.9 * len(flagged)
    leak_kwh = TRUTH.event("compressed_air_leak").extra_kwh_per_day
    first_week = [r.attribution["performance_effect_kwh"] for r in days[:7]]
    assert sum(first_week) / 7 == pytest.approx(leak_kwh, rel=0.25)


def test_idle_running_shows_as_excess_on_working_days(engine_results):
    days = [r for r in _event(engine_results, "idle_running", "Compressor-1")
            if r.drivers["calendar"] == "working_day"]
    flagged = sum(r.significant and r.deviation_kwh > 0 for r in days)
    assert flagged >= 0.6 * len(days)
    assert any(rec.improvement_type.value == "excessive_idle" for r in days for rec in r.recommendations)


def test_reduced_production_week_is_explained_not_flagged(engine_results):
    # 2025-11-02 ends US daylight saving time: 25 local hours, one more standby hour on a closed
    # day that the daily model cannot know (the generator's truth says so); it is not this event
    for r in [r for r in _event(engine_results, "reduced_production", "Injection-Molding-1")
              if r.window.hours == 24]:
        assert not r.significant or abs(r.deviation_percent) < 5
        if r.drivers["calendar"] == "working_day":
            assert r.root_cause_analysis.primary_factor == "reduced_production"
            assert r.iso50001_status.value == "on_target"
