"""The reference plant: a deterministic, seeded generator of EnMS demo data.

Two factories, eight machines, ten SEUs (schema: ``store/schema.sql``), readings at a fixed
resolution with known physics, so that the engine's tests can compare what it finds with the truth
(``plant_truth``).

Determinism: everything about a machine's local calendar day is a pure function of
(seed, machine, day, resolution, anchor): random numbers come from a numpy Generator seeded with
(seed, stream, entity, day ordinal), the day-to-day weather AR(1) is realised as a truncated moving
average of per-day innovations (phi**61 < 1e-7), and events are placed relative to the anchor date.
A day produced by ``top_up`` is therefore identical to the same day of a fresh full load.

Daily physics (what the engine models), per calendar class c in {working, saturday, closed}:
  production machines  E_d = (standby_kw*H + (idle_kw - standby_kw)*H_on[c] + k*P_d) * (1 + e_d)
  HVAC                 E_d = (base[c] + bH*HDD(Th) + bC*CDD(Tc)) * (1 + e_d)
  Boiler-1 steam       E_d = (base[c] + bH*HDD(Th)) * (1 + e_d)
           natural gas E_d = (steam expectation / efficiency + loss_kw*24) * (1 + e'_d)
           electricity E_d = (standby_kw*24 + pumps_kw*H_on[c] + fan_share*gas expectation) * (1 + e''_d)
with e_d ~ N(0, noise_fraction) truncated at 3 sd, H the hours of the local day (23/25 on DST days) and
degree days from the mean of the day's stored outdoor temperatures. Non-routine events add on top.
"""
from __future__ import annotations

import asyncio
import bisect
import dataclasses
import datetime as dt
import functools
import itertools
import math
import time
import uuid
from decimal import Decimal
from typing import Sequence
from zoneinfo import ZoneInfo

import asyncpg
import holidays
import numpy as np

from ..store import demo_sql as S
from ..store import schema_sql

REFERENCE_SEED = 50001
GENERATOR_VERSION = 1
UTC = dt.timezone.utc

_NAMESPACE = uuid.UUID("6f1d7c8e-5001-4e6b-9a3c-2b7e0e5d0001")
_LOCK_KEY = 50001_0001  # pg_advisory_xact_lock key serialising loads and top-ups
_ALLOWED_RESOLUTIONS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
_COPY_CHUNK_TASKS = 160  # (machine, day) pairs per COPY batch: bounds memory at 1-minute resolution

# random streams
_S_WEATHER, _S_DEMAND, _S_MACHINE = 1, 2, 3

# weather: AR(1) day-to-day anomaly, realised as a truncated moving average (pure per day)
_AR_PHI = 0.75
_AR_TAPS = 60

# production: plant-wide demand factor per day and a small machine-specific factor
_DEMAND_SD, _MACHINE_DEMAND_SD, _DEMAND_CLIP = 0.15, 0.03, (0.6, 1.3)
_RAMP_MIN, _HANDOVER_MIN = 60, 15
_JITTER = 0.015  # interval-to-interval noise; it sums to zero over a day

# Boiler-1
BOILER_EFFICIENCY = 0.85
BOILER_GAS_LOSS_KW = 0.3
BOILER_EL_STANDBY_KW = 0.25
BOILER_EL_PUMPS_KW = 1.2
BOILER_EL_FAN_SHARE = 0.03

# non-routine events (days relative to the anchor date A)
LEAK_KW = 6.0
LEAK_FROM_DAYS = 45
IDLE_RUNNING_FROM_DAYS = 60
IDLE_RUNNING_HOURS = (22, 24)
HVAC_FAULT_DAYS = (20, 13)
HVAC_FAULT_FRACTION = 0.35
REDUCED_PRODUCTION_DAYS = (9, 3)
REDUCED_PRODUCTION_FRACTION = 0.40

CALENDAR_CLASSES = ("working", "saturday", "closed")
_READING_COLUMNS = ["time", "machine_id", "energy_type", "power_kw", "energy_kwh"]
_PRODUCTION_COLUMNS = ["time", "machine_id", "production_count", "operating_mode"]
_ENV_COLUMNS = ["time", "machine_id", "outdoor_temp_c"]
_COLUMNS = (_READING_COLUMNS, _PRODUCTION_COLUMNS, _ENV_COLUMNS)


# --------------------------------------------------------------------------------------------
# The plant
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Shift:
    """A production block of a calendar class in local wall-clock hours."""
    start_h: int
    end_h: int
    rate: float        # production rate relative to the machine's nominal rate
    handover: bool     # a shift change at start_h: 15 min without production if already running


@dataclasses.dataclass(frozen=True)
class _Factory:
    name: str
    location: str
    timezone: str
    country: str
    subdiv: str | None
    shifts: dict[str, tuple[_Shift, ...]]
    temp_mean_c: float       # annual mean of the seasonal sinusoid
    temp_amplitude_c: float  # Jan ~ mean - amplitude, Jul ~ mean + amplitude
    weather_sd_c: float      # stationary sd of the AR(1) day-to-day anomaly
    heating_base_c: float
    cooling_base_c: float


FACTORIES: tuple[_Factory, ...] = (
    _Factory("Demo Manufacturing Plant", "San Jose, CA, USA", "America/Los_Angeles", "US", "CA",
             {"working": (_Shift(6, 14, 1.0, True), _Shift(14, 22, 0.85, True)), "saturday": ()},
             temp_mean_c=16.0, temp_amplitude_c=6.0, weather_sd_c=2.0,
             heating_base_c=15.0, cooling_base_c=20.0),
    _Factory("European Production Facility", "Munich, Bayern, Germany", "Europe/Berlin", "DE", "BY",
             {"working": (_Shift(0, 6, 0.7, False), _Shift(6, 14, 1.0, True), _Shift(14, 22, 0.9, True),
                          _Shift(22, 24, 0.7, True)),
              "saturday": (_Shift(6, 14, 1.0, True),)},
             temp_mean_c=9.5, temp_amplitude_c=9.5, weather_sd_c=3.5,
             heating_base_c=14.0, cooling_base_c=21.0),
)


@dataclasses.dataclass(frozen=True)
class _Machine:
    name: str
    type: str
    rated_kw: float
    factory: int
    kind: str                     # 'production' | 'hvac' | 'boiler'
    standby_kw: float = 0.0
    idle_kw: float = 0.0
    kwh_per_unit: float = 0.0
    units_per_hour: float = 0.0   # nominal rate at shift rate 1.0 and demand 1.0
    base_kwh: tuple[float, float, float] = (0.0, 0.0, 0.0)  # hvac / boiler steam: working, saturday, closed
    hdd_kwh: float = 0.0
    cdd_kwh: float = 0.0
    noise: float = 0.03

    @property
    def energy_types(self) -> tuple[str, ...]:
        return ("electricity", "natural_gas", "steam") if self.kind == "boiler" else ("energy",)


MACHINES: tuple[_Machine, ...] = (
    _Machine("Compressor-1", "compressor", 55, 0, "production", standby_kw=1.1, idle_kw=17.0,
             kwh_per_unit=0.06, units_per_hour=260),
    _Machine("HVAC-Main", "hvac", 150, 0, "hvac", base_kwh=(880.0, 360.0, 360.0), hdd_kwh=40.0, cdd_kwh=55.0,
             noise=0.035),
    _Machine("Conveyor-A", "motor", 22, 0, "production", standby_kw=0.4, idle_kw=6.0,
             kwh_per_unit=0.0045, units_per_hour=1400),
    _Machine("Hydraulic-Pump-1", "pump", 45, 0, "production", standby_kw=0.9, idle_kw=12.0,
             kwh_per_unit=0.05, units_per_hour=360),
    _Machine("Injection-Molding-1", "injection_molding", 120, 0, "production", standby_kw=2.0, idle_kw=35.0,
             kwh_per_unit=0.12, units_per_hour=400),
    _Machine("Boiler-1", "boiler", 45, 0, "boiler", base_kwh=(260.0, 40.0, 40.0), hdd_kwh=18.0),
    _Machine("Compressor-EU-1", "compressor", 90, 1, "production", standby_kw=1.8, idle_kw=24.0,
             kwh_per_unit=0.05, units_per_hour=600),
    _Machine("HVAC-EU-North", "hvac", 200, 1, "hvac", base_kwh=(1400.0, 1000.0, 650.0), hdd_kwh=65.0,
             cdd_kwh=80.0, noise=0.035),
)
_MACHINE_INDEX = {m.name: i for i, m in enumerate(MACHINES)}

ENERGY_SOURCES: tuple[tuple[str, str, float, float], ...] = (
    ("electricity", "kWh", 0.15, 0.45),
    ("natural_gas", "m3", 0.50, 2.03),
    ("compressed_air", "Nm3", 0.03, 0.12),
    ("steam", "kg", 0.08, 0.35),
)

#: San Jose time-of-use tariff: (rate per kWh, start hour, end hour, ISO weekdays)
SAN_JOSE_TARIFF: tuple[tuple[float, int, int, tuple[int, ...]], ...] = (
    (0.11, 0, 8, (1, 2, 3, 4, 5)),
    (0.18, 8, 12, (1, 2, 3, 4, 5)),
    (0.28, 12, 18, (1, 2, 3, 4, 5)),
    (0.18, 18, 22, (1, 2, 3, 4, 5)),
    (0.11, 22, 24, (1, 2, 3, 4, 5)),
    (0.11, 0, 24, (6, 7)),
)

#: (kind, machines, first day before anchor, last day before anchor or None if ongoing)
_EVENTS: tuple[tuple[str, tuple[str, ...], int, int | None], ...] = (
    ("compressed_air_leak", ("Compressor-EU-1",), LEAK_FROM_DAYS, None),
    ("idle_running", ("Compressor-1",), IDLE_RUNNING_FROM_DAYS, None),
    ("hvac_fault", ("HVAC-Main",), *HVAC_FAULT_DAYS),
    ("reduced_production", ("Compressor-1", "Injection-Molding-1"), *REDUCED_PRODUCTION_DAYS),
)


def _uid(kind: str, name: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{kind}:{name}")


def factory_id(name: str) -> uuid.UUID:
    """The fixed id of a reference-plant factory."""
    return _uid("factory", name)


def machine_id(name: str) -> uuid.UUID:
    """The fixed id of a reference-plant machine."""
    return _uid("machine", name)


def seu_id(name: str, energy_source: str) -> uuid.UUID:
    """The fixed id of a reference-plant SEU."""
    return _uid("seu", f"{name}/{energy_source}")


# --------------------------------------------------------------------------------------------
# Public result types
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PlantReport:
    """What ``load_reference_plant`` wrote."""
    rows: dict[str, int]                 # table -> rows written by this load
    first_reading: dt.datetime | None    # earliest energy_readings.time (interval start, UTC)
    last_reading: dt.datetime | None     # latest energy_readings.time
    seconds: float                       # wall time of the load, including ANALYZE
    anchor: dt.date
    seed: int
    resolution_minutes: int


@dataclasses.dataclass(frozen=True)
class SeuTruth:
    """The daily model the engine should recover for one SEU (from days without events).

    ``intercept_kwh`` is keyed by calendar class ('working', 'saturday', 'closed'); for a
    factory that does not work on Saturdays the 'saturday' value equals 'closed'. Production
    machines' standby part scales with the hours of the day, so on 23/25-hour DST days (always
    closed days here) their closed-day intercept differs by one hour of standby.
    """
    seu_name: str
    energy_source: str
    machine_name: str
    factory: str
    timezone: str
    intercept_kwh: dict[str, float]
    kwh_per_unit: float                    # 0.0 where production is no driver
    hdd_kwh_per_degree_day: float
    heating_base_c: float | None
    cdd_kwh_per_degree_day: float
    cooling_base_c: float | None
    noise_fraction: float                  # sd of the multiplicative daily noise (normal, cut at 3 sd)
    production_driven: bool

    def expected_kwh(self, calendar: str, production: float = 0.0, mean_temp_c: float | None = None) -> float:
        """The model's expected daily energy (without noise and events)."""
        e = self.intercept_kwh[calendar] + self.kwh_per_unit * production
        if mean_temp_c is not None:
            if self.heating_base_c is not None:
                e += self.hdd_kwh_per_degree_day * max(0.0, self.heating_base_c - mean_temp_c)
            if self.cooling_base_c is not None:
                e += self.cdd_kwh_per_degree_day * max(0.0, mean_temp_c - self.cooling_base_c)
        return e


@dataclasses.dataclass(frozen=True)
class EventTruth:
    """An injected non-routine event (dates are local days of the SEU's factory).

    extra_kwh_per_day: the energy above the daily model on an affected day: the leak
    (extra_kw * 24), idle running (per working day, extra_kw * hours_per_day), the HVAC fault
    (mean of ``daily_extra_kwh``, exact per day there). Reduced production is explained by the
    model (energy follows production), so its extra is 0 and ``fraction`` is the cut in production.
    """
    kind: str
    seu_name: str
    energy_source: str
    start: dt.date
    end: dt.date | None
    extra_kwh_per_day: float
    extra_kw: float | None = None
    hours_per_day: float | None = None
    fraction: float | None = None
    daily_extra_kwh: dict[dt.date, float] = dataclasses.field(default_factory=dict)

    def active(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclasses.dataclass(frozen=True)
class PlantTruth:
    """The known truth of the reference plant for one anchor date."""
    anchor: dt.date
    seed: int
    resolution_minutes: int
    seus: tuple[SeuTruth, ...]
    events: tuple[EventTruth, ...]

    def seu(self, name: str, energy_source: str = "electricity") -> SeuTruth:
        for s in self.seus:
            if s.seu_name == name and s.energy_source == energy_source:
                return s
        raise KeyError(f"{name}/{energy_source}")

    def events_of(self, kind: str) -> list[EventTruth]:
        return [e for e in self.events if e.kind == kind]

    def event(self, kind: str, seu_name: str | None = None) -> EventTruth:
        for e in self.events:
            if e.kind == kind and (seu_name is None or e.seu_name == seu_name):
                return e
        raise KeyError(kind)


class DemoPlantMissing(RuntimeError):
    """``top_up`` on a database without a reference plant."""


# --------------------------------------------------------------------------------------------
# Calendar, local time frames, weather
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _holidays(fi: int) -> holidays.HolidayBase:
    f = FACTORIES[fi]
    return holidays.country_holidays(f.country, subdiv=f.subdiv)


@functools.lru_cache(maxsize=8192)
def _calendar(fi: int, day: dt.date) -> str:
    if day in _holidays(fi):
        return "closed"
    wd = day.weekday()
    if wd < 5:
        return "working"
    if wd == 5 and FACTORIES[fi].shifts["saturday"]:
        return "saturday"
    return "closed"


def calendar_class(factory: str, day: dt.date) -> str:
    """'working', 'saturday' (a working Saturday) or 'closed' (weekend, public holiday) for a
    reference-plant factory (by name) and a local day."""
    for fi, f in enumerate(FACTORIES):
        if f.name == factory:
            return _calendar(fi, day)
    raise KeyError(factory)


def _shifts(fi: int, day: dt.date) -> tuple[_Shift, ...]:
    return FACTORIES[fi].shifts.get(_calendar(fi, day), ())


@functools.lru_cache(maxsize=2048)
def _frame(tz: str, day: dt.date) -> tuple[dt.datetime, int, np.ndarray]:
    """UTC start of the local day, its length in minutes, and the local wall-clock minute of
    each of its UTC minutes (DST shifts happen on the hour in these zones)."""
    z = ZoneInfo(tz)
    t0 = dt.datetime.combine(day, dt.time(0), tzinfo=z).astimezone(UTC)
    t1 = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=z).astimezone(UTC)
    n_min = int((t1 - t0).total_seconds()) // 60
    offsets = np.array([(t0 + dt.timedelta(hours=k)).astimezone(z).utcoffset().total_seconds() // 60
                        for k in range(n_min // 60)], dtype=np.int64)
    wall = np.arange(n_min, dtype=np.int64) + np.repeat(offsets - offsets[0], 60)
    return t0, n_min, wall


@functools.lru_cache(maxsize=64)  # batches run day by day; tuples of 1440 datetimes are large
def _times(tz: str, day: dt.date, step_min: int) -> tuple[dt.datetime, ...]:
    t0, n_min, _ = _frame(tz, day)
    step = dt.timedelta(minutes=step_min)
    return tuple(t0 + i * step for i in range(n_min // step_min))


@functools.lru_cache(maxsize=65536)
def _weather_draw(seed: int, fi: int, ordinal: int) -> tuple[float, float]:
    """(AR innovation, diurnal half-range in C) of one local day."""
    rng = np.random.default_rng([seed, _S_WEATHER, fi, ordinal])
    return float(np.clip(rng.standard_normal(), -3.0, 3.0)), float(rng.uniform(5.0, 7.0))


@functools.lru_cache(maxsize=65536)
def _weather_anomaly(seed: int, fi: int, ordinal: int) -> float:
    sd = FACTORIES[fi].weather_sd_c * math.sqrt(1.0 - _AR_PHI ** 2)
    return sd * sum(_AR_PHI ** k * _weather_draw(seed, fi, ordinal - k)[0] for k in range(_AR_TAPS + 1))


def _temperature(seed: int, fi: int, day: dt.date, minutes: np.ndarray) -> np.ndarray:
    """Outdoor temperature (C) at ``minutes`` after the local midnight of ``day`` (UTC minutes)."""
    f = FACTORIES[fi]
    _, n_min, wall = _frame(f.timezone, day)
    idx = np.minimum(minutes.astype(np.int64), n_min - 1)
    wall_min = wall[idx] + (minutes - idx)
    doy = day.timetuple().tm_yday - 1 + wall_min / 1440.0
    seasonal = f.temp_mean_c - f.temp_amplitude_c * np.cos(2 * np.pi * (doy - 15.0) / 365.25)
    o = day.toordinal()
    w_prev, w_day, w_next = (_weather_anomaly(seed, fi, o + k) for k in (-1, 0, 1))
    x = wall_min / 1440.0 - 0.5  # position relative to local noon, in days
    weather = np.where(x >= 0, w_day + x * (w_next - w_day), w_day - x * (w_prev - w_day))
    half_range = _weather_draw(seed, fi, o)[1]
    h = wall_min / 60.0
    h = np.where(h < 5.0, h + 24.0, h)  # 05:00 minimum, 15:00 maximum; falls from 15:00 to 05:00
    diurnal = np.where(h < 15.0, -half_range * np.cos(np.pi * (h - 5.0) / 10.0),
                       half_range * np.cos(np.pi * (h - 15.0) / 14.0))
    return seasonal + weather + diurnal


@functools.lru_cache(maxsize=8192)
def _day_temperatures(seed: int, fi: int, day: dt.date, step_min: int) -> tuple[np.ndarray, float]:
    """The stored (0.1 C) temperatures of a local day at ``step_min`` and their mean."""
    _, n_min, _ = _frame(FACTORIES[fi].timezone, day)
    mid = (np.arange(n_min // step_min) + 0.5) * step_min
    temps = np.round(_temperature(seed, fi, day, mid), 1)
    return temps, float(temps.mean())


@functools.lru_cache(maxsize=65536)
def _demand_draw(seed: int, fi: int, ordinal: int) -> float:
    rng = np.random.default_rng([seed, _S_DEMAND, fi, ordinal])
    return float(np.clip(rng.standard_normal(), -3.0, 3.0))


@functools.lru_cache(maxsize=64)
def _schedule(fi: int, day: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Per UTC minute of the local day: machine running (0/1) and production weight (shift rate,
    0 during shift handovers, ramping up over the first hour after a cold start)."""
    _, n_min, wall = _frame(FACTORIES[fi].timezone, day)
    on = np.zeros(n_min)
    weight = np.zeros(n_min)
    shifts = _shifts(fi, day)
    prev_runs_to_midnight = any(s.end_h == 24 for s in _shifts(fi, day - dt.timedelta(days=1)))
    for s in shifts:
        sel = (wall >= s.start_h * 60) & (wall < s.end_h * 60)
        on[sel] = 1.0
        since = wall[sel] - s.start_h * 60
        running_before = (any(p.end_h == s.start_h for p in shifts)
                          or (s.start_h == 0 and prev_runs_to_midnight))
        if not running_before:
            weight[sel] = s.rate * np.clip((since + 0.5) / _RAMP_MIN, 0.0, 1.0)
        elif s.handover:
            weight[sel] = np.where(since < _HANDOVER_MIN, 0.0, s.rate)
        else:
            weight[sel] = s.rate
    return on, weight


def _on_hours(fi: int, calendar: str) -> float:
    return float(sum(s.end_h - s.start_h for s in FACTORIES[fi].shifts.get(calendar, ())))


# --------------------------------------------------------------------------------------------
# One machine, one local day
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Ctx:
    seed: int
    resolution: int
    anchor: dt.date

    @property
    def env_resolution(self) -> int:
        return max(self.resolution, 15)

    def event_on(self, kind: str, machine: str, day: dt.date) -> bool:
        for k, machines, first, last in _EVENTS:
            if k == kind and machine in machines:
                start = self.anchor - dt.timedelta(days=first)
                return start <= day and (last is None or day <= self.anchor - dt.timedelta(days=last))
        return False


@dataclasses.dataclass
class _MachineDay:
    times: tuple[dt.datetime, ...]
    power_kw: dict[str, np.ndarray]       # rounded to 0.001 kW
    energy_kwh: dict[str, np.ndarray]     # rounded power * interval hours, rounded to 1e-6 kWh
    daily_kwh: dict[str, float]           # before rounding
    production: np.ndarray | None = None
    modes: list[str] | None = None
    env_times: tuple[dt.datetime, ...] | None = None
    temp_c: np.ndarray | None = None


def _jitter(p: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Interval noise that leaves the day's total unchanged and the power positive."""
    j = _JITTER * p * z
    total = p.sum()
    return p + j - p * (j.sum() / total) if total > 0 else p


def _degree_days(fi: int, mean_temp: float) -> tuple[float, float]:
    f = FACTORIES[fi]
    return max(0.0, f.heating_base_c - mean_temp), max(0.0, mean_temp - f.cooling_base_c)


def _machine_day(ctx: _Ctx, mi: int, day: dt.date) -> _MachineDay:
    m = MACHINES[mi]
    fi = m.factory
    tz = FACTORIES[fi].timezone
    r = ctx.resolution
    h = r / 60.0
    times = _times(tz, day, r)
    n = len(times)
    cal = _calendar(fi, day)
    ci = CALENDAR_CLASSES.index(cal)
    on_min, w_min = _schedule(fi, day)
    on = on_min.reshape(n, r).mean(axis=1)
    wall = _frame(tz, day)[2]

    rng = np.random.default_rng([ctx.seed, _S_MACHINE, mi, day.toordinal()])
    eps = np.clip(rng.standard_normal(3), -3.0, 3.0) * m.noise     # daily noise first: resolution-free
    z_machine = float(np.clip(rng.standard_normal(), -3.0, 3.0))
    jit = np.clip(rng.standard_normal((3, n)), -3.0, 3.0)

    out = _MachineDay(times=times, power_kw={}, energy_kwh={}, daily_kwh={})
    raw: dict[str, np.ndarray] = {}
    if m.kind == "production":
        weight = w_min.reshape(n, r).sum(axis=1)
        wsum = float(w_min.sum())
        demand = 1.0 + _DEMAND_SD * _demand_draw(ctx.seed, fi, day.toordinal()) + _MACHINE_DEMAND_SD * z_machine
        demand = min(max(demand, _DEMAND_CLIP[0]), _DEMAND_CLIP[1])
        if ctx.event_on("reduced_production", m.name, day):
            demand *= 1.0 - REDUCED_PRODUCTION_FRACTION
        units = int(round(m.units_per_hour * demand * wsum / 60.0))
        if wsum > 0:
            cum = np.rint(np.cumsum(weight) * (units / wsum))
            cum[-1] = units
            produced = np.diff(cum, prepend=0.0).astype(np.int64)
        else:
            produced = np.zeros(n, dtype=np.int64)
        base = m.standby_kw + (m.idle_kw - m.standby_kw) * on
        p = _jitter((base + m.kwh_per_unit * produced / h) * (1.0 + eps[0]), jit[0])
        extra_on = np.zeros(n)
        if cal == "working" and ctx.event_on("idle_running", m.name, day):
            h0, h1 = IDLE_RUNNING_HOURS
            extra_on = ((wall >= h0 * 60) & (wall < h1 * 60)).astype(float).reshape(n, r).mean(axis=1)
            p = p + (m.idle_kw - m.standby_kw) * extra_on
        if ctx.event_on("compressed_air_leak", m.name, day):
            p = p + LEAK_KW
        raw["energy"] = p
        out.production = produced
        out.modes = ["production" if u > 0 else ("idle" if (o >= 0.5 or x >= 0.5) else "off")
                     for u, o, x in zip(produced.tolist(), on.tolist(), extra_on.tolist(), strict=True)]
    else:
        _, mean_temp = _day_temperatures(ctx.seed, fi, day, ctx.env_resolution)
        hdd, cdd = _degree_days(fi, mean_temp)
        temps = _temperature(ctx.seed, fi, day, (np.arange(n) + 0.5) * r)
        if m.kind == "hvac":
            e_day = (m.base_kwh[ci] + m.hdd_kwh * hdd + m.cdd_kwh * cdd) * (1.0 + eps[0])
            if ctx.event_on("hvac_fault", m.name, day):
                e_day *= 1.0 + HVAC_FAULT_FRACTION
            # the base (ventilation, lighting) follows occupancy; degree-day energy is spread over the
            # whole day (thermal mass), more in the colder (heating) or warmer (cooling) hours
            f = FACTORIES[fi]
            base_share = m.base_kwh[ci] / (m.base_kwh[ci] + m.hdd_kwh * hdd + m.cdd_kwh * cdd)
            direction = 1.0 if mean_temp > (f.heating_base_c + f.cooling_base_c) / 2 else -1.0
            occupancy = 0.3 + on
            thermal = np.maximum(1.0 + 0.06 * direction * (temps - mean_temp), 0.2)
            shape = base_share * occupancy / occupancy.sum() + (1.0 - base_share) * thermal / thermal.sum()
            raw["energy"] = _jitter(e_day * shape / h, jit[0])
        else:  # boiler: steam and gas follow heat demand, electricity the burner and pumps
            steam_mu = m.base_kwh[ci] + m.hdd_kwh * hdd
            gas_mu = steam_mu / BOILER_EFFICIENCY + BOILER_GAS_LOSS_KW * 24.0
            el_mu = (BOILER_EL_STANDBY_KW * 24.0 + BOILER_EL_PUMPS_KW * float(on_min.sum()) / 60.0
                     + BOILER_EL_FAN_SHARE * gas_mu)
            shape = np.maximum(0.4 + on + 0.03 * (mean_temp - temps), 0.05)
            for k, (et, mu) in enumerate((("electricity", el_mu), ("natural_gas", gas_mu), ("steam", steam_mu))):
                raw[et] = _jitter(mu * (1.0 + eps[k]) * shape / (h * shape.sum()), jit[k])
    for et, p in raw.items():
        out.daily_kwh[et] = float(p.sum() * h)
        pw = np.round(p, 3)
        out.power_kw[et] = pw
        out.energy_kwh[et] = np.round(pw * h, 6)
    if m.kind == "hvac":  # the factory's weather is stored on its HVAC machine
        out.env_times = _times(tz, day, ctx.env_resolution)
        out.temp_c = _day_temperatures(ctx.seed, fi, day, ctx.env_resolution)[0]
    return out


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------
def _dec(a: np.ndarray) -> list[Decimal]:
    # floats would reach numeric as their full binary expansion; the shortest repr is the value
    return list(map(Decimal, map(repr, a.tolist())))


def _window(times: Sequence[dt.datetime], step_min: int, after: dt.datetime | None,
            until: dt.datetime) -> slice:
    """Intervals starting after ``after`` that are complete at ``until`` (start + step <= until)."""
    i0 = 0 if after is None else bisect.bisect_right(times, after)
    i1 = bisect.bisect_right(times, until - dt.timedelta(minutes=step_min))
    return slice(i0, max(i0, i1))


_Bounds = dict[tuple[str, ...], dt.datetime | None]  # series -> newest stored time (None: nothing stored)


def _day_rows(ctx: _Ctx, mi: int, mid: uuid.UUID, day: dt.date, after: _Bounds, until: dt.datetime,
              readings: list, production: list, env: list) -> None:
    d = _machine_day(ctx, mi, day)
    for et in d.power_kw:
        sl = _window(d.times, ctx.resolution, after.get(("e", et)), until)
        if sl.stop > sl.start:
            readings.extend(zip(d.times[sl], itertools.repeat(mid), itertools.repeat(et),
                                _dec(d.power_kw[et][sl]), _dec(d.energy_kwh[et][sl])))
    if d.production is not None:
        sl = _window(d.times, ctx.resolution, after.get(("p",)), until)
        production.extend(zip(d.times[sl], itertools.repeat(mid), d.production[sl].tolist(), d.modes[sl]))
    if d.temp_c is not None:
        sl = _window(d.env_times, ctx.env_resolution, after.get(("t",)), until)
        env.extend(zip(d.env_times[sl], itertools.repeat(mid), _dec(d.temp_c[sl])))


def _build_batch(ctx: _Ctx, batch: list[tuple[dt.date, int]], ids: dict[str, uuid.UUID],
                 after: dict[int, _Bounds], until: dt.datetime) -> tuple[list, list, list]:
    readings: list = []
    production: list = []
    env: list = []
    for day, mi in batch:
        _day_rows(ctx, mi, ids[MACHINES[mi].name], day, after.get(mi, {}), until, readings, production, env)
    return readings, production, env


async def _copy_tasks(conn: asyncpg.Connection, ctx: _Ctx, tasks: Sequence[tuple[dt.date, int]],
                      ids: dict[str, uuid.UUID], after: dict[int, _Bounds], until: dt.datetime,
                      tables: tuple[str, str, str]) -> tuple[dict[str, int], dt.datetime | None, dt.datetime | None]:
    """Generate (day, machine) tasks in batches and COPY them into ``tables`` (energy readings,
    production, environment). The next batch is generated in a worker thread while the server
    ingests the current one; each batch is a pure function of its tasks, so the result is the same."""
    counts = dict.fromkeys(tables, 0)
    first = last = None
    batches = [list(tasks[i:i + _COPY_CHUNK_TASKS]) for i in range(0, len(tasks), _COPY_CHUNK_TASKS)]
    pending = asyncio.ensure_future(asyncio.to_thread(_build_batch, ctx, batches[0], ids, after, until)) \
        if batches else None
    try:
        for k in range(len(batches)):
            rows_by_table = await pending
            pending = (asyncio.ensure_future(asyncio.to_thread(_build_batch, ctx, batches[k + 1], ids, after, until))
                       if k + 1 < len(batches) else None)
            for table, rows, cols in zip(tables, rows_by_table, _COLUMNS, strict=True):
                if rows:
                    await conn.copy_records_to_table(table, records=rows, columns=cols)
                    counts[table] += len(rows)
            readings = rows_by_table[0]
            if readings:
                lo, hi = min(r[0] for r in readings), max(r[0] for r in readings)
                first = lo if first is None or lo < first else first
                last = hi if last is None or hi > last else last
    finally:
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
    return counts, first, last


# --------------------------------------------------------------------------------------------
# Database
# --------------------------------------------------------------------------------------------
_ENMS_TABLES = ("factories", "machines", "energy_sources", "seus", "energy_readings",
                "production_data", "environmental_data", "energy_tariffs")


async def _ensure_schema(conn: asyncpg.Connection) -> None:
    missing = await conn.fetchval(S.COUNT_MISSING_TABLES, list(_ENMS_TABLES))
    if missing:
        await conn.execute(schema_sql())
    await conn.execute(S.PLANT_META_DDL)


async def _upsert_catalogue(conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    """Factories, machines, energy sources, SEUs and the San Jose tariff; returns machine ids by
    name. Rows that already exist under their natural keys keep their ids."""
    fids = []
    for f in FACTORIES:
        fids.append(await conn.fetchval(S.UPSERT_FACTORY, factory_id(f.name), f.name, f.location, f.timezone))
    mids: dict[str, uuid.UUID] = {}
    for m in MACHINES:
        mids[m.name] = await conn.fetchval(S.UPSERT_MACHINE, machine_id(m.name), fids[m.factory], m.name, m.type,
                                           Decimal(repr(m.rated_kw)))
    sids: dict[str, uuid.UUID] = {}
    for name, unit, cost, carbon in ENERGY_SOURCES:
        sids[name] = await conn.fetchval(S.UPSERT_ENERGY_SOURCE, _uid("energy_source", name), name, unit,
                                         Decimal(repr(cost)), Decimal(repr(carbon)))
    for m in MACHINES:
        for et in m.energy_types:
            source = "electricity" if et == "energy" else et
            await conn.execute(S.UPSERT_SEU, seu_id(m.name, source), m.name, sids[source], [mids[m.name]])
    await conn.execute(S.DELETE_TARIFFS, fids)
    await conn.executemany(
        S.INSERT_TARIFF,
        [(fids[0], Decimal(repr(rate)), h0, h1, list(days)) for rate, h0, h1, days in SAN_JOSE_TARIFF])
    return mids


def _check(when: dt.datetime, resolution_minutes: int) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    if resolution_minutes not in _ALLOWED_RESOLUTIONS:
        raise ValueError(f"resolution_minutes must divide 60: one of {_ALLOWED_RESOLUTIONS}")


def _floor(when: dt.datetime, minutes: int) -> dt.datetime:
    step = minutes * 60
    return dt.datetime.fromtimestamp(int(when.timestamp()) // step * step, tz=UTC)


def _local_date(when: dt.datetime, tz: str) -> dt.date:
    return when.astimezone(ZoneInfo(tz)).date()


def _day_range(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def _start_days(loaded_end: dt.datetime, days: int) -> list[dt.date]:
    """First local day of each factory: ``days`` full days before the day of the load's end."""
    return [_local_date(loaded_end, f.timezone) - dt.timedelta(days=days) for f in FACTORIES]


async def load_reference_plant(conn: asyncpg.Connection, *, end: dt.datetime, days: int = 730,
                               resolution_minutes: int = 15, seed: int = REFERENCE_SEED,
                               anchor: dt.date | None = None) -> PlantReport:
    """Load (or reload) the reference plant into the database of ``conn``.

    Applies the EnMS DDL where tables are missing, writes the catalogue (fixed ids), and readings,
    production and weather from local midnight ``days`` days before the day of ``end`` (per factory)
    up to ``end`` floored to the resolution (the last interval ends there). Existing rows of the
    plant's machines are replaced. ``anchor`` places the events (default: the local date of ``end``
    in San Jose); give it only to reproduce a plant created earlier. One transaction.
    """
    _check(end, resolution_minutes)
    if days < 1:
        raise ValueError("days must be >= 1")
    started = time.perf_counter()
    until = _floor(end, resolution_minutes)
    anchor = anchor or _local_date(end, FACTORIES[0].timezone)
    ctx = _Ctx(seed, resolution_minutes, anchor)
    last_day = [_local_date(until - dt.timedelta(microseconds=1), f.timezone) for f in FACTORIES]
    tasks = sorted((day, mi) for mi, m in enumerate(MACHINES)
                   for day in _day_range(_start_days(until, days)[m.factory], last_day[m.factory]))
    tables = ("energy_readings", "production_data", "environmental_data")
    async with conn.transaction():
        await conn.execute(S.SYNCHRONOUS_COMMIT_OFF)
        await conn.execute(S.ADVISORY_XACT_LOCK, _LOCK_KEY)
        await _ensure_schema(conn)
        ids = await _upsert_catalogue(conn)
        for table in tables:
            await conn.execute(S.DELETE_MACHINE_ROWS[table], list(ids.values()))
        await conn.execute(S.UPSERT_PLANT_META, GENERATOR_VERSION, seed, anchor, resolution_minutes, days, until)
        counts, first, last = await _copy_tasks(conn, ctx, tasks, ids, {}, until, tables)
    await conn.execute(S.ANALYZE_SERIES)
    rows = {"factories": len(FACTORIES), "machines": len(MACHINES), "energy_sources": len(ENERGY_SOURCES),
            "seus": sum(len(m.energy_types) for m in MACHINES), "energy_tariffs": len(SAN_JOSE_TARIFF), **counts}
    return PlantReport(rows=rows, first_reading=first, last_reading=last, seconds=time.perf_counter() - started,
                       anchor=anchor, seed=seed, resolution_minutes=resolution_minutes)


async def top_up(conn: asyncpg.Connection, *, now: dt.datetime) -> int:
    """Extend the demo plant's readings, production and weather up to ``now`` (complete intervals only),
    continuing each series after its newest stored row with exactly the data a full load with the
    plant's parameters would hold. Returns the rows added over the three tables; 0 if nothing to do.
    Raises ``DemoPlantMissing`` if the database holds no reference plant."""
    if not await conn.fetchval(S.PLANT_META_EXISTS):
        raise DemoPlantMissing("no reference plant in this database (enms_demo.plant_meta is missing)")
    async with conn.transaction():
        await conn.execute(S.ADVISORY_XACT_LOCK, _LOCK_KEY)
        meta = await conn.fetchrow(S.SELECT_PLANT_META)
        if meta is None:
            raise DemoPlantMissing("enms_demo.plant_meta is empty")
        res = int(meta["resolution_minutes"])
        _check(now, res)
        ctx = _Ctx(int(meta["seed"]), res, meta["anchor"])
        until = _floor(now, res)
        rows = await conn.fetch(
            S.PLANT_MACHINE_IDS,
            [FACTORIES[m.factory].name for m in MACHINES], [m.name for m in MACHINES])
        ids = {r["name"]: r["id"] for r in rows}
        if len(ids) != len(MACHINES):
            raise DemoPlantMissing("the reference plant's machines are missing")
        id_list = list(ids.values())
        newest: dict[uuid.UUID, _Bounds] = {i: {} for i in id_list}
        for r in await conn.fetch(S.NEWEST_READING_PER_SERIES, id_list):
            newest[r["machine_id"]][("e", r["energy_type"])] = r["t"]
        for table, key in (("production_data", ("p",)), ("environmental_data", ("t",))):
            for r in await conn.fetch(S.NEWEST_ROW_PER_MACHINE[table], id_list):
                newest[r["machine_id"]][key] = r["t"]
        starts = _start_days(meta["loaded_end"], int(meta["days"]))
        after: dict[int, _Bounds] = {}
        tasks: list[tuple[dt.date, int]] = []
        for mi, m in enumerate(MACHINES):
            tz = FACTORIES[m.factory].timezone
            origin = _frame(tz, starts[m.factory])[0] - dt.timedelta(microseconds=1)
            series = [("e", et) for et in m.energy_types]
            series += [("p",)] if m.kind == "production" else []
            series += [("t",)] if m.kind == "hvac" else []
            bounds = {s: newest[ids[m.name]].get(s) or origin for s in series}
            after[mi] = bounds
            oldest = min(bounds.values())
            if oldest + dt.timedelta(minutes=res) < until:
                first_day = _local_date(oldest + dt.timedelta(microseconds=1), tz)
                tasks += [(d, mi) for d in _day_range(first_day, _local_date(until - dt.timedelta(microseconds=1), tz))]
        if not tasks:
            return 0
        tables = ("energy_readings", "production_data", "environmental_data")
        staging = tuple(S.STAGING_TABLES[t] for t in tables)
        for table in tables:
            await conn.execute(S.CREATE_STAGING_TABLE[table])
        await _copy_tasks(conn, ctx, sorted(tasks), ids, after, until, staging)
        added = 0
        for table in tables:
            status = await conn.execute(S.MERGE_STAGING_TABLE[table])
            added += int(status.split()[-1])
        await conn.execute(S.ADVANCE_DATA_UNTIL, until)
    return added


# --------------------------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------------------------
def _seu_truths() -> list[SeuTruth]:
    out = []
    for m in MACHINES:
        f = FACTORIES[m.factory]
        fi = m.factory
        on = {c: _on_hours(fi, c) for c in CALENDAR_CLASSES}
        common = dict(seu_name=m.name, machine_name=m.name, factory=f.name, timezone=f.timezone,
                      noise_fraction=m.noise)
        if m.kind == "production":
            out.append(SeuTruth(
                energy_source="electricity",
                intercept_kwh={c: m.standby_kw * 24.0 + (m.idle_kw - m.standby_kw) * on[c] for c in CALENDAR_CLASSES},
                kwh_per_unit=m.kwh_per_unit, hdd_kwh_per_degree_day=0.0, heating_base_c=None,
                cdd_kwh_per_degree_day=0.0, cooling_base_c=None, production_driven=True, **common))
        elif m.kind == "hvac":
            out.append(SeuTruth(
                energy_source="electricity", intercept_kwh=dict(zip(CALENDAR_CLASSES, m.base_kwh, strict=True)),
                kwh_per_unit=0.0, hdd_kwh_per_degree_day=m.hdd_kwh, heating_base_c=f.heating_base_c,
                cdd_kwh_per_degree_day=m.cdd_kwh, cooling_base_c=f.cooling_base_c, production_driven=False,
                **common))
        else:
            steam = dict(zip(CALENDAR_CLASSES, m.base_kwh, strict=True))
            gas = {c: steam[c] / BOILER_EFFICIENCY + BOILER_GAS_LOSS_KW * 24.0 for c in CALENDAR_CLASSES}
            el = {c: BOILER_EL_STANDBY_KW * 24.0 + BOILER_EL_PUMPS_KW * on[c] + BOILER_EL_FAN_SHARE * gas[c]
                  for c in CALENDAR_CLASSES}
            hdd = {"steam": m.hdd_kwh, "natural_gas": m.hdd_kwh / BOILER_EFFICIENCY,
                   "electricity": BOILER_EL_FAN_SHARE * m.hdd_kwh / BOILER_EFFICIENCY}
            for source, icpt in (("electricity", el), ("natural_gas", gas), ("steam", steam)):
                out.append(SeuTruth(
                    energy_source=source, intercept_kwh=icpt, kwh_per_unit=0.0,
                    hdd_kwh_per_degree_day=hdd[source], heating_base_c=f.heating_base_c,
                    cdd_kwh_per_degree_day=0.0, cooling_base_c=None, production_driven=False, **common))
    return out


def plant_truth(anchor: dt.date, *, seed: int = REFERENCE_SEED, resolution_minutes: int = 15) -> PlantTruth:
    """The true daily models and events of the reference plant created with this anchor date
    (the local date of ``end`` in San Jose at load time). ``seed`` and ``resolution_minutes`` only
    matter for the HVAC fault's exact daily extras (they depend on that day's weather)."""
    ctx = _Ctx(seed, resolution_minutes, anchor)
    events = []
    for kind, machines, first, last in _EVENTS:
        start = anchor - dt.timedelta(days=first)
        end = None if last is None else anchor - dt.timedelta(days=last)
        for name in machines:
            m = MACHINES[_MACHINE_INDEX[name]]
            if kind == "compressed_air_leak":
                ev = EventTruth(kind, name, "electricity", start, end, LEAK_KW * 24.0, extra_kw=LEAK_KW,
                                hours_per_day=24.0)
            elif kind == "idle_running":
                hours = float(IDLE_RUNNING_HOURS[1] - IDLE_RUNNING_HOURS[0])
                ev = EventTruth(kind, name, "electricity", start, end, (m.idle_kw - m.standby_kw) * hours,
                                extra_kw=m.idle_kw - m.standby_kw, hours_per_day=hours)
            elif kind == "hvac_fault":
                daily = {}
                for day in _day_range(start, end):
                    e = _machine_day(ctx, _MACHINE_INDEX[name], day).daily_kwh["energy"]
                    daily[day] = e * HVAC_FAULT_FRACTION / (1.0 + HVAC_FAULT_FRACTION)
                ev = EventTruth(kind, name, "electricity", start, end, sum(daily.values()) / len(daily),
                                fraction=HVAC_FAULT_FRACTION, daily_extra_kwh=daily)
            else:
                ev = EventTruth(kind, name, "electricity", start, end, 0.0, fraction=REDUCED_PRODUCTION_FRACTION)
            events.append(ev)
    return PlantTruth(anchor=anchor, seed=seed, resolution_minutes=resolution_minutes,
                      seus=tuple(_seu_truths()), events=tuple(events))


__all__ = ["REFERENCE_SEED", "GENERATOR_VERSION", "PlantReport", "PlantTruth", "SeuTruth", "EventTruth",
           "DemoPlantMissing", "load_reference_plant", "top_up", "plant_truth", "calendar_class",
           "factory_id", "machine_id", "seu_id", "FACTORIES", "MACHINES", "ENERGY_SOURCES", "SAN_JOSE_TARIFF",
           "CALENDAR_CLASSES"]
