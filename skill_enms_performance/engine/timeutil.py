"""Local calendar days as UTC instants: kept importable from here; the functions live in
``skill_enms_performance.timeutil`` so that the store can use them without importing the engine."""
from ..timeutil import day_bounds_utc, hours_between, local_midnight_utc, local_time_of_day, local_today, zone

__all__ = ["day_bounds_utc", "hours_between", "local_midnight_utc", "local_time_of_day", "local_today", "zone"]
