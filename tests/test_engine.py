"""The engine against the reference plant in a real PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json

import asyncpg
import pytest

from skill_enms_performance.engine import Engine, EngineSettings
from skill_enms_performance.engine.errors import (AmbiguousSeuError, DatabaseUnavailableError, FutureDateError,
                                                  InvalidRequestError, NoDataError, UnknownEnergySourceError,
                                                  UnknownSeuError)

from .conftest import REF_NOW, run

SEED_FIELDS = ["seu_name", "energy_source", "date", "actual_energy_kwh", "baseline_energy_kwh", "deviation_kwh",
               "deviation_percent", "deviation_cost_usd", "efficiency_score", "root_cause_analysis",
               "recommendations", "iso50001_status", "voice_summary", "timestamp"]


def analyze(dsn, *args, now=REF_NOW, **kwargs):
    async def go():
        engine = Engine(dsn, clock=lambda: now)
        try:
            return await engine.analyze_seu_performance(*args, **kwargs)
        finally:
            await engine.close()

    return run(go())


async def _independent_daily(dsn: str, machine: str, types: list[str], tz: str, first: dt.date, last: dt.date,
                             cutoff: dt.time | None = None) -> dict[dt.date, float]:
    """Daily kWh computed the plain way, with no code of the engine."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT (r.time AT TIME ZONE f.timezone)::date AS day, sum(r.energy_kwh)::float8 AS kwh
               FROM energy_readings r JOIN machines m ON m.id = r.machine_id JOIN factories f ON f.id = m.factory_id
               WHERE m.name = $1 AND r.energy_type = ANY($2::text[])
                 AND (r.time AT TIME ZONE f.timezone)::date BETWEEN $3 AND $4
                 AND ($5::time IS NULL OR (r.time AT TIME ZONE f.timezone)::time < $5::time)
               GROUP BY 1""", machine, types, first, last, cutoff)
        return {r["day"]: r["kwh"] for r in rows}
    finally:
        await conn.close()


async def _independent_drivers(dsn: str, machine: str, tz: str, day: dt.date) -> tuple[float, float]:
    """Production units and mean outdoor temperature of a local day, computed the plain way."""
    conn = await asyncpg.connect(dsn)
    try:
        production = await conn.fetchval(
            """SELECT sum(p.production_count)::float8 FROM production_data p JOIN machines m ON m.id = p.machine_id
               WHERE m.name = $1 AND (p.time AT TIME ZONE $2)::date = $3""", machine, tz, day)
        temp = await conn.fetchval(
            """SELECT avg(e.outdoor_temp_c)::float8 FROM environmental_data e JOIN machines m ON m.id = e.machine_id
               JOIN machines c ON c.factory_id = m.factory_id
               WHERE c.name = $1 AND (e.time AT TIME ZONE $2)::date = $3""", machine, tz, day)
        return production, temp
    finally:
        await conn.close()


def test_past_day_has_the_seed_fields_and_matches_independent_sql(plant_dsn):
    day = dt.date(2025, 10, 21)
    result = analyze(plant_dsn, "Compressor-1", None, day.isoformat())
    payload = result.to_dict()
    assert list(payload)[:14] == SEED_FIELDS
    json.dumps(payload)  # serialisable, no NaN
    assert payload["energy_source"] == "electricity" and payload["date"] == "2025-10-21"
    assert payload["iso50001_status"] in {"excellent", "on_target", "requires_attention", "non_compliant"}
    rca = payload["root_cause_analysis"]
    # the seed's four fields first; the test behind the factor added (confidence is a score, p_value a probability)
    assert list(rca)[:4] == ["primary_factor", "impact_description", "contributing_factors", "confidence"]
    assert set(rca) == {"primary_factor", "impact_description", "contributing_factors", "confidence", "p_value",
                        "p_value_test"}
    assert rca["p_value_test"] in {"deviation_t", "driver_f"} and 0.0 <= rca["p_value"] <= 1.0
    daily = run(_independent_daily(plant_dsn, "Compressor-1", ["energy", "electricity", "electrical"],
                                   "America/Los_Angeles", day, day))
    assert payload["actual_energy_kwh"] == pytest.approx(daily[day], abs=1e-3)
    production, temp = run(_independent_drivers(plant_dsn, "Compressor-1", "America/Los_Angeles", day))
    assert payload["drivers"]["production_units"] == pytest.approx(production)
    assert payload["drivers"]["temp_mean_c"] == pytest.approx(temp, abs=1e-6)
    # expected = the model at the day's drivers (a working day: no calendar dummy)
    base = payload["baseline"]
    assert base["method"] == "regression" and "production" in base["drivers"]
    coef = base["coefficients"]
    expected = coef["intercept_kwh"] + coef["production_kwh_per_unit"] * production
    assert payload["baseline_energy_kwh"] == pytest.approx(expected, rel=1e-4)
    assert payload["deviation_kwh"] == pytest.approx(daily[day] - payload["baseline_energy_kwh"], abs=2e-3)
    assert payload["deviation_percent"] == pytest.approx(
        100 * payload["deviation_kwh"] / payload["baseline_energy_kwh"], abs=0.01)
    # priced at the SEU's tariff: the San Jose factory has time-of-use rates between 0.11 and 0.28
    assert 0.11 <= payload["price_per_kwh"] <= 0.28
    assert payload["deviation_cost_usd"] == pytest.approx(payload["deviation_kwh"] * payload["price_per_kwh"], abs=0.01)
    assert 0.0 <= payload["efficiency_score"] <= 1.0
    stats = base["statistics"]
    assert stats["n"] >= 300 and stats["cv_rmse"] <= 0.15 and abs(stats["nmbe_out_of_sample"]) <= 0.005
    assert base["interval"]["low_kwh"] < payload["baseline_energy_kwh"] < base["interval"]["high_kwh"]


def test_less_production_is_on_target_with_reduced_production_not_excellent(plant_dsn):
    """The seed's case: 40 % less production and proportionally less energy."""
    result = analyze(plant_dsn, "Injection-Molding-1", None, "2025-10-29")
    assert abs(result.deviation_percent) < 5
    assert result.iso50001_status.value == "on_target"
    assert result.root_cause_analysis.primary_factor == "reduced_production"
    assert result.attribution["production_effect_kwh"] < -0.2 * result.attribution["typical_day_kwh"]
    assert result.recommendations == []


def test_hvac_fault_is_significant_excess_with_a_recommendation(plant_dsn):
    result = analyze(plant_dsn, "HVAC-Main", None, "2025-10-20")
    assert result.significant and result.deviation_percent > 20
    assert result.iso50001_status.value == "non_compliant"
    assert result.root_cause_analysis.primary_factor == "excess_consumption"
    assert result.root_cause_analysis.confidence > 0.9
    # the probability statement: a deviation this large on a routine day has p below 1 - the interval's level
    assert result.root_cause_analysis.p_value_test == "deviation_t" and result.root_cause_analysis.p_value < 0.10
    assert result.recommendations and result.recommendations[0].estimated_savings_kwh > 0


def test_today_is_a_partial_day_compared_with_the_same_hours(plant_dsn):
    result = analyze(plant_dsn, "Compressor-1")
    local_now = REF_NOW.astimezone(dt.timezone(dt.timedelta(hours=-8)))  # PST on 2025-11-06
    assert result.date == local_now.date() and result.window.partial
    assert result.window.hours == pytest.approx(13.0)
    cutoff = local_now.time().replace(tzinfo=None)
    daily = run(_independent_daily(plant_dsn, "Compressor-1", ["energy"], "America/Los_Angeles",
                                   result.date - dt.timedelta(days=30), result.date, cutoff))
    assert result.actual_energy_kwh == pytest.approx(daily[result.date], abs=1e-3)
    # the baseline is a same-hours model: far below a whole day's energy
    full_days = run(_independent_daily(plant_dsn, "Compressor-1", ["energy"], "America/Los_Angeles",
                                       result.date - dt.timedelta(days=7), result.date - dt.timedelta(days=1)))
    assert result.baseline_energy_kwh < 0.8 * max(full_days.values())
    assert abs(result.deviation_percent) < 15


def test_gas_is_priced_per_kwh_equivalent_of_its_unit(plant_dsn):
    result = analyze(plant_dsn, "Boiler-1", "gas", "2025-10-21")
    assert result.energy_source == "natural_gas"
    price = 0.50 / EngineSettings().unit_kwh["m3"]
    assert result.price_per_kwh == pytest.approx(price, rel=1e-3)
    assert result.deviation_cost_usd == pytest.approx(result.deviation_kwh * price, abs=0.01)


@pytest.mark.parametrize("call, error, facts", [
    (("Compressor-3",), UnknownSeuError, {"suggestions": ["Compressor-1"]}),
    (("Toaster",), UnknownSeuError, {}),
    (("Boiler-1",), AmbiguousSeuError, {"energy_sources": ["electricity", "natural_gas", "steam"]}),
    (("Compressor-1", "steam"), UnknownEnergySourceError, {"energy_sources": ["electricity"]}),
    (("Compressor-1", None, "2020-01-01"), NoDataError, {}),
    (("Compressor-1", None, "2025-11-07"), FutureDateError, {}),
    (("Compressor-1", None, "yesterday-ish"), InvalidRequestError, {}),
    (("",), InvalidRequestError, {}),
])
def test_errors_are_typed_values_with_the_facts_a_sentence_needs(plant_dsn, call, error, facts):
    with pytest.raises(error) as caught:
        analyze(plant_dsn, *call)
    payload = caught.value.to_dict()
    assert payload["code"] == error.code and payload["message"]
    for key, value in facts.items():
        assert payload[key][:len(value)] == value if isinstance(value, list) else payload[key] == value
    if error is NoDataError:
        assert payload["first_date"] and payload["last_date"] == "2025-11-06"


def test_unreachable_database_is_a_typed_error_without_password():
    dsn = "postgresql://enms:topsecret@127.0.0.1:1/enms"

    async def go():
        engine = Engine(dsn, EngineSettings(connect_timeout_s=1.0))
        try:
            await engine.analyze_seu_performance("Compressor-1")
        finally:
            await engine.close()

    with pytest.raises(DatabaseUnavailableError) as caught:
        run(go())
    assert "topsecret" not in json.dumps(caught.value.to_dict())


def test_a_large_plant_gets_its_baselines_fitted_after_start_and_health_then_fits_nothing(plant_dsn):
    """``keep_fresh`` (the skill's maintenance task) first fits every SEU's current baseline when the plant has at
    least ``fit_ahead_seus`` SEUs (the demo's 10 stand for a large plant here), one after the other; the health check
    after it then sends nothing to the compute threads. Below the threshold nothing is fitted ahead."""
    import asyncio

    async def check(threshold: int) -> tuple[int, int, int]:
        engine = Engine(plant_dsn, EngineSettings(fit_ahead_seus=threshold, rollup_refresh_s=3600.0),
                        clock=lambda: REF_NOW)
        try:
            await engine.warm_up()
            seus = len(await engine.seus())
            task = asyncio.ensure_future(engine.keep_fresh())
            for _ in range(600):  # until the fits ahead are done (a pass over 10 SEUs takes seconds)
                await asyncio.sleep(0.1)
                if len(engine.series.models) >= seus or threshold > seus and _ >= 20:
                    break
            task.cancel()
            fitted_ahead = len(engine.series.models)
            trips = 0
            compute = engine.series.compute

            async def counted(work, *args):
                nonlocal trips
                trips += 1
                return await compute(work, *args)

            engine.series.compute = counted
            report = await engine.health()
            assert all("error" not in m for m in report["models"]), report["models"]
            return seus, fitted_ahead, trips
        finally:
            await engine.close()

    seus, fitted_ahead, trips = run(check(threshold=1))
    assert fitted_ahead == seus and trips == 0
    seus, fitted_ahead, trips = run(check(threshold=1000))
    assert fitted_ahead == 0 and trips == seus  # nothing ahead: health fits every one itself
