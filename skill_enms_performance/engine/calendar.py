"""Calendar classes of a factory's local days: working day, Saturday, closed (Sunday or holiday).

Holidays are the public holidays of the factory's country (``holidays`` package). The country
comes from a setting, else from the factory's IANA time zone (zone.tab of the system's tz
database, with a small table for systems without it).
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

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


@lru_cache(maxsize=64)
def _holidays(country: str | None, subdiv: str | None, year: int) -> frozenset[dt.date]:
    if not country:
        return frozenset()
    try:
        import holidays

        return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year).keys())
    except Exception:  # noqa: BLE001 - an unknown country or subdivision means "no holidays known"
        return frozenset()


def holiday_name(day: dt.date, country: str | None, subdiv: str | None = None) -> str | None:
    if not country or day not in _holidays(country, subdiv, day.year):
        return None
    import holidays

    return holidays.country_holidays(country, subdiv=subdiv, years=day.year).get(day)


def day_class(day: dt.date, country: str | None, subdiv: str | None = None) -> int:
    if day in _holidays(country, subdiv, day.year) or day.isoweekday() == 7:
        return CLOSED
    if day.isoweekday() == 6:
        return SATURDAY
    return WORKING


def classes(days: list[dt.date], country: str | None, subdiv: str | None = None) -> list[int]:
    return [day_class(d, country, subdiv) for d in days]
