"""Reference-plant generator against a real PostgreSQL: catalogue, row counts, DST days, Boiler-1's
three energy types, physics vs. ``plant_truth`` (regression on daily data), injected events,
determinism, and ``top_up`` equal to a fresh full load."""
from __future__ import annotations

import datetime as dt
import os
import uuid
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
import pytest

from skill_enms_performance.demo import generator as g

from .conftest import _create_db, _drop_db, _servers, run, with_database

UTC = dt.timezone.utc
END = dt.datetime(2025, 11, 6, 21, 7, tzinfo=UTC)  # 13:07 in San Jose, 22:07 in Munich
ANCHOR = dt.date(2025, 11, 6)
SJ, MUC = g.FACTORIES[0], g.FACTORIES[1]


# --- helpers ------------------------------------------------------------------------------
async def _fetch(dsn: str, sql: str, *args):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def fetch(dsn: str, sql: str, *args) -> list[asyncpg.Record]:
    return run(_fetch(dsn, sql, *args))


def fetchval(dsn: str, sql: str, *args):
    rows = fetch(dsn, sql, *args)
    return rows[0][0] if rows else None


def load(dsn: str, **kwargs) -> g.PlantReport:
    async def go() -> g.PlantReport:
        conn = await asyncpg.connect(dsn)
        try:
            return await g.load_reference_plant(conn, **kwargs)
        finally:
            await conn.close()
    return run(go())


def top_up(dsn: str, now: dt.datetime) -> int:
    async def go() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return await g.top_up(conn, now=now)
        finally:
            await conn.close()
    return run(go())


def _admin_for(request, server: str) -> str:
    return request.getfixturevalue("admin_dsn") if server == "embedded" else os.environ["ENMS_TEST_DSN"]


def new_db(admin: str, request) -> str:
    """A fresh database on ``admin``'s server, dropped at the end of the test."""
    name = f"g_{uuid.uuid4().hex[:12]}"
    run(_create_db(admin, name))
    request.addfinalizer(lambda: run(_drop_db(admin, name)))
    return with_database(admin, name)


def fingerprint(dsn: str, since: dt.datetime | None = None) -> tuple:
    """md5 of every row of the three data tables (optionally from ``since`` on) and of the catalogue."""
    lo = since or dt.datetime(1900, 1, 1, tzinfo=UTC)
    data = tuple(fetchval(dsn, sql, lo) for sql in (
        "SELECT md5(string_agg(concat_ws('|', extract(epoch FROM time), machine_id, energy_type, power_kw, energy_kwh),"
        " ',' ORDER BY machine_id, energy_type, time)) FROM energy_readings WHERE time >= $1",
        "SELECT md5(string_agg(concat_ws('|', extract(epoch FROM time), machine_id, production_count, operating_mode),"
        " ',' ORDER BY machine_id, time)) FROM production_data WHERE time >= $1",
        "SELECT md5(string_agg(concat_ws('|', extract(epoch FROM time), machine_id, outdoor_temp_c),"
        " ',' ORDER BY machine_id, time)) FROM environmental_data WHERE time >= $1",
    ))
    catalogue = fetchval(dsn, "SELECT md5(string_agg(concat_ws('|', m.id, m.name, m.type, m.rated_power_kw, f.id, f.name),"
                              " ',' ORDER BY m.name)) FROM machines m JOIN factories f ON f.id = m.factory_id")
    return (*data, catalogue)


def local_midnight(day: dt.date, tz: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def expected_intervals(end: dt.datetime, days: int, tz: str, step_min: int) -> int:
    """Intervals from local midnight ``days`` days before the local day of ``end`` up to ``end``
    floored to ``step_min`` (an independent count of what a load must write per series)."""
    start = local_midnight(end.astimezone(ZoneInfo(tz)).date() - dt.timedelta(days=days), tz)
    return int((end - start).total_seconds() // (step_min * 60))


def daily(dsn: str, machine: str, energy_type: str, tz: str) -> dict[dt.date, tuple[float, int]]:
    rows = fetch(dsn, "SELECT (time AT TIME ZONE $3)::date AS day, sum(energy_kwh)::float8 AS kwh, count(*) AS n "
                      "FROM energy_readings WHERE machine_id = $1 AND energy_type = $2 GROUP BY 1",
                 g.machine_id(machine), energy_type, tz)
    return {r["day"]: (r["kwh"], r["n"]) for r in rows}


def daily_production(dsn: str, machine: str, tz: str) -> dict[dt.date, int]:
    rows = fetch(dsn, "SELECT (time AT TIME ZONE $2)::date AS day, sum(production_count)::int AS p "
                      "FROM production_data WHERE machine_id = $1 GROUP BY 1", g.machine_id(machine), tz)
    return {r["day"]: r["p"] for r in rows}


def daily_temperature(dsn: str, factory: g._Factory) -> dict[dt.date, float]:
    hvac = "HVAC-Main" if factory is SJ else "HVAC-EU-North"
    rows = fetch(dsn, "SELECT (time AT TIME ZONE $2)::date AS day, avg(outdoor_temp_c)::float8 AS t "
                      "FROM environmental_data WHERE machine_id = $1 GROUP BY 1", g.machine_id(hvac), factory.timezone)
    return {r["day"]: r["t"] for r in rows}


def energy_type_of(seu: g.SeuTruth) -> str:
    return seu.energy_source if seu.machine_name == "Boiler-1" else "energy"


def expected(seu: g.SeuTruth, day: dt.date, prod: dict, temps: dict) -> float:
    return seu.expected_kwh(g.calendar_class(seu.factory, day), prod.get(day, 0), temps[day])


# --- a two-year, 15-minute plant per server (loaded once per module) --------------------------
@pytest.fixture(scope="module", params=_servers())
def plant(request):
    admin = _admin_for(request, request.param)
    name = f"g2y_{uuid.uuid4().hex[:10]}"
    run(_create_db(admin, name))
    dsn = with_database(admin, name)
    report = load(dsn, end=END, days=730, resolution_minutes=15)
    yield dsn, report
    run(_drop_db(admin, name))


@pytest.fixture(scope="module")
def truth() -> g.PlantTruth:
    return g.plant_truth(ANCHOR, resolution_minutes=15)


def test_two_year_load_within_time_budget_and_counts(plant):
    dsn, report = plant
    assert report.seconds < 60, f"2 years at 15 min took {report.seconds:.1f} s"
    assert report.anchor == ANCHOR and report.seed == g.REFERENCE_SEED and report.resolution_minutes == 15
    sj = expected_intervals(END, 730, SJ.timezone, 15)
    muc = expected_intervals(END, 730, MUC.timezone, 15)
    # San Jose: 5 single-energy machines + Boiler-1 x3; Munich: 2 machines
    assert report.rows["energy_readings"] == 8 * sj + 2 * muc
    assert report.rows["production_data"] == 4 * sj + 1 * muc
    assert report.rows["environmental_data"] == sj + muc
    for table in ("energy_readings", "production_data", "environmental_data"):
        assert fetchval(dsn, f"SELECT count(*) FROM {table}") == report.rows[table]
    assert report.first_reading == local_midnight(ANCHOR - dt.timedelta(days=730), MUC.timezone)
    assert report.last_reading == dt.datetime(2025, 11, 6, 20, 45, tzinfo=UTC)
    assert fetchval(dsn, "SELECT max(time) FROM environmental_data") == dt.datetime(2025, 11, 6, 20, 45, tzinfo=UTC)
    # energy_kwh is the interval's energy: power * 0.25 h
    assert fetchval(dsn, "SELECT max(abs(energy_kwh - power_kw * 0.25)) FROM energy_readings") <= 1e-6
    meta = fetch(dsn, "SELECT anchor, seed, resolution_minutes FROM enms_demo.plant_meta")
    assert [tuple(r) for r in meta] == [(ANCHOR, g.REFERENCE_SEED, 15)]


def test_catalogue(plant):
    dsn, _ = plant
    factories = {tuple(r) for r in fetch(dsn, "SELECT name, location, timezone FROM factories")}
    assert factories == {("Demo Manufacturing Plant", "San Jose, CA, USA", "America/Los_Angeles"),
                         ("European Production Facility", "Munich, Bayern, Germany", "Europe/Berlin")}
    machines = {(r["name"], r["type"], float(r["rated_power_kw"]), r["f"]) for r in fetch(
        dsn, "SELECT m.name, m.type, m.rated_power_kw, f.name AS f FROM machines m JOIN factories f ON f.id = m.factory_id")}
    sj, muc = SJ.name, MUC.name
    assert machines == {("Compressor-1", "compressor", 55, sj), ("HVAC-Main", "hvac", 150, sj),
                        ("Conveyor-A", "motor", 22, sj), ("Hydraulic-Pump-1", "pump", 45, sj),
                        ("Injection-Molding-1", "injection_molding", 120, sj), ("Boiler-1", "boiler", 45, sj),
                        ("Compressor-EU-1", "compressor", 90, muc), ("HVAC-EU-North", "hvac", 200, muc)}
    sources = {(r["name"], r["unit"], float(r["cost_per_unit"]), float(r["carbon_factor"]))
               for r in fetch(dsn, "SELECT * FROM energy_sources")}
    assert sources == {("electricity", "kWh", 0.15, 0.45), ("natural_gas", "m3", 0.50, 2.03),
                       ("compressed_air", "Nm3", 0.03, 0.12), ("steam", "kg", 0.08, 0.35)}
    seus = sorted((r["name"], r["source"], r["machine"]) for r in fetch(
        dsn, "SELECT s.name, es.name AS source, m.name AS machine FROM seus s "
             "JOIN energy_sources es ON es.id = s.energy_source_id JOIN machines m ON m.id = ANY(s.machine_ids)"))
    assert seus == sorted([(m.name, "electricity", m.name) for m in g.MACHINES]
                          + [("Boiler-1", "natural_gas", "Boiler-1"), ("Boiler-1", "steam", "Boiler-1")])
    assert {(s.seu_name, s.energy_source) for s in g.plant_truth(ANCHOR).seus} == {(n, s) for n, s, _ in seus}


def test_tariff_covers_every_hour_once_in_san_jose_only(plant):
    dsn, _ = plant
    rows = fetch(dsn, "SELECT f.name, t.rate_per_kwh, t.start_hour, t.end_hour, t.applicable_days "
                      "FROM energy_tariffs t JOIN factories f ON f.id = t.factory_id")
    assert {r["name"] for r in rows} == {SJ.name}
    for day in range(1, 8):
        for hour in range(24):
            rates = [float(r["rate_per_kwh"]) for r in rows
                     if day in r["applicable_days"] and r["start_hour"] <= hour < r["end_hour"]]
            assert len(rates) == 1, (day, hour, rates)
            assert rates[0] == (0.28 if day <= 5 and 12 <= hour < 18 else
                                0.18 if day <= 5 and 8 <= hour < 22 else 0.11)


def test_dst_days_have_23_and_25_local_hours(plant):
    dsn, _ = plant
    for f in (SJ, MUC):
        days = [ANCHOR - dt.timedelta(days=k) for k in range(1, 730)]
        hours = {d: (local_midnight(d + dt.timedelta(days=1), f.timezone) - local_midnight(d, f.timezone))
                 .total_seconds() / 3600 for d in days}
        assert sorted(set(hours.values())) == [23.0, 24.0, 25.0]
        assert sum(h != 24 for h in hours.values()) == 4  # two springs, two autumns
        for m in (m for m in g.MACHINES if g.FACTORIES[m.factory] is f):
            for et in m.energy_types:
                per_day = daily(dsn, m.name, et, f.timezone)
                for d, h in hours.items():
                    assert per_day[d][1] == h * 4, (m.name, et, d)
            if m.kind == "production":
                n = {r["day"]: r["n"] for r in fetch(
                    dsn, "SELECT (time AT TIME ZONE $2)::date AS day, count(*) AS n FROM production_data "
                         "WHERE machine_id = $1 GROUP BY 1", g.machine_id(m.name), f.timezone)}
                assert all(n[d] == h * 4 for d, h in hours.items())


def test_boiler_has_three_energy_types_at_the_same_timestamps(plant):
    dsn, _ = plant
    boiler = g.machine_id("Boiler-1")
    types = fetch(dsn, "SELECT energy_type, count(*) AS n FROM energy_readings WHERE machine_id = $1 GROUP BY 1", boiler)
    assert {r["energy_type"] for r in types} == {"electricity", "natural_gas", "steam"}
    assert len({r["n"] for r in types}) == 1
    assert fetchval(dsn, "SELECT count(*) FROM (SELECT time FROM energy_readings WHERE machine_id = $1 "
                         "GROUP BY time HAVING count(DISTINCT energy_type) <> 3) x", boiler) == 0
    others = fetchval(dsn, "SELECT count(*) FROM energy_readings WHERE machine_id <> $1 AND energy_type <> 'energy'",
                      boiler)
    assert others == 0
    # gas exceeds steam (efficiency), electricity is small
    sums = {r["energy_type"]: float(r["e"]) for r in fetch(
        dsn, "SELECT energy_type, sum(energy_kwh) AS e FROM energy_readings WHERE machine_id = $1 GROUP BY 1", boiler)}
    assert sums["natural_gas"] > sums["steam"] > 5 * sums["electricity"] > 0


def test_power_stays_within_rated_power(plant):
    dsn, _ = plant
    rows = fetch(dsn, "SELECT m.name, r.energy_type, max(r.power_kw)::float8 AS pmax, min(r.power_kw)::float8 AS pmin, "
                      "m.rated_power_kw::float8 AS rated FROM energy_readings r JOIN machines m ON m.id = r.machine_id "
                      "GROUP BY 1, 2, 5")
    assert len(rows) == 10
    for r in rows:
        assert 0 < r["pmin"] and r["pmax"] <= 1.02 * r["rated"], dict(r)


def test_weather_is_plausible(plant):
    dsn, _ = plant
    for f, jan, jul in ((SJ, 10.0, 22.0), (MUC, 0.0, 19.0)):
        temps = daily_temperature(dsn, f)
        days = sorted(d for d in temps if d < ANCHOR)
        by_month = {m: np.mean([temps[d] for d in days if d.month == m]) for m in (1, 7)}
        assert abs(by_month[1] - jan) < 2.5 and abs(by_month[7] - jul) < 2.5, by_month
        # day-to-day weather is autocorrelated (AR(1)), not white noise
        anomaly = np.array([temps[d] for d in days])
        anomaly = anomaly - np.convolve(anomaly, np.ones(31) / 31, mode="same")
        anomaly = anomaly[15:-15]
        rho = np.corrcoef(anomaly[:-1], anomaly[1:])[0, 1]
        assert 0.4 < rho < 0.95, rho
        hourly = fetch(dsn, "SELECT extract(hour FROM time AT TIME ZONE $2)::int AS h, avg(outdoor_temp_c)::float8 AS t "
                            "FROM environmental_data WHERE machine_id = $1 GROUP BY 1 ORDER BY 1",
                       g.machine_id("HVAC-Main" if f is SJ else "HVAC-EU-North"), f.timezone)
        t = [r["t"] for r in hourly]
        assert int(np.argmin(t)) in (4, 5) and int(np.argmax(t)) in (14, 15)
        assert 10 <= max(t) - min(t) <= 14  # daily swing of 5-7 C around the mean
    assert fetchval(dsn, "SELECT count(*) FROM environmental_data WHERE outdoor_temp_c * 10 <> round(outdoor_temp_c * 10)") == 0


def test_daily_energy_follows_the_truth(plant, truth):
    """Regress each SEU's daily energy on its calendar classes, production and degree days (the
    truth's change points) over event-free days, and compare with the truth's coefficients."""
    dsn, _ = plant
    temps = {f.name: daily_temperature(dsn, f) for f in (SJ, MUC)}
    for seu in truth.seus:
        et = energy_type_of(seu)
        energy = daily(dsn, seu.machine_name, et, seu.timezone)
        prod = daily_production(dsn, seu.machine_name, seu.timezone) if seu.production_driven else {}
        t = temps[seu.factory]
        events = [e for e in truth.events if e.seu_name == seu.seu_name and e.kind != "reduced_production"]
        days = sorted(d for d in energy if d < ANCHOR - dt.timedelta(days=1) and not any(e.active(d) for e in events))
        classes = sorted({g.calendar_class(seu.factory, d) for d in days})
        assert classes == (["closed", "saturday", "working"] if seu.factory == MUC.name else ["closed", "working"])
        cols = [[float(g.calendar_class(seu.factory, d) == c) for d in days] for c in classes]
        names = list(classes)
        if seu.production_driven:
            cols.append([prod[d] for d in days])
            names.append("kwh_per_unit")
        if seu.heating_base_c is not None:
            cols.append([max(0.0, seu.heating_base_c - t[d]) for d in days])
            names.append("hdd")
        if seu.cooling_base_c is not None:
            cols.append([max(0.0, t[d] - seu.cooling_base_c) for d in days])
            names.append("cdd")
        x = np.array(cols).T
        y = np.array([energy[d][0] for d in days])
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        true = {**seu.intercept_kwh, "kwh_per_unit": seu.kwh_per_unit, "hdd": seu.hdd_kwh_per_degree_day,
                "cdd": seu.cdd_kwh_per_degree_day}
        for name, value in zip(names, coef, strict=True):
            assert abs(value - true[name]) <= 0.10 * true[name], (seu.seu_name, seu.energy_source, name, value, true[name])
        # the truth model itself explains the data to its noise level (a few percent), not exactly
        e_hat = np.array([expected(seu, d, prod, t) for d in days])
        cv = np.sqrt(np.mean((y - e_hat) ** 2)) / y.mean()
        rel_sd = np.std(y / e_hat - 1.0)
        assert 0.005 < cv < 0.15, (seu.seu_name, cv)
        assert 0.7 * seu.noise_fraction < rel_sd < 1.15 * seu.noise_fraction, (seu.seu_name, rel_sd)


def test_leak_raises_compressor_eu_night_base_load(plant, truth):
    dsn, _ = plant
    leak = truth.event("compressed_air_leak")
    assert (leak.seu_name, leak.start, leak.end, leak.extra_kw) == ("Compressor-EU-1", ANCHOR - dt.timedelta(45), None, 6.0)
    rows = fetch(dsn, "SELECT (time AT TIME ZONE $2)::date AS day, avg(power_kw)::float8 AS p FROM energy_readings "
                      "WHERE machine_id = $1 AND extract(hour FROM time AT TIME ZONE $2) < 5 GROUP BY 1",
                 g.machine_id("Compressor-EU-1"), MUC.timezone)
    night = {r["day"]: r["p"] for r in rows if g.calendar_class(MUC.name, r["day"]) == "closed"}
    before = [p for d, p in night.items() if leak.start - dt.timedelta(120) <= d < leak.start]
    after = [p for d, p in night.items() if d >= leak.start]
    assert len(after) >= 6 and len(before) >= 15
    assert abs(np.mean(after) - np.mean(before) - leak.extra_kw) < 0.3
    # and every leak day carries the extra energy over the model
    energy = daily(dsn, "Compressor-EU-1", "energy", MUC.timezone)
    prod = daily_production(dsn, "Compressor-EU-1", MUC.timezone)
    seu = truth.seu("Compressor-EU-1")
    t = daily_temperature(dsn, MUC)
    days = [d for d in energy if leak.start <= d < ANCHOR]
    resid = np.array([energy[d][0] - expected(seu, d, prod, t) for d in days])
    assert abs(resid.mean() - leak.extra_kwh_per_day) < 3 * resid.std() / np.sqrt(len(resid))
    assert abs(resid.mean() - leak.extra_kwh_per_day) < 0.15 * leak.extra_kwh_per_day


def test_idle_running_after_the_last_shift(plant, truth):
    dsn, _ = plant
    ev = truth.event("idle_running")
    assert (ev.seu_name, ev.start, ev.hours_per_day) == ("Compressor-1", ANCHOR - dt.timedelta(60), 2.0)
    rows = fetch(dsn, "SELECT (r.time AT TIME ZONE $2)::date AS day, avg(r.power_kw)::float8 AS p, "
                      "array_agg(DISTINCT p.operating_mode) AS modes, sum(p.production_count) AS units "
                      "FROM energy_readings r JOIN production_data p USING (machine_id, time) "
                      "WHERE r.machine_id = $1 AND extract(hour FROM r.time AT TIME ZONE $2) >= 22 GROUP BY 1",
                 g.machine_id("Compressor-1"), SJ.timezone)
    late = {r["day"]: r for r in rows if g.calendar_class(SJ.name, r["day"]) == "working" and r["day"] < ANCHOR}
    before = [r for d, r in late.items() if ev.start - dt.timedelta(120) <= d < ev.start]
    after = [r for d, r in late.items() if d >= ev.start]
    assert len(after) >= 35 and len(before) >= 70
    assert all(r["modes"] == ["off"] for r in before)
    assert all(r["modes"] == ["idle"] and r["units"] == 0 for r in after)
    rise = np.mean([r["p"] for r in after]) - np.mean([r["p"] for r in before])
    assert abs(rise - ev.extra_kw) < 0.05 * ev.extra_kw
    # daily: the extra is there on working days and only there
    energy = daily(dsn, "Compressor-1", "energy", SJ.timezone)
    prod = daily_production(dsn, "Compressor-1", SJ.timezone)
    seu = truth.seu("Compressor-1")
    t = daily_temperature(dsn, SJ)
    for cls, extra in (("working", ev.extra_kwh_per_day), ("closed", 0.0)):
        resid = np.array([energy[d][0] - expected(seu, d, prod, t) for d in energy
                          if ev.start <= d < ANCHOR and g.calendar_class(SJ.name, d) == cls])
        assert abs(resid.mean() - extra) < max(3 * resid.std() / np.sqrt(len(resid)), 1.0), (cls, resid.mean())


def test_hvac_fault_days_use_35_percent_more(plant, truth):
    dsn, _ = plant
    ev = truth.event("hvac_fault")
    assert (ev.seu_name, ev.start, ev.end) == ("HVAC-Main", ANCHOR - dt.timedelta(20), ANCHOR - dt.timedelta(13))
    assert len(ev.daily_extra_kwh) == 8
    energy = daily(dsn, "HVAC-Main", "energy", SJ.timezone)
    t = daily_temperature(dsn, SJ)
    seu = truth.seu("HVAC-Main")
    ratio = {d: energy[d][0] / expected(seu, d, {}, t) for d in energy if ANCHOR - dt.timedelta(40) <= d < ANCHOR}
    fault = [r for d, r in ratio.items() if ev.active(d)]
    normal = [r for d, r in ratio.items() if not ev.active(d)]
    assert len(fault) == 8 and abs(np.mean(fault) - 1.35) < 0.05
    assert abs(np.mean(normal) - 1.0) < 0.03 and max(normal) < 1.15
    for d, extra in ev.daily_extra_kwh.items():  # the truth's per-day extra is exact
        assert abs(energy[d][0] * 0.35 / 1.35 - extra) < 0.05
    assert abs(ev.extra_kwh_per_day - np.mean(list(ev.daily_extra_kwh.values()))) < 1e-9


def test_reduced_production_week_follows_the_physics(plant, truth):
    dsn, _ = plant
    evs = truth.events_of("reduced_production")
    assert {e.seu_name for e in evs} == {"Compressor-1", "Injection-Molding-1"}
    ev = evs[0]
    assert (ev.start, ev.end, ev.fraction) == (ANCHOR - dt.timedelta(9), ANCHOR - dt.timedelta(3), 0.4)
    # a machine of the same plant-wide demand that was not reduced is the reference
    ref = daily_production(dsn, "Hydraulic-Pump-1", SJ.timezone)
    ref_rate = g.MACHINES[g._MACHINE_INDEX["Hydraulic-Pump-1"]].units_per_hour
    t = daily_temperature(dsn, SJ)
    for name in ("Compressor-1", "Injection-Molding-1"):
        prod = daily_production(dsn, name, SJ.timezone)
        rate = g.MACHINES[g._MACHINE_INDEX[name]].units_per_hour
        working = [d for d in prod if g.calendar_class(SJ.name, d) == "working" and d < ANCHOR]
        rel = {d: (prod[d] / rate) / (ref[d] / ref_rate) for d in working}
        week = [rel[d] for d in working if ev.active(d)]
        normal = [rel[d] for d in working if ANCHOR - dt.timedelta(60) <= d < ev.start]
        assert len(week) == 5
        assert abs(np.mean(week) - 0.6) < 0.04 and abs(np.mean(normal) - 1.0) < 0.04
        if name == "Injection-Molding-1":  # energy follows production: the model still fits
            energy = daily(dsn, name, "energy", SJ.timezone)
            seu = truth.seu(name)
            ratio = [energy[d][0] / expected(seu, d, prod, t) for d in working if ev.active(d)]
            assert abs(np.mean(ratio) - 1.0) < 0.04


# --- small loads: determinism, top_up, 1-minute resolution ------------------------------------
@pytest.fixture(params=_servers())
def admin(request) -> str:
    return _admin_for(request, request.param)


def test_loads_are_deterministic_and_reruns_replace(admin, request):
    a, b, c = new_db(admin, request), new_db(admin, request), new_db(admin, request)
    ra = load(a, end=END, days=120, resolution_minutes=60)
    load(b, end=END, days=120, resolution_minutes=60)
    assert fingerprint(a) == fingerprint(b)
    assert fetch(a, "SELECT sum(energy_kwh) FROM energy_readings") == fetch(b, "SELECT sum(energy_kwh) FROM energy_readings")
    rerun = load(a, end=END, days=120, resolution_minutes=60)  # same database again: replaced, not doubled
    assert rerun.rows == ra.rows and fingerprint(a) == fingerprint(b)
    assert fetchval(a, "SELECT count(*) FROM seus") == 10 and fetchval(a, "SELECT count(*) FROM energy_tariffs") == 6
    load(c, end=END, days=120, resolution_minutes=60, seed=g.REFERENCE_SEED + 1)
    assert fingerprint(c)[:3] != fingerprint(a)[:3]
    assert fingerprint(c)[3] == fingerprint(a)[3]  # same catalogue, same ids
    assert fetchval(a, "SELECT count(*) FROM environmental_data") == ra.rows["environmental_data"] == (
        expected_intervals(END, 120, SJ.timezone, 60) + expected_intervals(END, 120, MUC.timezone, 60))


@pytest.mark.parametrize("resolution, later", [
    (60, dt.timedelta(days=2, hours=12, minutes=34)),  # crosses local midnights of both factories
    (15, dt.timedelta(hours=9, minutes=50)),
])
def test_top_up_equals_a_fresh_load(admin, request, resolution, later):
    topped, fresh = new_db(admin, request), new_db(admin, request)
    load(topped, end=END, days=30, resolution_minutes=resolution)
    before = {t: fetchval(topped, f"SELECT count(*) FROM {t}")
              for t in ("energy_readings", "production_data", "environmental_data")}
    now = END + later
    added = top_up(topped, now)
    floor_end = END.replace(minute=END.minute // resolution * resolution)
    steps = int((g._floor(now, resolution) - floor_end).total_seconds() // (resolution * 60))
    assert added == steps * (10 + 5 + 2)  # readings of 10 series, 5 production machines, 2 weather carriers
    assert sum(fetchval(topped, f"SELECT count(*) FROM {t}") - n for t, n in before.items()) == added
    assert top_up(topped, now) == 0
    assert top_up(topped, END) == 0  # going back adds nothing
    last = g._floor(now, resolution) - dt.timedelta(minutes=resolution)
    assert fetchval(topped, "SELECT max(time) FROM energy_readings") == last
    assert fetchval(topped, "SELECT count(*) FROM (SELECT 1 FROM energy_readings "
                            "GROUP BY machine_id, time, energy_type HAVING count(*) > 1) x") == 0
    # a fresh load up to `now` with the same anchor holds exactly the same rows
    load(fresh, end=now, days=40, resolution_minutes=resolution, anchor=ANCHOR)
    # compare from the latest first reading of any machine on (the factories start at their own midnights)
    since = fetchval(topped, "SELECT max(t) FROM (SELECT min(time) AS t FROM energy_readings GROUP BY machine_id) x")
    assert fingerprint(topped, since=since) == fingerprint(fresh, since=since)
    assert fetchval(topped, "SELECT data_until FROM enms_demo.plant_meta") == g._floor(now, resolution)


def test_top_up_requires_a_plant(admin, request):
    with pytest.raises(g.DemoPlantMissing):
        top_up(new_db(admin, request), END)


def test_one_minute_resolution(admin, request):
    dsn = new_db(admin, request)
    report = load(dsn, end=END, days=2, resolution_minutes=1)
    sj = expected_intervals(END, 2, SJ.timezone, 1)
    muc = expected_intervals(END, 2, MUC.timezone, 1)
    assert report.rows["energy_readings"] == 8 * sj + 2 * muc
    assert report.rows["production_data"] == 4 * sj + muc
    # weather stays at 15 minutes
    assert report.rows["environmental_data"] == (expected_intervals(END, 2, SJ.timezone, 15)
                                                 + expected_intervals(END, 2, MUC.timezone, 15))
    assert fetchval(dsn, "SELECT count(DISTINCT extract(minute FROM time)) FROM environmental_data") == 4
    # a full local day has 1440 readings per series
    day = ANCHOR - dt.timedelta(days=1)
    assert daily(dsn, "Conveyor-A", "energy", SJ.timezone)[day][1] == 1440
    # the day's energy is independent of the resolution for production machines (same units, same physics)
    coarse = new_db(admin, request)
    load(coarse, end=END, days=2, resolution_minutes=15)
    for name in ("Compressor-1", "Injection-Molding-1", "Conveyor-A"):
        fine = daily(dsn, name, "energy", SJ.timezone)[day][0]
        assert abs(fine - daily(coarse, name, "energy", SJ.timezone)[day][0]) < 0.01 * fine
        assert daily_production(dsn, name, SJ.timezone)[day] == daily_production(coarse, name, SJ.timezone)[day]
    added = top_up(dsn, END + dt.timedelta(minutes=33))
    assert added == 33 * 15 + 2 * 2  # 33 min of 10 readings + 5 production rows; 2 quarter-hours of weather
