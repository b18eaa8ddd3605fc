"""Calendar classes of a factory's local days: working day, Saturday, closed (Sunday or holiday).

Holidays are the public holidays of the factory's country (``holidays`` package). The country
comes from a setting, else from the factory's IANA time zone (zone.tab of the system's tz
database, with a small table for systems without it).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from functools import lru_cache
from typing import ClassVar
from pathlib import Path

import numpy as np

WORKING, SATURDAY, CLOSED = 0, 1, 2
LABELS = {WORKING: "working_day", SATURDAY: "saturday", CLOSED: "closed_day"}

_FALLBACK_COUNTRY = {
    "America/Los_Angeles": "US", "America/New_York": "US", "America/Chicago": "US", "America/Denver": "US",
    "Europe/Berlin": "DE", "Europe/Vienna": "AT", "Europe/Zurich": "CH", "Europe/Paris": "FR",
    "Europe/London": "GB", "Europe/Madrid": "ES", "Europe/Rome": "IT", "Europe/Amsterdam": "NL",
    "Asia/Tokyo": "JP", "Asia/Shanghai": "CN", "Asia/Kolkata": "IN",
}


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    table: dict[str, str] = {}
    for path in (Path("/usr/share/zoneinfo/zone.tab"), Path("/usr/share/zoneinfo/zone1970.tab")):
        try:
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("#"):
                    continue
                parts = line.split("\t")
                if len(parts) >= 3:
                    table.setdefault(parts[2], parts[0].split(",")[0])
        except OSError:
            continue
    return table


def country_for(timezone: str, override: str | None = None) -> str | None:
    if override:
        return override
    return _zone_countries().get(timezone) or _FALLBACK_COUNTRY.get(timezone)


@lru_cache(maxsize=64)
def subdivision_for(country: str | None, location: str | None) -> str | None:
    """A subdivision code named in the factory's location text ("San Jose, CA, USA" -> "CA")."""
    if not country or not location:
        return None
    try:
        import holidays

        probe = holidays.country_holidays(country)
    except Exception:  # noqa: BLE001
        return None
    codes = set(getattr(probe, "subdivisions", ()) or ())
    aliases = {k.lower(): v for k, v in (getattr(probe, "subdivisions_aliases", {}) or {}).items()}
    for token in [t.strip() for t in location.replace("(", ",").replace(")", ",").split(",")]:
        if token.upper() in codes and len(token) <= 3:
            return token.upper()
        if token.lower() in aliases:
            return aliases[token.lower()]
    return None


@lru_cache(maxsize=256)
def _holiday_names(country: str | None, subdiv: str | None, year: int) -> dict[dt.date, str]:
    """The public holidays of a year by day, with their names. Kept: building a country's calendar (rules, observed
    days, the translation lookup of its names) costs milliseconds, and a question asks about hundreds of days."""
    if not country:
        return {}
    try:
        import holidays

        return dict(holidays.country_holidays(country, subdiv=subdiv, years=year).items())
    except Exception:  # noqa: BLE001 - an unknown country or subdivision means "no holidays known"
        return {}


def holiday_name(day: dt.date, country: str | None, subdiv: str | None = None) -> str | None:
    return _holiday_names(country, subdiv, day.year).get(day) if country else None


def day_class(day: dt.date, country: str | None, subdiv: str | None = None) -> int:
    if day in _holiday_names(country, subdiv, day.year) or day.isoweekday() == 7:
        return CLOSED
    if day.isoweekday() == 6:
        return SATURDAY
    return WORKING


def classes(days: list[dt.date], country: str | None, subdiv: str | None = None) -> list[int]:
    return [day_class(d, country, subdiv) for d in days]


# --- calendars learned from the plant's own data ------------------------------------------------
# The public holidays of the country are a prior, not the plant's calendar: a US factory works Columbus Day and
# Veterans Day, a German one closes a summer week and the bridge day after Ascension. A weekday's class is
# learned from the plant's own data where it speaks clearly; weekends keep their prior class.

#: why a day has its class (``day_class_reason`` of a result)
REASON_WEEKDAY, REASON_SATURDAY, REASON_SUNDAY = "weekday", "saturday", "sunday"
REASON_HOLIDAY = "public_holiday"                  # the holidays package, nothing in the data against it
REASON_SETTING = "setting"                         # the factory's settings say so
REASON_PRODUCTION = "production"                   # the day's own production: it produced
REASON_NO_PRODUCTION = "no_production"             # the day's own production: (near) nothing
REASON_ENERGY_WORKING = "energy_like_working_days"  # a baseline day whose energy is that of working days
REASON_ENERGY_CLOSED = "energy_like_closed_days"    # ... or that of the plant's closed days
REASON_WORKED_BEFORE = "worked_in_earlier_years"   # the same holiday / bridge day / week was worked before
REASON_CLOSED_BEFORE = "closed_in_earlier_years"   # ... or closed before (shutdown weeks, bridge days)
REASONS = (REASON_WEEKDAY, REASON_SATURDAY, REASON_SUNDAY, REASON_HOLIDAY, REASON_SETTING, REASON_PRODUCTION,
           REASON_NO_PRODUCTION, REASON_ENERGY_WORKING, REASON_ENERGY_CLOSED, REASON_WORKED_BEFORE,
           REASON_CLOSED_BEFORE)

#: a day "produced nothing" below this share of the production of a typical working day
NO_PRODUCTION_SHARE = 0.05
#: the energy route needs working and closed days this far apart: in robust standard deviations of working days
#: (day to day) and as a share of a working day's energy; and the day itself one such deviation off the midpoint
#: (a working day is then taken for closed only below -2.5 deviations: under 1 %)
ENERGY_GAP_SIGMAS, ENERGY_GAP_SHARE = 3.0, 0.15
_CLASS_WORDS = {"working": WORKING, "working_day": WORKING, "open": WORKING, "saturday": SATURDAY,
                "closed": CLOSED, "closed_day": CLOSED, "holiday": CLOSED}


class DayClass:
    """The calendar class of one day, why, and the public holiday it is (if any).

    Immutable by use and interned: ``DayClass(code, reason, holiday)`` returns the one instance of those values
    (a few hundred at most). The caches of learned calendars hold one per day of every baseline, tens of thousands
    of objects that every full garbage collection of the process walked, with every thread, the engine's event
    loop among them, standing still meanwhile (issue 14)."""
    __slots__ = ("code", "reason", "holiday")
    _interned: ClassVar[dict[tuple[int, str, str | None], "DayClass"]] = {}

    def __new__(cls, code: int, reason: str, holiday: str | None = None) -> "DayClass":
        key = (code, reason, holiday)
        found = cls._interned.get(key)
        if found is None:
            made = super().__new__(cls)
            made.code, made.reason, made.holiday = code, reason, holiday
            found = cls._interned.setdefault(key, made)
        return found

    def __reduce__(self) -> tuple:
        return DayClass, (self.code, self.reason, self.holiday)

    @property
    def label(self) -> str:
        return LABELS[self.code]

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"DayClass({self.label}, {self.reason}, {self.holiday})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DayClass) and (self.code, self.reason, self.holiday) == (
            other.code, other.reason, other.holiday)

    def __hash__(self) -> int:
        return hash((self.code, self.reason, self.holiday))


def class_code(word: str) -> int | None:
    """A setting's class word ("working", "closed", "saturday") as a class code."""
    return _CLASS_WORDS.get(str(word).strip().lower())


def prior(day: dt.date, country: str | None, subdiv: str | None = None,
          overrides: dict[str, str] | None = None) -> DayClass:
    """The class before looking at the data: settings (by day "YYYY-MM-DD" or holiday name), else the public
    holidays of the country, else the day of the week."""
    name = holiday_name(day, country, subdiv)
    if overrides:
        for key in (day.isoformat(), (name or "").lower()):
            code = class_code(overrides[key]) if key and key in overrides else None
            if code is not None:
                return DayClass(code, REASON_SETTING, name)
    if name:
        return DayClass(CLOSED, REASON_HOLIDAY, name)
    if day.isoweekday() == 7:
        return DayClass(CLOSED, REASON_SUNDAY)
    if day.isoweekday() == 6:
        return DayClass(SATURDAY, REASON_SATURDAY)
    return DayClass(WORKING, REASON_WEEKDAY)


def _learnable(day: dt.date, p: DayClass) -> bool:
    return day.isoweekday() <= 5 and p.reason != REASON_SETTING


def typical_production(priors: list[DayClass], production: list[float | None] | None) -> float:
    """Median production of the ordinary weekdays (0 when the SEU reports none, or none yet in these hours)."""
    if production is None:
        return 0.0
    values = [p for c, p in zip(priors, production, strict=True) if c.reason == REASON_WEEKDAY and p is not None]
    return float(np.median(values)) if values else 0.0


def learn(days: list[dt.date], energy: list[float], production: list[float | None] | None,
          priors: list[DayClass]) -> list[DayClass]:
    """Classes of baseline days from the plant's own data. With production data, a weekday (holiday or not)
    that produced (near) nothing is closed and one that produced is working. Without it, a weekday whose energy
    is clearly that of the SEU's closed days (Sundays around it) is closed, and clearly that of its working days
    (ordinary weekdays around it) is working; where the SEU's energy does not tell the two apart, the prior
    stays."""
    out = list(priors)
    typical = typical_production(priors, production)
    if production is not None and typical > 0:
        limit = NO_PRODUCTION_SHARE * typical
        for i, (d, p) in enumerate(zip(days, priors, strict=True)):
            if _learnable(d, p):
                made = production[i] or 0.0
                out[i] = (DayClass(WORKING, REASON_PRODUCTION, p.holiday) if made > limit
                          else DayClass(CLOSED, REASON_NO_PRODUCTION, p.holiday))
        return out
    e = np.asarray(energy, dtype=float)
    ordinal = np.array([d.toordinal() for d in days])
    sunday = np.array([p.reason == REASON_SUNDAY for p in priors]) & np.isfinite(e)
    weekday = np.array([p.reason == REASON_WEEKDAY for p in priors]) & np.isfinite(e)
    if sunday.sum() < 2 or weekday.sum() < 5:
        return out
    for i, (d, p) in enumerate(zip(days, priors, strict=True)):
        if not _learnable(d, p) or not np.isfinite(e[i]):
            continue
        near = np.abs(ordinal - ordinal[i])
        closed_ref = e[sunday & (near <= 35)]
        if closed_ref.size < 2:
            closed_ref = e[sunday]
        work = weekday & (near <= 21) & (near > 0)
        work_ref = e[work] if work.sum() >= 5 else e[weekday]
        c_med, w_med = float(np.median(closed_ref)), float(np.median(work_ref))
        spread = _day_to_day_sigma(work_ref) if work.sum() >= 5 else 1.4826 * float(np.median(np.abs(work_ref - w_med)))
        gap = w_med - c_med
        if gap <= max(ENERGY_GAP_SIGMAS * spread, ENERGY_GAP_SHARE * abs(w_med)):
            continue
        if abs(e[i] - (c_med + gap / 2)) < spread:  # between the two: the energy does not tell
            continue
        out[i] = (DayClass(CLOSED, REASON_ENERGY_CLOSED, p.holiday) if e[i] < c_med + gap / 2
                  else DayClass(WORKING, REASON_ENERGY_WORKING, p.holiday))
    return out


def _day_to_day_sigma(values: np.ndarray) -> float:
    """Robust standard deviation of working days' energy from one to the next (values in date order): the
    weather's season moves a heating or cooling meter's level over six weeks, and that trend is not the noise
    the gap between working and closed days must stand out from (a worked Veterans Day of an office meter kept
    its 'closed' prior because November's falling temperatures doubled the plain spread)."""
    steps = np.diff(values)
    return 1.4826 * float(np.median(np.abs(steps - np.median(steps)))) / np.sqrt(2.0)


def bridge_of(day: dt.date, country: str | None, subdiv: str | None = None) -> str | None:
    """The holiday a weekday bridges to the weekend (a Monday before a Tuesday holiday, a Friday after a Thursday
    holiday), else None."""
    if day.isoweekday() == 1:
        return holiday_name(day + dt.timedelta(days=1), country, subdiv)
    if day.isoweekday() == 5:
        return holiday_name(day - dt.timedelta(days=1), country, subdiv)
    return None


@dataclasses.dataclass(frozen=True)
class Peers:
    """A baseline's learned classes indexed for ``judge``: by holiday name, by the holiday a bridge day bridges,
    and the closed days of shutdown weeks by (ISO week, ISO weekday). Built once per baseline: looking them up
    by walking the whole baseline for every judged day cost 60 ms per 120-day opportunity window."""

    by_holiday: dict[str, list[tuple[dt.date, DayClass]]]
    by_bridge: dict[str, list[tuple[dt.date, DayClass]]]
    shutdown: dict[tuple[int, int], list[tuple[dt.date, DayClass]]]


def peers(history: dict[dt.date, DayClass], country: str | None, subdiv: str | None = None) -> Peers:
    by_holiday: dict[str, list[tuple[dt.date, DayClass]]] = {}
    by_bridge: dict[str, list[tuple[dt.date, DayClass]]] = {}
    shutdown: dict[tuple[int, int], list[tuple[dt.date, DayClass]]] = {}
    for d, c in history.items():
        if c.holiday:
            by_holiday.setdefault(c.holiday, []).append((d, c))
        bridged = bridge_of(d, country, subdiv)
        if bridged:
            by_bridge.setdefault(bridged, []).append((d, c))
        if c.code == CLOSED:
            # a shutdown week: at least three of its weekdays closed by the data, or every one the baseline holds
            # (a week at its edge); shutdown weeks recur, a one-off closed day does not
            week = [history.get(d + dt.timedelta(days=k - d.isoweekday())) for k in range(1, 6)]
            known = [w for w in week if w is not None]
            shut = sum(w.code == CLOSED and w.reason in (REASON_ENERGY_CLOSED, REASON_NO_PRODUCTION) for w in known)
            if shut >= 3 or (len(known) >= 2 and shut == len(known)):
                shutdown.setdefault(d.isocalendar()[1:], []).append((d, c))
    return Peers(by_holiday, by_bridge, shutdown)


def judge(day: dt.date, production: float | None, has_production: bool, typical: float, p: DayClass,
          history: dict[dt.date, DayClass] | Peers, country: str | None, subdiv: str | None = None) -> DayClass:
    """The class of an analysed (or reported) day. Its own production decides where the SEU reports production;
    its own energy never does (that is what is judged). Without production, the same holiday, bridge day or
    week of earlier years in the baseline decides, where the plant's data classed it there. ``history``: the
    baseline's learned classes, or their ``peers`` index (pass that when judging many days)."""
    if not _learnable(day, p):
        return p
    if has_production and typical > 0:
        made = production or 0.0
        return (DayClass(WORKING, REASON_PRODUCTION, p.holiday) if made > NO_PRODUCTION_SHARE * typical
                else DayClass(CLOSED, REASON_NO_PRODUCTION, p.holiday))
    index = history if isinstance(history, Peers) else peers(history, country, subdiv)
    learned = (REASON_ENERGY_CLOSED, REASON_ENERGY_WORKING, REASON_PRODUCTION, REASON_NO_PRODUCTION)
    if p.holiday:
        found = [c for d, c in index.by_holiday.get(p.holiday, ()) if d.year < day.year]
    else:
        bridged = bridge_of(day, country, subdiv)
        if bridged:
            found = [c for d, c in index.by_bridge.get(bridged, ()) if d < day]
        else:
            found = [c for d, c in index.shutdown.get(day.isocalendar()[1:], ()) if d.year < day.year]
    found = [c for c in found if c.reason in learned]
    if not found:
        return p
    closed = sum(c.code == CLOSED for c in found)
    if 2 * closed > len(found):
        return DayClass(CLOSED, REASON_CLOSED_BEFORE, p.holiday)
    if 2 * closed < len(found) and p.code == CLOSED:
        return DayClass(WORKING, REASON_WORKED_BEFORE, p.holiday)
    return p
