"""Local calendar days of a factory, as UTC instants (a DST day has 23 or 25 hours)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except Exception:  # unknown or empty zone names fall back to UTC rather than failing a question
        return ZoneInfo("UTC")


def local_midnight_utc(day: dt.date, tz: str) -> dt.datetime:
    """The UTC instant of local midnight starting ``day``."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone(tz)).astimezone(dt.timezone.utc)


def day_bounds_utc(first: dt.date, last: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """UTC range [start of ``first``, end of ``last``) in local days."""
    return local_midnight_utc(first, tz), local_midnight_utc(last + dt.timedelta(days=1), tz)


def local_today(now: dt.datetime, tz: str) -> dt.date:
    return now.astimezone(zone(tz)).date()


def local_time_of_day(now: dt.datetime, tz: str) -> dt.time:
    return now.astimezone(zone(tz)).time().replace(tzinfo=None)


def hours_between(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 3600.0
