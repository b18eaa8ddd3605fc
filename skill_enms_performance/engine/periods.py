"""Days and periods of a request, checked: a date outside 1970..2200 or a reversed period is an input
error, not a question about data."""
from __future__ import annotations

import datetime as dt

from .errors import InvalidRequestError

#: dates outside this range are input errors, not questions about data
EARLIEST_DAY, LATEST_DAY = dt.date(1970, 1, 1), dt.date(2200, 12, 31)


def parse_day(value: dt.date | str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        if not EARLIEST_DAY <= value <= LATEST_DAY:
            raise InvalidRequestError(f"analysis_date must lie between {EARLIEST_DAY} and {LATEST_DAY}")
        return value
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise InvalidRequestError(f"analysis_date must be YYYY-MM-DD, got {value[:40]!r}") from None
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise InvalidRequestError(f"analysis_date must lie between {EARLIEST_DAY} and {LATEST_DAY}")
        return day
    raise InvalidRequestError("analysis_date must be a YYYY-MM-DD string")


def parse_period(value: dict[str, str] | tuple | list | None) -> tuple[dt.date, dt.date] | None:
    if value is None:
        return None
    try:
        if isinstance(value, dict):
            start, end = parse_day(value.get("start")), parse_day(value.get("end"))
        else:
            start, end = parse_day(value[0]), parse_day(value[1])
    except (TypeError, IndexError, KeyError):
        raise InvalidRequestError('period must be {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}') from None
    if start is None or end is None or end < start or (end - start).days > 3660:
        raise InvalidRequestError('period must be {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}, start <= end')
    return start, end


def period_days(period: str | dict | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """'week' | 'month' | 'quarter' | 'year' (complete days up to yesterday) or {start, end}."""
    if isinstance(period, dict):
        span = parse_period(period)
        if span is None:
            raise InvalidRequestError("period must be week, month, quarter, year or {start, end}")
        return span[0], min(span[1], today - dt.timedelta(days=1))
    lengths = {"week": 7, "month": 30, "quarter": 91, "year": 365}
    key = (period or "month").strip().lower() if isinstance(period, str) else "month"
    if key not in lengths:
        raise InvalidRequestError("period must be week, month, quarter, year or {start, end}")
    end = today - dt.timedelta(days=1)
    return end - dt.timedelta(days=lengths[key] - 1), end
