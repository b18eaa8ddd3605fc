"""Rollups: created on first use, incremental, pick up late and corrected data; read-only roles
fall back to on-the-fly aggregates with the same answers."""
from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from skill_enms_performance.engine import Engine

from .conftest import REF_NOW, run


async def _engine_call(dsn, fn, now=REF_NOW):
    engine = Engine(dsn, clock=lambda: now)
    try:
        return await fn(engine)
    finally:
        await engine.close()


def test_rollups_are_created_on_first_use_and_match_raw_sums(plant_copy):
    async def check(engine):
        assert await engine.mode() == "rollup"
        conn = await asyncpg.connect(plant_copy)
        try:
            rolled = await conn.fetchval(
                "SELECT sum(energy_kwh) FROM enms_perf.daily d JOIN machines m ON m.id = d.machine_id "
                "WHERE m.name = 'HVAC-Main' AND d.day = '2025-10-15'")
            raw = await conn.fetchval(
                "SELECT sum(energy_kwh)::float8 FROM energy_readings r JOIN machines m ON m.id = r.machine_id "
                "WHERE m.name = 'HVAC-Main' AND (r.time AT TIME ZONE 'America/Los_Angeles')::date = '2025-10-15'")
            assert rolled == pytest.approx(raw, rel=1e-12)
            coverage = await conn.fetchval(
                "SELECT min(coverage) FROM enms_perf.daily WHERE day BETWEEN '2025-10-01' AND '2025-10-31'")
            assert coverage == pytest.approx(1.0)
        finally:
            await conn.close()

    run(_engine_call(plant_copy, check))


def test_late_and_corrected_readings_are_picked_up(plant_copy):
    day = dt.date(2025, 11, 5)

    async def scenario(engine):
        before = await engine.analyze_seu_performance("Conveyor-A", None, day)
        conn = await asyncpg.connect(plant_copy)
        try:
            machine = await conn.fetchval("SELECT id FROM machines WHERE name = 'Conveyor-A'")
            # a corrected reading (+50 kWh) and a late-arriving extra energy type row for that day
            at = dt.datetime(2025, 11, 5, 18, 0, tzinfo=dt.timezone.utc)
            await conn.execute("UPDATE energy_readings SET energy_kwh = energy_kwh + 50 "
                               "WHERE machine_id = $1 AND time = $2", machine, at)
            await conn.execute("INSERT INTO energy_readings VALUES ($1, $2, 'electrical', 4, 1)",
                               at + dt.timedelta(minutes=7), machine)
        finally:
            await conn.close()
        await engine.refresh_rollups()
        after = await engine.analyze_seu_performance("Conveyor-A", None, day)
        return before, after

    before, after = run(_engine_call(plant_copy, scenario))
    assert after.actual_energy_kwh == pytest.approx(before.actual_energy_kwh + 51, abs=1e-6)


def test_a_refresh_that_finds_nothing_new_keeps_the_caches_and_changes_no_figure(plant_copy):
    """Unchanged readings re-aggregated give bit-identical daily rows (sums are order-independent), and the
    engine keeps its cached series and models; a changed reading drops them and shows up."""
    day = dt.date(2025, 11, 5)
    daily = ("SELECT machine_id, energy_type, day, energy_kwh, running_kwh, idle_kwh, coverage FROM enms_perf.daily "
             "WHERE day >= '2025-11-03' ORDER BY 1, 2, 3")

    async def scenario(engine):
        first = await engine.analyze_seu_performance("HVAC-Main", None, day)
        conn = await asyncpg.connect(plant_copy)
        try:
            rows_before = [tuple(r) for r in await conn.fetch(daily)]
            generation = engine._generation
            result = await engine.refresh_rollups()
            assert result["changed"] is False, result
            assert engine._generation == generation, "a refresh that changed nothing dropped the caches"
            rows_after = [tuple(r) for r in await conn.fetch(daily)]
            assert rows_after == rows_before  # exactly: same readings, same figures
            again = await engine.analyze_seu_performance("HVAC-Main", None, day)
            assert again.to_dict() == {**first.to_dict(), "timestamp": again.to_dict()["timestamp"]}

            machine = await conn.fetchval("SELECT id FROM machines WHERE name = 'HVAC-Main'")
            await conn.execute("UPDATE energy_readings SET energy_kwh = energy_kwh + 10 "
                               "WHERE machine_id = $1 AND time = $2", machine,
                               dt.datetime(2025, 11, 5, 20, 0, tzinfo=dt.timezone.utc))
            result = await engine.refresh_rollups()
            assert result["changed"] is True, result
            assert engine._generation == generation + 1
            changed = await engine.analyze_seu_performance("HVAC-Main", None, day)
            assert changed.actual_energy_kwh == pytest.approx(first.actual_energy_kwh + 10, abs=1e-6)
        finally:
            await conn.close()

    run(_engine_call(plant_copy, scenario))


def test_read_only_role_computes_on_the_fly_with_the_same_answer(plant_copy):
    role = f"reader_{uuid.uuid4().hex[:8]}"
    db = urlsplit(plant_copy).path.lstrip("/")

    async def setup():
        conn = await asyncpg.connect(plant_copy)
        try:
            await conn.execute(f"CREATE ROLE {role} LOGIN")
            await conn.execute(f'REVOKE CREATE ON DATABASE "{db}" FROM PUBLIC')
            await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            await conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        finally:
            await conn.close()

    run(setup())
    parts = urlsplit(plant_copy)
    reader_dsn = urlunsplit(parts._replace(netloc=parts.netloc.replace("postgres", role, 1)))
    assert role in reader_dsn

    async def read_only(engine):
        mode = await engine.mode()
        health = await engine.health()
        result = await engine.analyze_seu_performance("Compressor-1", None, "2025-10-21")
        return mode, health, result

    mode, health, raw_result = run(_engine_call(reader_dsn, read_only))
    assert mode == "raw" and health["mode"] == "raw" and health["database_reachable"]
    rolled = run(_engine_call(plant_copy, lambda e: e.analyze_seu_performance("Compressor-1", None, "2025-10-21")))
    assert raw_result.actual_energy_kwh == pytest.approx(rolled.actual_energy_kwh, abs=1e-6)
    assert raw_result.baseline_energy_kwh == pytest.approx(rolled.baseline_energy_kwh, rel=1e-6)
    assert raw_result.iso50001_status == rolled.iso50001_status

    async def cannot_write():
        conn = await asyncpg.connect(reader_dsn)
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM energy_readings")
            assert await conn.fetchval("SELECT to_regnamespace('enms_perf') IS NULL") is False  # made by the owner
        finally:
            await conn.close()

    run(cannot_write())
