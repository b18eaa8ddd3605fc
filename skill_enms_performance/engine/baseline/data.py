"""Model input and design of the daily baseline: the day table (``DailyData``), method names and exclusion
reasons, degree days and the design matrix, and the small helpers every part shares (pure numpy)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from typing import Any, Mapping, Sequence

import numpy as np


# --- calendar classes -----------------------------------------------------------------------
CAL_WORKING = 0


CAL_PARTIAL = 1


CAL_CLOSED = 2


DEFAULT_CALENDAR_LABELS: tuple[str, ...] = ("working", "partial", "closed")


# --- methods ----------------------------------------------------------------------------------
REGRESSION = "regression"


PRODUCTION_ONLY = "production_only"


CALENDAR_MEAN = "calendar_mean"


MEAN_30D = "mean_30d"


INSUFFICIENT_DATA = "insufficient_data"


# --- exclusion reasons ------------------------------------------------------------------------
LOW_COVERAGE = "low_coverage"


MISSING_ENERGY = "missing_energy"


NEGATIVE_ENERGY = "negative_energy"


RARE_CALENDAR_CLASS = "rare_calendar_class"


MISSING_DRIVER = "missing_driver"


OUTLIER = "outlier"


#: driver groups, in design-column order
DRIVERS = ("production", "hdd", "cdd", "calendar")


SIGNED_DRIVERS = ("production", "hdd", "cdd")     # physical sign: coefficient >= 0


INTERCEPT = "intercept_kwh"


PRODUCTION_COEF = "production_kwh_per_unit"


HDD_COEF = "hdd_kwh_per_degree_day"


CDD_COEF = "cdd_kwh_per_degree_day"


_CAP = 1e12


_DAYS_PER_MONTH = 30.4375


#: a calendar class needs this many fitted days for its own outlier fence and its own residual scale
_CLASS_MIN_DAYS = 8


# ============================================================================================
# Inputs and small values
# ============================================================================================
@dataclasses.dataclass(frozen=True, eq=False)
class DailyData:
    """Daily totals of one SEU and energy source, one entry per day.

    ``production``: units that day, NaN where unknown (all NaN = the SEU has no production data). Pass 0.0,
    not NaN, for a day the SEU produced nothing (e.g. a closed day), or that day is excluded from a
    production model as ``missing_driver``. ``temp_mean_c``: daily mean outdoor temperature, NaN = missing.
    ``calendar``: int code per day (0 working, 1 partial/weekend working, 2 closed; further codes allowed),
    named by ``calendar_labels[code]``. ``coverage``: fraction 0..1 of the day's expected readings present.
    Missing optional arrays mean: no production, no temperature, all working days, full coverage.
    """

    day: Any
    energy_kwh: Any
    production: Any = None
    temp_mean_c: Any = None
    calendar: Any = None
    coverage: Any = None
    calendar_labels: Sequence[str] = DEFAULT_CALENDAR_LABELS
    temp_min_c: Any = None
    temp_max_c: Any = None

    def __post_init__(self) -> None:
        day = np.asarray(self.day, dtype="datetime64[D]").reshape(-1)
        n = day.size
        energy = np.asarray(self.energy_kwh, dtype=float).reshape(-1)

        def opt(value: Any, fill: float) -> np.ndarray:
            if value is None:
                return np.full(n, fill, dtype=float)
            arr = np.array(value, dtype=float).reshape(-1)
            return arr

        production = opt(self.production, np.nan)
        temp = opt(self.temp_mean_c, np.nan)
        temp_min = opt(self.temp_min_c, np.nan)
        temp_max = opt(self.temp_max_c, np.nan)
        coverage = opt(self.coverage, 1.0)
        if self.calendar is None:
            calendar = np.zeros(n, dtype=np.int64)
        else:
            raw = np.asarray(self.calendar)
            calendar = np.where(np.isfinite(raw.astype(float)), raw.astype(float), 0).astype(np.int64).reshape(-1)
        for name, arr in (("energy_kwh", energy), ("production", production), ("temp_mean_c", temp),
                          ("calendar", calendar), ("coverage", coverage), ("temp_min_c", temp_min),
                          ("temp_max_c", temp_max)):
            if arr.size != n:
                raise ValueError(f"{name} has {arr.size} values for {n} days")
        order = np.argsort(day, kind="stable")
        if n > 1 and np.any(np.diff(day[order]) == np.timedelta64(0, "D")):
            raise ValueError("a day appears more than once")
        for name, arr in (("day", day), ("energy_kwh", energy), ("production", production),
                          ("temp_mean_c", temp), ("calendar", calendar), ("coverage", coverage),
                          ("temp_min_c", temp_min), ("temp_max_c", temp_max)):
            object.__setattr__(self, name, arr[order])
        object.__setattr__(self, "calendar_labels", tuple(str(x) for x in self.calendar_labels))

    def __len__(self) -> int:
        return int(self.day.size)

    def label(self, code: int) -> str:
        return _label(self.calendar_labels, code)


@dataclasses.dataclass(frozen=True)
class DayDrivers:
    """The drivers of one day: production units, daily mean outdoor temperature, calendar class code."""

    production: float | None = None
    temp_mean_c: float | None = None
    calendar: int = CAL_WORKING

    def to_dict(self) -> dict[str, Any]:
        return {"production": _opt_float(self.production), "temp_mean_c": _opt_float(self.temp_mean_c),
                "calendar": int(self.calendar)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DayDrivers":
        return cls(production=d.get("production"), temp_mean_c=d.get("temp_mean_c"),
                   calendar=int(d.get("calendar", CAL_WORKING)))


@dataclasses.dataclass(frozen=True)
class DriverRange:
    """A driver's range over the fitted baseline days."""

    min: float
    max: float
    mean: float
    std: float

    def contains(self, value: float) -> bool:
        """Within [min, max] or within 3 standard deviations of the mean (baselines.md)."""
        return bool(self.min <= value <= self.max or abs(value - self.mean) <= 3.0 * self.std)


@dataclasses.dataclass(frozen=True)
class ExcludedDay:
    date: dt.date
    reason: str
    energy_kwh: float | None = None
    detail: str = ""


def _dummy_classes(cal: np.ndarray, rows: np.ndarray) -> tuple[int, tuple[int, ...]]:
    """Reference class (working day if present, else the most frequent) and the dummy classes."""
    classes, counts = np.unique(cal[rows], return_counts=True)
    if classes.size == 0:
        return CAL_WORKING, ()
    ref = CAL_WORKING if CAL_WORKING in classes else int(classes[np.argmax(counts)])
    return ref, tuple(int(c) for c in classes if c != ref)


def degree_days(balance_c: Any, temp_mean_c: Any, swing_c: float = 0.0, *, heating: bool = True) -> np.ndarray:
    """Heating (or cooling) degree days of days with mean ``temp_mean_c`` against ``balance_c`` (broadcast).

    ``swing_c`` = 0: ``max(balance - T, 0)`` (cooling: ``max(T - balance, 0)``), degree days of the daily
    mean. ``swing_c`` = A > 0: the mean degree-hours of a sinusoidal day ``T + A*sin(t)`` (the
    single-sine method of the degree-day literature): ``((b - T)*(pi/2 + asin u) + A*sqrt(1 - u^2)) / pi``
    with ``u = clip((b - T)/A, -1, 1)``. It equals the daily-mean rule when the whole day lies on one side
    of the balance point and counts the hot (cold) hours of a day whose mean lies below (above) it: a
    cooling load on a mild day with a hot afternoon is not left to the intercept.
    """
    b = np.asarray(balance_c, dtype=float)
    t = np.asarray(temp_mean_c, dtype=float)
    d = b - t if heating else t - b
    a = float(swing_c)
    if not a > 0.0:
        return np.maximum(d, 0.0)
    u = np.clip(d / a, -1.0, 1.0)
    return (d * (0.5 * np.pi + np.arcsin(u)) + a * np.sqrt(1.0 - u * u)) / np.pi


def _swing(data: DailyData, rows: np.ndarray) -> float:
    """Half the median daily temperature swing (max - min) / 2 of ``rows`` where the day's minimum and
    maximum are known (at least half of the rows), else 0 (degree days of the daily mean)."""
    lo, hi = data.temp_min_c[rows], data.temp_max_c[rows]
    ok = np.isfinite(lo) & np.isfinite(hi) & (hi >= lo)
    if not rows.any() or ok.sum() < max(1, 0.5 * int(rows.sum())):
        return 0.0
    return float(np.median(hi[ok] - lo[ok])) / 2.0


def _design(drivers, th, tc, dummy_classes, P, T, cal, swing=0.0) -> np.ndarray:
    cols = [np.ones(cal.size)]
    if "production" in drivers:
        cols.append(P)
    if "hdd" in drivers:
        cols.append(degree_days(th, T, swing))
    if "cdd" in drivers:
        cols.append(degree_days(tc, T, swing, heating=False))
    if "calendar" in drivers:
        for c in dummy_classes:
            cols.append((cal == c).astype(float))
    return np.column_stack(cols)


def _column_names(drivers, dummy_classes, labels: Mapping[int, str]) -> list[str]:
    names = [INTERCEPT]
    if "production" in drivers:
        names.append(PRODUCTION_COEF)
    if "hdd" in drivers:
        names.append(HDD_COEF)
    if "cdd" in drivers:
        names.append(CDD_COEF)
    if "calendar" in drivers:
        names += [f"calendar_{_slug(labels.get(c, f'class_{c}'))}_kwh" for c in dummy_classes]
    return names


def _column_groups(drivers, dummy_classes) -> list[str]:
    groups = ["intercept"] + [d for d in ("production", "hdd", "cdd") if d in drivers]
    if "calendar" in drivers:
        groups += ["calendar"] * len(dummy_classes)
    return groups


def _arr(x: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    return np.full(int(rows.sum()), np.nan) if x is None else x[rows]


# ============================================================================================
# small helpers
# ============================================================================================
def _label(labels: Sequence[str], code: int) -> str:
    return labels[code] if 0 <= code < len(labels) else f"class_{code}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "class"


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _opt_float(v: Any) -> float | None:
    f = _num(v)
    return f if math.isfinite(f) else None


def _finite(v: Any) -> float:
    f = float(v)
    if math.isnan(f):
        return 0.0
    return max(-_CAP, min(_CAP, f)) if math.isinf(f) else f


def _contains(r: DriverRange | None, values: np.ndarray) -> np.ndarray:
    if r is None:
        return np.zeros(values.size, dtype=bool)
    return ((values >= r.min) & (values <= r.max)) | (np.abs(values - r.mean) <= 3.0 * r.std)


def _date(d: np.datetime64) -> dt.date:
    return d.astype("datetime64[D]").astype(dt.date)


def _excluded(day, y_raw, reason, detail) -> tuple[ExcludedDay, ...]:
    return tuple(ExcludedDay(date=_date(day[i]), reason=str(reason[i]),
                             energy_kwh=float(y_raw[i]) if np.isfinite(y_raw[i]) else None, detail=str(detail[i]))
                 for i in np.flatnonzero(reason != ""))


def _clean_candidate(c: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in c.items():
        if isinstance(v, float):
            v = _finite(v)
        out[k] = v
    return out
