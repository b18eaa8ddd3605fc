"""Typed errors a caller can speak.

Each error has a stable ``code`` (used in bus replies and as the dialog name suffix), a
``message`` for logs and JSON, and ``facts``: the values a spoken sentence needs.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from ..store.errors import StoreRejectedError, StoreError, StoreTimeoutError


class EnmsError(Exception):
    code = "internal_error"

    def __init__(self, message: str, **facts: Any) -> None:
        super().__init__(message)
        self.message = message
        self.facts = facts

    def to_dict(self) -> dict[str, Any]:
        from .models import to_jsonable

        return {"code": self.code, "message": self.message, **to_jsonable(self.facts)}


class UnknownSeuError(EnmsError):
    code = "unknown_seu"

    def __init__(self, seu_name: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown SEU {seu_name!r}{hint}", seu_name=seu_name, suggestions=suggestions)


class AmbiguousSeuError(EnmsError):
    code = "ambiguous_seu"

    def __init__(self, seu_name: str, energy_sources: list[str]) -> None:
        super().__init__(
            f"SEU {seu_name!r} exists for several energy sources: {', '.join(energy_sources)}",
            seu_name=seu_name,
            energy_sources=energy_sources,
        )


class NoDataError(EnmsError):
    code = "no_data"

    def __init__(self, seu_name: str, day: dt.date, first: dt.date | None, last: dt.date | None) -> None:
        span = f"; data runs from {first} to {last}" if first and last else "; there is no data at all"
        super().__init__(f"no data for {seu_name} on {day}{span}", seu_name=seu_name, date=day,
                         first_date=first, last_date=last)


class FutureDateError(EnmsError):
    code = "future_date"

    def __init__(self, day: dt.date, today: dt.date) -> None:
        super().__init__(f"{day} is in the future (today is {today})", date=day, today=today)


class InvalidRequestError(EnmsError):
    code = "invalid_request"


class DatabaseUnavailableError(EnmsError):
    code = "database_unavailable"

    def __init__(self, detail: str = "") -> None:
        super().__init__("the energy database cannot be reached" + (f": {detail}" if detail else ""))


class TimeoutError_(EnmsError):
    code = "timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the question took longer than {seconds:g} s", seconds=seconds)


class BusyError(EnmsError):
    """Too many requests are being worked on: this one waited its turn longer than it may."""
    code = "busy"

    def __init__(self, waited_s: float) -> None:
        super().__init__(f"too many requests at once: no turn within {waited_s:g} s, please retry",
                         waited_s=waited_s)


class DatabasePreparingError(EnmsError):
    code = "database_preparing"

    def __init__(self) -> None:
        super().__init__("the demo energy database is still being prepared")


class UnknownEnergySourceError(EnmsError):
    code = "unknown_energy_source"

    def __init__(self, seu_name: str, energy_source: str, available: list[str]) -> None:
        super().__init__(f"{seu_name} has no {energy_source} SEU; it has {', '.join(available)}",
                         seu_name=seu_name, energy_source=energy_source, energy_sources=available)


class InsufficientHistoryError(EnmsError):
    code = "insufficient_history"

    def __init__(self, seu_name: str, day: dt.date, days_found: int) -> None:
        super().__init__(f"not enough history before {day} to build a baseline for {seu_name} "
                         f"({days_found} usable days)", seu_name=seu_name, date=day, days_found=days_found)


class BillingMeterError(EnmsError):
    """An SEU read too rarely for a daily baseline (a monthly, billing-period meter): its days cannot be judged."""
    code = "billing_meter"

    def __init__(self, seu_name: str, interval_days: float) -> None:
        days = round(interval_days)
        super().__init__(f"{seu_name} is read about every {days} days (a billing meter): a daily baseline cannot "
                         "be built from it", seu_name=seu_name, interval_days=days,
                         data_quality_code="reading_interval_too_long")


class NoOpportunityError(EnmsError):
    code = "no_opportunity"

    def __init__(self, seu_name: str, issue_type: str | None) -> None:
        kind = f" of type {issue_type}" if issue_type else ""
        super().__init__(f"no open savings opportunity{kind} for {seu_name}: no action plan needed",
                         seu_name=seu_name, issue_type=issue_type)


def from_store(err: StoreError, statement_timeout_s: float) -> EnmsError:
    """The coded error for a store failure (``store.errors``): unreachable, out of time, or a refused value."""
    if isinstance(err, StoreTimeoutError):
        return TimeoutError_(statement_timeout_s)
    if isinstance(err, StoreRejectedError):
        return InvalidRequestError(f"the database refused the request ({err.detail})")
    return DatabaseUnavailableError(getattr(err, "detail", ""))


def per_seu(seus: list, results: list) -> tuple[list, list[dict[str, Any]]]:
    """Results of one call per SEU (``gather(..., return_exceptions=True)``): the values, and the
    per-SEU errors a caller can list. Errors that concern the whole question (database away,
    timeout, bad request, bugs) are raised; when every SEU failed, the first failure says why."""
    values: list = []
    errors: list[dict[str, Any]] = []
    failures: list[EnmsError] = []
    for seu, result in zip(seus, results, strict=True):
        if isinstance(result, (DatabaseUnavailableError, TimeoutError_, InvalidRequestError)):
            raise result
        if isinstance(result, EnmsError):
            failures.append(result)
            errors.append({"seu_name": seu.name, "energy_source": seu.energy_source, **result.to_dict()})
        elif isinstance(result, BaseException):
            raise result
        else:
            values.append(result)
    if not values and failures:
        raise failures[0]
    return values, errors


class ReadOnlyDatabaseError(EnmsError):
    """The database role may only read: what needs the engine's own tables (hourly rollups for the opportunity
    scan, the action-plan table) cannot be answered; day analyses, summaries and savings still can."""
    code = "read_only_database"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} need the engine's own tables in schema enms_perf, which this database role may "
                         "not create: grant it CREATE on the database, or use a role that may", needs=what)
