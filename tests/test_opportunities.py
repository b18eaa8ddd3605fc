"""Opportunities against the generator's injected truth: each event found on the right SEU with its
start date within one day and savings within 25 %, nothing claimed on a clean SEU."""
from __future__ import annotations

import datetime as dt

import pytest

from skill_enms_performance.demo.generator import plant_truth
from skill_enms_performance.engine import Engine
from skill_enms_performance.engine.errors import InvalidRequestError

from .conftest import REF_NOW, run

TRUTH = plant_truth(dt.date(2025, 11, 6))


def scan(dsn, *args, **kwargs):
    async def go():
        engine = Engine(dsn, clock=lambda: REF_NOW)
        try:
            return await engine.opportunities(*args, **kwargs)
        finally:
            await engine.close()

    return run(go())


@pytest.fixture(scope="module")
def month(plant_dsn):
    return scan(plant_dsn, "month")


def _one(report, seu, kind):
    found = [o for o in report.opportunities if o.seu_name == seu and o.details["kind"] == kind]
    assert len(found) == 1, [(o.seu_name, o.details["kind"]) for o in report.opportunities]
    return found[0]


def test_idle_running_is_found_with_its_start_and_savings(month):
    truth = TRUTH.event("idle_running")
    found = _one(month, truth.seu_name, "idle_running")
    assert found.improvement_type.value == "excessive_idle" and found.ongoing
    first_working_day = truth.start + dt.timedelta(days=1 if truth.start.isoweekday() == 7 else 0)
    assert abs((found.start_date - first_working_day).days) <= 1
    assert found.details["idle_hours_per_working_day"] == pytest.approx(truth.hours_per_day, abs=0.3)
    assert found.estimated_savings_kwh_per_week == pytest.approx(truth.extra_kwh_per_day * 5, rel=0.25)
    assert "hours a working day without production" in found.evidence


def test_compressed_air_leak_is_found_as_drift_since_its_start(month):
    truth = TRUTH.event("compressed_air_leak")
    found = _one(month, truth.seu_name, "drift")
    assert abs((found.start_date - truth.start).days) <= 1 and found.ongoing
    assert found.estimated_savings_kwh_per_week == pytest.approx(truth.extra_kwh_per_day * 7, rel=0.25)
    assert found.priority.value in {"high", "critical"} and found.co2_kg_per_year > 0
    assert found.expected_roi_months is not None and found.expected_roi_months < 12


def test_hvac_fault_is_found_with_start_and_end(month):
    truth = TRUTH.event("hvac_fault")
    found = _one(month, truth.seu_name, "drift")
    assert abs((found.start_date - truth.start).days) <= 1 and abs((found.end_date - truth.end).days) <= 1
    assert not found.ongoing and found.priority.value == "low"
    mean_truth = sum(truth.daily_extra_kwh.values()) / len(truth.daily_extra_kwh)
    assert found.details["excess_kwh_per_day"] == pytest.approx(mean_truth, rel=0.25)


def test_no_opportunity_on_a_clean_seu_and_ranked_by_value(month):
    dirty = {e.seu_name for e in TRUTH.events if e.kind != "reduced_production"}
    assert {o.seu_name for o in month.opportunities} <= dirty
    ongoing = [o.estimated_savings_per_year for o in month.opportunities if o.ongoing]
    assert ongoing == sorted(ongoing, reverse=True)
    assert month.total_savings_per_year == pytest.approx(sum(ongoing), abs=0.05)
    assert not month.errors


def test_filters_and_bad_periods(plant_dsn):
    munich = scan(plant_dsn, "quarter", factory="Munich")
    assert {o.seu_name for o in munich.opportunities} == {"Compressor-EU-1"}
    one = scan(plant_dsn, "week", seu="compressor-1")
    assert {o.seu_name for o in one.opportunities} == {"Compressor-1"}
    with pytest.raises(InvalidRequestError):
        scan(plant_dsn, "fortnight")


def test_a_plants_scan_is_kept_until_the_data_changes_and_caches_fit_the_catalogue(plant_dsn, monkeypatch):
    """Opportunities of a plant of hundreds of SEUs must not rescan every SEU per question: an SEU's findings are
    kept like its series (same period, same rollup generation), and the caches hold entries for every SEU (a
    cache smaller than the catalogue evicted what the next whole-plant question needed: 500 SEUs refitted all)."""
    from skill_enms_performance.engine import EngineSettings, opportunity_scan

    calls = []
    detect = opportunity_scan.detect
    monkeypatch.setattr(opportunity_scan, "detect", lambda *a: calls.append(a[1].name) or detect(*a))

    async def go():
        engine = Engine(plant_dsn, EngineSettings(model_cache_size=4), clock=lambda: REF_NOW)
        try:
            first = await engine.opportunities("month")
            scanned = len(calls)
            again = await engine.opportunities("month")
            seus = len(await engine.seus())
            return first, again, scanned, seus, engine.series.models.size, engine.series.scans.size
        finally:
            await engine.close()

    first, again, scanned, seus, models_size, scans_size = run(go())
    assert scanned == seus and len(calls) == seus  # the second question scanned nothing again
    assert [o.to_dict() for o in again.opportunities] == [o.to_dict() for o in first.opportunities]
    assert models_size >= 8 * seus and scans_size >= 8 * seus
