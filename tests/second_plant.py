"""A second generated plant, built to differ from the demo plant on purpose (issue 11).

- A US bakery in Columbus, Ohio (America/New_York) that closes the holidays of its own choosing (New Year,
  Memorial Day, Independence Day, Labor Day, Thanksgiving, Christmas) and works the federal holidays a bank
  closes: Martin Luther King Day, Washington's Birthday, Juneteenth, Columbus Day, Veterans Day.
- A German plant in Augsburg, Bavaria (Europe/Berlin) that closes the Bavarian public holidays, a summer
  shutdown week (ISO week 32) and the bridge day after Ascension.
- Hourly meters with and without production data, a daily-read meter (one reading per local day at midnight,
  the energy of that day) and a monthly-read (billing) meter (one reading per month, the energy of that month).
- An SEU that contains other SEUs' machines: the compressed-air station (``SEU_GROUPS``) holds both compressors,
  each of which is an SEU of its own.
- Planted events with known truth (``EVENTS``, ``HOURLY_EVENTS``): a closed holiday run like a working day, a
  week-long burner fault that has ended, a compressed-air leak on one compressor (a constant load in every hour,
  still going on) and ventilation without production data that starts running through the night.

Daily energy per machine: ``base[class] + k * production + heating * HDD(15 C)`` times ``1 + N(0, noise)``,
spread over the day's hours (shift hours on working days; a production machine stands by outside its shift). Small enough to build in a few seconds.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import uuid
from zoneinfo import ZoneInfo

import asyncpg
import holidays
import numpy as np

from skill_enms_performance.store import schema_sql

#: the clock of the second plant (tests pin the engine to it)
NOW = dt.datetime(2025, 11, 20, 18, 0, tzinfo=dt.timezone.utc)
FIRST_DAY = dt.date(2024, 4, 1)
LAST_DAY = dt.date(2025, 11, 19)
SEED = 1111

US_CLOSED_HOLIDAYS = ("New Year's Day", "Memorial Day", "Independence Day", "Labor Day", "Thanksgiving Day",
                      "Christmas Day")
#: federal holidays a bank closes, worked by the bakery
US_WORKED_HOLIDAYS = ("Martin Luther King Jr. Day", "Washington's Birthday",
                      "Juneteenth National Independence Day", "Columbus Day", "Veterans Day")
DE_SHUTDOWN_ISO_WEEK = 32

_NS = uuid.UUID("0b5e0c1d-1111-4e6b-9a3c-2b7e0e5d0002")


@dataclasses.dataclass(frozen=True)
class Factory:
    name: str
    location: str
    timezone: str
    country: str
    subdiv: str | None
    temp_mean_c: float
    temp_amp_c: float


@dataclasses.dataclass(frozen=True)
class Machine:
    name: str
    factory: int
    type: str
    rated_kw: float
    energy_type: str
    source: str
    base_working_kwh: float
    base_closed_kwh: float
    per_unit_kwh: float          # 0: no production data
    units_per_day: float
    heating_kwh_per_dd: float
    reading: str                 # "hourly", "daily", "monthly"
    noise: float = 0.04


FACTORIES = (
    Factory("Ridgeway Bakery Works", "Columbus, OH, USA", "America/New_York", "US", "OH", 11.0, 13.0),
    Factory("Werk Augsburg", "Augsburg, Bayern, Germany", "Europe/Berlin", "DE", "BY", 9.0, 10.0),
)

MACHINES = (
    Machine("Tunnel-Oven-2", 0, "other", 400.0, "natural_gas", "natural_gas", 1400.0, 120.0, 0.9, 2000.0, 0.0,
            "hourly"),
    Machine("Gas-Kiln-5", 0, "other", 250.0, "natural_gas", "natural_gas", 2600.0, 150.0, 0.0, 0.0, 6.0,
            "hourly"),
    Machine("Office-Block-Meter", 0, "hvac", 60.0, "energy", "electricity", 420.0, 160.0, 0.0, 0.0, 14.0,
            "daily"),
    Machine("Presse-7", 1, "motor", 180.0, "energy", "electricity", 900.0, 60.0, 0.35, 1500.0, 0.0, "hourly"),
    Machine("Lackierofen", 1, "other", 300.0, "natural_gas", "natural_gas", 2200.0, 180.0, 0.0, 0.0, 9.0,
            "hourly"),
    Machine("Hauptzaehler-Halle-3", 1, "other", 200.0, "energy", "electricity", 1800.0, 300.0, 0.0, 0.0, 8.0,
            "monthly"),
    Machine("Kompressor-3", 1, "compressor", 75.0, "energy", "electricity", 700.0, 60.0, 0.2, 1500.0, 0.0, "hourly"),
    Machine("Kompressor-4", 1, "compressor", 55.0, "energy", "electricity", 520.0, 45.0, 0.15, 1500.0, 0.0, "hourly"),
    Machine("Lueftung-Halle-2", 1, "hvac", 45.0, "energy", "electricity", 500.0, 150.0, 0.0, 0.0, 10.0, "hourly"),
)

#: SEUs over several machines: (name, machines); each of those machines is an SEU of its own as well
SEU_GROUPS = (("Druckluftstation", ("Kompressor-3", "Kompressor-4")),)

#: planted events: (machine, first day, last day, extra share of the expected energy)
EVENTS = (
    # the paint oven is left burning on German Unity Day (a closed holiday): energy of a working day
    ("Lackierofen", dt.date(2025, 10, 3), dt.date(2025, 10, 3), "as_working_day"),
    # a burner fault on the kiln: +30 % for a week
    ("Gas-Kiln-5", dt.date(2025, 11, 3), dt.date(2025, 11, 7), 0.30),
)

#: planted hourly loads, on top of the day's energy (which they are not part of): (machine, first day, last day or
#: None while it goes on, kW, local hours [from, to) or None for every hour)
HOURLY_EVENTS = (
    # a compressed-air leak: a constant load in every hour, working or not
    ("Kompressor-3", dt.date(2025, 10, 14), None, 6.0, None),
    # the hall's ventilation left running through the night, every night (no production data)
    ("Lueftung-Halle-2", dt.date(2025, 10, 22), None, 18.0, (22, 6)),
)

ENERGY_SOURCES = {"electricity": ("kWh", 0.14, 0.40), "natural_gas": ("m3", 0.45, 2.03)}


@functools.lru_cache(maxsize=16)
def _holidays(country: str, subdiv: str | None, year: int) -> dict[dt.date, str]:
    return dict(holidays.country_holidays(country, subdiv=subdiv, years=year, language="en_US"))


@functools.lru_cache(maxsize=4096)
def is_closed(factory: Factory, day: dt.date) -> bool:
    """The factory's own calendar (the truth the engine must learn)."""
    if day.isoweekday() >= 6:
        return True
    names = _holidays(factory.country, factory.subdiv, day.year)
    name = names.get(day)
    if factory.country == "US":
        return bool(name) and name.replace(" (observed)", "") in US_CLOSED_HOLIDAYS
    if name:
        return True
    if day.isocalendar()[1] == DE_SHUTDOWN_ISO_WEEK:
        return True
    # bridge day after Ascension (always a Thursday)
    before = names.get(day - dt.timedelta(days=1)) or ""
    return day.isoweekday() == 5 and "Ascension" in before


def temperature(factory: int, day: dt.date, rng_by_day) -> float:
    f = FACTORIES[factory]
    doy = day.timetuple().tm_yday
    return f.temp_mean_c - f.temp_amp_c * np.cos(2 * np.pi * (doy - 15) / 365.25) + rng_by_day.normal(0, 2.5)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([SEED, *key])


def day_energy(m: Machine, day: dt.date, temp_c: float, events: bool = True) -> tuple[float, float]:
    """(energy kWh, production units) of one machine on one local day, ``EVENTS`` included unless not ``events``
    (the hourly loads of ``HOURLY_EVENTS`` come on top)."""
    f = FACTORIES[m.factory]
    rng = _rng(MACHINES.index(m), day.toordinal())
    closed = is_closed(f, day)
    units = 0.0 if closed or not m.per_unit_kwh else m.units_per_day * float(np.clip(rng.normal(1, 0.15), 0.6, 1.3))
    base = m.base_closed_kwh if closed else m.base_working_kwh
    hdd = max(15.0 - temp_c, 0.0)
    expected = base + m.per_unit_kwh * units + m.heating_kwh_per_dd * hdd
    for name, first, last, extra in EVENTS if events else ():
        if name == m.name and first <= day <= last:
            if extra == "as_working_day":
                expected = m.base_working_kwh + m.heating_kwh_per_dd * hdd
            else:
                expected *= 1.0 + float(extra)
    noise = float(np.clip(rng.normal(0, m.noise), -3 * m.noise, 3 * m.noise))
    return expected * (1.0 + noise), units


def hourly_extra_kw(machine: str, day: dt.date, local_hour: int) -> float:
    """The planted hourly load of ``HOURLY_EVENTS`` in one local hour (a night's hours after midnight belong to the
    night that began the evening before, which must lie within the event)."""
    kw = 0.0
    for name, first, last, load_kw, hours in HOURLY_EVENTS:
        if name != machine:
            continue
        night_of = day
        if hours is not None:
            start_h, end_h = hours
            if not (local_hour >= start_h or local_hour < end_h):
                continue
            if local_hour < end_h:
                night_of = day - dt.timedelta(days=1)
        if first <= night_of and (last is None or night_of <= last):
            kw += load_kw
    return kw


def event_excess_kwh(machine: str, day: dt.date) -> float:
    """The energy the planted events add to one machine's local day (its truth)."""
    m = next(x for x in MACHINES if x.name == machine)
    temps = _temperatures()
    t = temps[m.factory, day]
    excess = day_energy(m, day, t)[0] - day_energy(m, day, t, events=False)[0]
    return excess + sum(hourly_extra_kw(machine, day, h) for h in range(24))


@functools.lru_cache(maxsize=1)
def _temperatures() -> dict[tuple[int, dt.date], float]:
    return {(fi, day): temperature(fi, day, _rng(100 + fi, day.toordinal())) for fi in range(len(FACTORIES))
            for day in _days()}


def truth_closed(machine: str, day: dt.date) -> bool:
    m = next(x for x in MACHINES if x.name == machine)
    return is_closed(FACTORIES[m.factory], day)


def _days() -> list[dt.date]:
    return [FIRST_DAY + dt.timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]


def _shift_weights(closed: bool) -> np.ndarray:
    w = np.full(24, 0.2 if not closed else 1.0)
    if not closed:
        w[6:22] = 1.0
    return w / w.sum()


def build_rows():
    """(factories, machines, readings, production, weather) rows of the plant."""
    readings, production, weather = [], [], []
    temps = _temperatures()
    for fi, f in enumerate(FACTORIES):
        tz = ZoneInfo(f.timezone)
        for day in _days():
            t = temps[fi, day]
            for h in (3, 9, 15, 21):
                weather.append((dt.datetime.combine(day, dt.time(h), tz), fi, t))
    for mi, m in enumerate(MACHINES):
        f = FACTORIES[m.factory]
        tz = ZoneInfo(f.timezone)
        month_kwh, month_start = 0.0, None
        for day in _days():
            energy, units = day_energy(m, day, temps[m.factory, day])
            midnight = dt.datetime.combine(day, dt.time(0), tz)
            if m.reading == "hourly":  # UTC hours of the local day (23 or 25 on DST days)
                start = midnight.astimezone(dt.timezone.utc)
                end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz).astimezone(dt.timezone.utc)
                instants = [start + dt.timedelta(hours=h) for h in range(int((end - start).total_seconds() // 3600))]
                local_h = [a.astimezone(tz).hour for a in instants]
                closed = is_closed(f, day)
                if m.per_unit_kwh and not closed:
                    # a production machine stands by outside its shift (its closed-day level) and draws the rest
                    # in the shift's hours
                    on = np.array([6 <= h < 22 for h in local_h])
                    standby = m.base_closed_kwh / 24.0
                    hour_kwh = np.where(on, (energy - standby * (~on).sum()) / on.sum(), standby)
                else:
                    weights = _shift_weights(closed)[local_h]
                    hour_kwh = energy * weights / weights.sum()
                for at, h, kwh_h in zip(instants, local_h, hour_kwh, strict=True):
                    kwh = float(kwh_h) + hourly_extra_kw(m.name, day, h)
                    readings.append((at, mi, m.energy_type, kwh, kwh))
                    if units and 6 <= h < 22:
                        production.append((at, mi, int(round(units / 16))))
            elif m.reading == "daily":
                readings.append((midnight, mi, m.energy_type, energy / 24, energy))
            else:  # monthly: the month's energy stamped at the first of the month
                if month_start is None or day.day == 1:
                    if month_start is not None:
                        readings.append((month_start, mi, m.energy_type, None, month_kwh))
                    month_kwh, month_start = 0.0, midnight
                month_kwh += energy
        if m.reading == "monthly" and month_start is not None and LAST_DAY.month != (LAST_DAY + dt.timedelta(days=1)).month:
            readings.append((month_start, mi, m.energy_type, None, month_kwh))
    return readings, production, weather


async def load(conn: asyncpg.Connection) -> None:
    """Create the EnMS tables and load the plant (one transaction)."""
    readings, production, weather = build_rows()
    async with conn.transaction():
        await conn.execute(schema_sql())
        f_ids = [uuid.uuid5(_NS, f.name) for f in FACTORIES]
        for fid, f in zip(f_ids, FACTORIES, strict=True):
            await conn.execute("INSERT INTO factories (id, name, location, timezone) VALUES ($1, $2, $3, $4)",
                               fid, f.name, f.location, f.timezone)
        src_ids = {}
        for name, (unit, cost, carbon) in ENERGY_SOURCES.items():
            src_ids[name] = await conn.fetchval(
                "INSERT INTO energy_sources (id, name, unit, cost_per_unit, carbon_factor) VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (name) DO UPDATE SET unit = EXCLUDED.unit RETURNING id",
                uuid.uuid5(_NS, name), name, unit, cost, carbon)
        m_ids = [uuid.uuid5(_NS, m.name) for m in MACHINES]
        for mid, m in zip(m_ids, MACHINES, strict=True):
            await conn.execute("INSERT INTO machines (id, factory_id, name, type, rated_power_kw, is_active)"
                               " VALUES ($1, $2, $3, $4, $5, true)", mid, f_ids[m.factory], m.name, m.type, m.rated_kw)
            await conn.execute("INSERT INTO seus (id, name, energy_source_id, machine_ids, is_active)"
                               " VALUES ($1, $2, $3, $4, true)", uuid.uuid5(_NS, "seu " + m.name), m.name,
                               src_ids[m.source], [mid])
        for name, members in SEU_GROUPS:
            parts = [next(x for x in MACHINES if x.name == n) for n in members]
            await conn.execute("INSERT INTO seus (id, name, energy_source_id, machine_ids, is_active)"
                               " VALUES ($1, $2, $3, $4, true)", uuid.uuid5(_NS, "seu " + name), name,
                               src_ids[parts[0].source], [m_ids[MACHINES.index(p)] for p in parts])
        await conn.copy_records_to_table(
            "energy_readings", columns=["time", "machine_id", "energy_type", "power_kw", "energy_kwh"],
            records=[(t, m_ids[mi], et, p, e) for t, mi, et, p, e in readings])
        await conn.copy_records_to_table(
            "production_data", columns=["time", "machine_id", "production_count", "operating_mode"],
            records=[(t, m_ids[mi], n, "production") for t, mi, n in production])
        weather_machine = {0: m_ids[0], 1: m_ids[3]}
        await conn.copy_records_to_table(
            "environmental_data", columns=["time", "machine_id", "outdoor_temp_c"],
            records=[(t, weather_machine[fi], round(temp, 2)) for t, fi, temp in weather])
