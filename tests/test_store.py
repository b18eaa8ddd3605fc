"""Store against a real PostgreSQL: schema, SEU catalogue, local days (DST), energy types."""
from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from skill_enms_performance.engine.timeutil import day_bounds_utc
from skill_enms_performance.store import Store, energy_types_for, redact_dsn, schema_sql

from .conftest import run

TZ = "Europe/Berlin"
FACTORY = uuid.UUID(int=1)
MACHINE = uuid.UUID(int=2)
BOILER = uuid.UUID(int=3)


async def _small_plant(dsn: str) -> None:
    """One factory in Berlin, a motor with 15-min readings over the 2025 DST changes, a boiler
    with three energy types at the same timestamps, and a few data faults."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(schema_sql())
        await conn.execute(schema_sql())  # idempotent
        await conn.execute("INSERT INTO factories VALUES ($1, 'F', 'Berlin', $2)", FACTORY, TZ)
        await conn.execute("INSERT INTO machines VALUES ($1, $2, 'Motor-1', 'motor', 10, true)", MACHINE, FACTORY)
        await conn.execute("INSERT INTO machines VALUES ($1, $2, 'Boiler-1', 'boiler', 40, true)", BOILER, FACTORY)
        sources = {}
        for name, unit, price in (("electricity", "kWh", 0.15), ("natural_gas", "m3", 0.5), ("steam", "kg", 0.08)):
            sources[name] = uuid.uuid4()
            await conn.execute("INSERT INTO energy_sources VALUES ($1, $2, $3, $4, 0.1)", sources[name], name, unit, price)
        await conn.execute("INSERT INTO seus VALUES ($1, 'Motor-1', $2, $3, true)", uuid.uuid4(),
                           sources["electricity"], [MACHINE])
        for name in ("electricity", "natural_gas", "steam"):
            await conn.execute("INSERT INTO seus VALUES ($1, 'Boiler-1', $2, $3, true)", uuid.uuid4(),
                               sources[name], [BOILER])
        start, end = day_bounds_utc(dt.date(2025, 3, 28), dt.date(2025, 3, 31), TZ)
        autumn_start, autumn_end = day_bounds_utc(dt.date(2025, 10, 25), dt.date(2025, 10, 27), TZ)
        rows = []
        for lo, hi in ((start, end), (autumn_start, autumn_end)):
            t = lo
            while t < hi:
                # 'energy' before noon UTC, 'electrical' after: both mean electricity
                rows.append((t, MACHINE, "energy" if t.hour < 12 else "electrical", 4.0, 1.0))
                rows.append((t, BOILER, "electricity", 0.4, 0.1))
                rows.append((t, BOILER, "natural_gas", 20.0, 5.0))
                rows.append((t, BOILER, "steam", 12.0, 3.0))
                t += dt.timedelta(minutes=15)
        await conn.copy_records_to_table("energy_readings", records=rows,
                                         columns=["time", "machine_id", "energy_type", "power_kw", "energy_kwh"])
        # faults that must not count: a NULL and a negative value
        bad = dt.datetime(2025, 3, 28, 10, 7, tzinfo=dt.timezone.utc)
        await conn.execute("INSERT INTO energy_readings VALUES ($1, $2, 'energy', NULL, NULL)", bad, MACHINE)
        await conn.execute("INSERT INTO energy_readings VALUES ($1, $2, 'energy', -5, -100)",
                           bad + dt.timedelta(minutes=1), MACHINE)
    finally:
        await conn.close()


def test_schema_is_idempotent_and_catalogue_reads_seus(fresh_db):
    run(_small_plant(fresh_db))

    async def go():
        store = Store(fresh_db)
        try:
            return await store.list_seus()
        finally:
            await store.close()

    seus = run(go())
    assert [(s.name, s.energy_source) for s in seus] == [
        ("Boiler-1", "electricity"), ("Boiler-1", "natural_gas"), ("Boiler-1", "steam"), ("Motor-1", "electricity")]
    motor = seus[-1]
    assert motor.timezone == TZ and motor.machine_types == ("motor",) and motor.factory == "F"
    assert motor.unit == "kWh" and motor.cost_per_unit == pytest.approx(0.15)


def test_local_days_follow_dst_and_energy_types_never_mix(fresh_db):
    run(_small_plant(fresh_db))

    async def go():
        store = Store(fresh_db)
        try:
            seus = {(s.name, s.energy_source): s for s in await store.list_seus()}
            motor = seus[("Motor-1", "electricity")]
            gas = seus[("Boiler-1", "natural_gas")]
            s, e = day_bounds_utc(dt.date(2025, 3, 29), dt.date(2025, 3, 30), TZ)
            spring = await store.daily_energy(motor, s, e)
            s, e = day_bounds_utc(dt.date(2025, 10, 25), dt.date(2025, 10, 26), TZ)
            autumn = await store.daily_energy(motor, s, e)
            s, e = day_bounds_utc(dt.date(2025, 3, 29), dt.date(2025, 3, 29), TZ)
            boiler_gas = await store.daily_energy(gas, s, e)
            partial = await store.daily_energy(motor, *day_bounds_utc(dt.date(2025, 3, 29), dt.date(2025, 3, 29), TZ),
                                               cutoff=dt.time(6, 0))
            return spring, autumn, boiler_gas, partial
        finally:
            await store.close()

    spring, autumn, boiler_gas, partial = run(go())
    # 2025-03-30 has 23 local hours, 2025-10-26 has 25: 4 readings of 1 kWh an hour
    assert [(d.day, d.energy_kwh) for d in spring] == [(dt.date(2025, 3, 29), 96.0), (dt.date(2025, 3, 30), 92.0)]
    assert [(d.day, d.energy_kwh) for d in autumn] == [(dt.date(2025, 10, 25), 96.0), (dt.date(2025, 10, 26), 100.0)]
    assert all(d.coverage == pytest.approx(1.0) for d in spring + autumn)
    # only natural gas counted for the gas SEU, never electricity or steam at the same timestamps
    assert boiler_gas[0].energy_kwh == pytest.approx(96 * 5.0)
    # a cut-off keeps only the first six local hours; coverage relative to those hours
    assert partial[0].energy_kwh == pytest.approx(24.0) and partial[0].coverage == pytest.approx(1.0)


def test_energy_type_aliases_and_redaction():
    assert set(energy_types_for("electricity")) == {"electricity", "energy", "electrical"}
    assert energy_types_for("steam") == ["steam"]
    assert redact_dsn("postgresql://enms:s3cret@db:5432/enms") == "postgresql://enms:***@db:5432/enms"
    assert "s3cret" not in redact_dsn("host=db user=enms password=s3cret dbname=enms")
