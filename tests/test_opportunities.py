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


def test_one_excess_is_counted_once_through_every_level_of_the_hierarchy():
    """A plant SEU over a compressed-air station over a compressor, each an SEU: the leak of the compressor is
    claimed by it alone, the station keeps only what is its own beyond the compressor's, and the plant only what is
    beyond both (subtracting the station's kept part alone would count the compressor's leak again)."""
    from skill_enms_performance.engine.models import ImplementationEffort, ImprovementType, Opportunity, Priority
    from skill_enms_performance.engine.opportunity_scan import count_once
    from skill_enms_performance.store import SeuRow

    def seu(name, machines):
        return SeuRow(id=name, name=name, energy_source="electricity", unit="kWh", cost_per_unit=0.1,
                      carbon_factor=0.4, machine_ids=tuple(machines), machine_names=tuple(machines),
                      machine_types=("compressor",), factory="F", factory_id="f", timezone="UTC")

    def found(name, kwh_week):
        return Opportunity(seu_name=name, energy_source="electricity", improvement_type=ImprovementType.EQUIPMENT_DEGRADATION,
                           title=name, evidence=name, details={"kind": "drift"}, start_date=dt.date(2025, 10, 1),
                           end_date=None, ongoing=True, estimated_savings_kwh_per_week=kwh_week,
                           estimated_savings_per_year=kwh_week * 52.18 * 0.1, currency="USD",
                           co2_kg_per_year=kwh_week * 52.18 * 0.4, implementation_effort=ImplementationEffort.MEDIUM,
                           priority=Priority.HIGH, expected_roi_months=2.0, confidence=0.9)

    seus = [seu("Compressor", ["c"]), seu("Station", ["c", "d"]), seu("Plant", ["c", "d", "e"])]
    # the station's own excess: 100 beyond the compressor's 1,000; the plant's: 400 beyond both
    kept = {o.seu_name: o for o in count_once(seus, [found("Plant", 1500.0), found("Station", 1100.0),
                                                     found("Compressor", 1000.0)])}
    assert kept["Compressor"].estimated_savings_kwh_per_week == 1000.0
    assert "Station" not in kept  # 100 of 1,100 left: under a quarter, the same excess
    assert kept["Plant"].estimated_savings_kwh_per_week == pytest.approx(500.0)
    assert sum(o.estimated_savings_kwh_per_week for o in kept.values()) == pytest.approx(1500.0)
    # asked about the station and the compressor alone, the station keeps nothing of the compressor's
    alone = count_once(seus[:2], [found("Station", 1600.0), found("Compressor", 1000.0)])
    assert sorted((o.seu_name, o.estimated_savings_kwh_per_week) for o in alone) == [("Compressor", 1000.0),
                                                                                     ("Station", 600.0)]


def test_opportunities_of_one_machine_type(plant_dsn, month):
    """"where could we save on the compressors": the compressors' findings, each as the whole plant's scan has
    it; a type the plant lacks is a clear invalid request."""
    compressors = scan(plant_dsn, "month", machine_type="compressor")
    assert compressors.machine_type == "compressor" and compressors.to_dict()["machine_type"] == "compressor"
    names = {o.seu_name for o in compressors.opportunities}
    assert names and all(n.startswith("Compressor") for n in names), names
    whole = {(o.seu_name, o.improvement_type, o.start_date): o.estimated_savings_kwh_per_week for o in month.opportunities}
    for o in compressors.opportunities:
        assert whole[(o.seu_name, o.improvement_type, o.start_date)] == o.estimated_savings_kwh_per_week
    with pytest.raises(InvalidRequestError):
        scan(plant_dsn, "month", machine_type="centrifuge")
