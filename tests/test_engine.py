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


def test_past_day_has_the_seed_fields_and_matches_independent_sql(plant_dsn):
    day = dt.date(2025, 10, 21)
    result = analyze(plant_dsn, "Compressor-1", None, day.isoformat())
    payload = result.to_dict()
    assert list(payload)[:14] == SEED_FIELDS
    json.dumps(payload)  # serialisable
    assert payload["energy_source"] == "electricity" and payload["date"] == "2025-10-21"
    assert payload["iso50001_status"] in {"excellent", "on_target", "requires_attention", "non_compliant"}
    assert set(payload["root_cause_analysis"]) == {"primary_factor", "impact_description", "contributing_factors",
                                                   "confidence"}

    daily = run(_independent_daily(plant_dsn, "Compressor-1", ["energy", "electricity", "electrical"],
                                   "America/Los_Angeles", day - dt.timedelta(days=30), day))
    assert payload["actual_energy_kwh"] == pytest.approx(daily[day], abs=1e-3)
    history = [v for d, v in daily.items() if d < day]
    assert len(history) == 30
    expected = sum(history) / len(history)
    assert payload["baseline_energy_kwh"] == pytest.approx(expected, abs=1e-3)
    assert payload["deviation_kwh"] == pytest.approx(daily[day] - expected, abs=2e-3)
    assert payload["deviation_percent"] == pytest.approx(100 * (daily[day] - expected) / expected, abs=0.01)
    # priced at the SEU's own source price (electricity 0.15 per kWh), not a constant for every source
    assert payload["deviation_cost_usd"] == pytest.approx((daily[day] - expected) * 0.15, abs=0.01)
    assert 0.0 <= payload["efficiency_score"] <= 1.0


def test_today_is_a_partial_day_compared_with_the_same_hours(plant_dsn):
    result = analyze(plant_dsn, "Compressor-1")
    local_now = REF_NOW.astimezone(dt.timezone(dt.timedelta(hours=-8)))  # PST on 2025-11-06
    assert result.date == local_now.date() and result.window.partial
    assert result.window.hours == pytest.approx(13.0)
    cutoff = local_now.time().replace(tzinfo=None)
    daily = run(_independent_daily(plant_dsn, "Compressor-1", ["energy"], "America/Los_Angeles",
                                   result.date - dt.timedelta(days=30), result.date, cutoff))
    assert result.actual_energy_kwh == pytest.approx(daily[result.date], abs=1e-3)
    history = [v for d, v in daily.items() if d < result.date]
    assert result.baseline_energy_kwh == pytest.approx(sum(history) / len(history), abs=1e-3)


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
