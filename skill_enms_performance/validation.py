"""Requests from outside (bus messages, command-line options) checked once, at the boundary.

One pydantic schema per request type: types, lengths, enumerations, strict ISO dates and periods, real booleans.
A rejected request raises ``InvalidRequestError`` naming the fields and what they must be, never echoing the
input, so a reply to a 100 KB string is a few hundred bytes and is built in microseconds (pydantic's patterns
run in linear time).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints, ValidationError
from pydantic import model_validator

from .engine.errors import InvalidRequestError
from .engine.models import PLAN_STATUSES, ImprovementType
from .engine.periods import EARLIEST_DAY, LATEST_DAY

#: longest name (SEU, factory, machine type, energy source) a request may carry
NAME_MAX_CHARS = 100
PERIOD_WORDS = ("week", "month", "quarter", "year")
#: longest period {start, end} in days (ten years)
PERIOD_MAX_DAYS = 3660
#: plans per page of a list (and the default)
PLANS_PAGE_MAX, PLANS_PAGE_DEFAULT = 100, 20


def _strict_day(value: Any) -> Any:
    """A calendar day written exactly YYYY-MM-DD (a date object passes): no time, no suffix."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        day = value
    elif isinstance(value, str) and len(value) == 10:
        day = dt.date.fromisoformat(value)  # ValueError -> a validation error
    else:
        raise ValueError("not a YYYY-MM-DD day")
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError("day out of range")
    return day


def _lower_word(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) and len(value) <= 20 else value


Day = Annotated[dt.date, BeforeValidator(_strict_day)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_CHARS,
                                        pattern=r"^[^\x00-\x1f\x7f]+$")]
PeriodWord = Annotated[Literal["week", "month", "quarter", "year"], BeforeValidator(_lower_word)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PeriodSpan(_Request):
    start: Day
    end: Day

    @model_validator(mode="after")
    def _ordered(self) -> "PeriodSpan":
        if self.end < self.start or (self.end - self.start).days > PERIOD_MAX_DAYS:
            raise ValueError("start after end, or longer than ten years")
        return self

    def to_request(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


Period = Union[PeriodWord, PeriodSpan]


class AnalyzeRequest(_Request):
    seu_name: Name
    energy_source: Name | None = None
    analysis_date: Day | None = None
    #: one SEU over a period instead of a day (issue 15): a period word or {start, end}
    period: Period | None = None

    @model_validator(mode="after")
    def _day_or_period(self) -> "AnalyzeRequest":
        if self.analysis_date is not None and self.period is not None:
            raise ValueError("give analysis_date or period, not both")
        return self


class SummaryRequest(_Request):
    machine_type: Name | None = None
    factory: Name | None = None
    analysis_date: Day | None = None
    period: Period | None = None


class OpportunitiesRequest(_Request):
    period: Period = "month"
    factory: Name | None = None
    seu_name: Name | None = None
    machine_type: Name | None = None


class SavingsRequest(_Request):
    seu_name: Name | None = None
    period: Period = "month"


class ActionPlanRequest(_Request):
    list: StrictBool = False
    seu_name: Name | None = None
    issue_type: Literal[tuple(t.value for t in ImprovementType)] | None = None  # type: ignore[valid-type]
    save: StrictBool = False
    status: Literal[PLAN_STATUSES] | None = None  # type: ignore[valid-type]
    limit: Annotated[int, Field(strict=True, ge=1, le=PLANS_PAGE_MAX)] = PLANS_PAGE_DEFAULT
    offset: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] = 0

    @model_validator(mode="after")
    def _seu_unless_list(self) -> "ActionPlanRequest":
        if not self.list and self.seu_name is None:
            raise ValueError("seu_name is required unless list is true")
        return self


class HealthRequest(_Request):
    pass


#: a fixed energy baseline (EnB) needs at least this many days (the baseline's own minimum of usable days)
BASELINE_MIN_DAYS = 14


class BaselinePeriod(_Request):
    """A fixed ISO 50001 energy baseline period (command line ``--baseline-start/--baseline-end``, settings):
    both days or neither, start before end, at least ``BASELINE_MIN_DAYS`` days and at most ten years."""
    baseline_start: Day | None = None
    baseline_end: Day | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> "BaselinePeriod":
        if (self.baseline_start is None) != (self.baseline_end is None):
            raise ValueError("baseline_start and baseline_end go together: give both or neither")
        if self.baseline_start is not None and self.baseline_end is not None:
            days = (self.baseline_end - self.baseline_start).days + 1
            if days < BASELINE_MIN_DAYS or days > PERIOD_MAX_DAYS:
                raise ValueError(f"the baseline period must run from start to end over {BASELINE_MIN_DAYS} "
                                 f"to {PERIOD_MAX_DAYS} days")
        return self


#: bus message suffix (``enms.performance.<op>``) -> its schema
SCHEMAS: dict[str, type[_Request]] = {
    "analyze": AnalyzeRequest, "summary": SummaryRequest, "opportunities": OpportunitiesRequest,
    "savings": SavingsRequest, "action_plan": ActionPlanRequest, "health": HealthRequest,
    "baseline": BaselinePeriod,
}

_PERIOD_HINT = 'week, month, quarter, year or {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"} with start <= end'
#: what a field must be, said once per rejected field (the input itself is never repeated)
_HINTS = {
    "seu_name": f"a name of 1 to {NAME_MAX_CHARS} printable characters",
    "energy_source": f"an energy source name of 1 to {NAME_MAX_CHARS} printable characters",
    "machine_type": f"a machine type of 1 to {NAME_MAX_CHARS} printable characters",
    "factory": f"a factory name of 1 to {NAME_MAX_CHARS} printable characters",
    "analysis_date": f"a day written YYYY-MM-DD between {EARLIEST_DAY} and {LATEST_DAY}",
    "period": _PERIOD_HINT,
    "list": "true or false (a JSON boolean)",
    "save": "true or false (a JSON boolean)",
    "status": "one of " + ", ".join(PLAN_STATUSES),
    "issue_type": "one of " + ", ".join(t.value for t in ImprovementType),
    "limit": f"a whole number from 1 to {PLANS_PAGE_MAX}",
    "offset": "a whole number from 0",
    "baseline_start": f"a day written YYYY-MM-DD between {EARLIEST_DAY} and {LATEST_DAY}",
    "baseline_end": f"a day written YYYY-MM-DD between {EARLIEST_DAY} and {LATEST_DAY}",
}


def validate(op: str, data: Any) -> _Request:
    """The request of type ``op`` in ``data`` (a bus message's data, or options gathered by the CLI)."""
    schema = SCHEMAS[op]
    if not isinstance(data, dict):
        raise InvalidRequestError("the request must be a JSON object", fields=[])
    try:
        return schema.model_validate(data)
    except ValidationError as err:
        raise _rejection(err) from None


def _rejection(err: ValidationError) -> InvalidRequestError:
    fields: list[str] = []
    for item in err.errors(include_input=False, include_url=False, include_context=False):
        loc = item.get("loc") or ()
        name = str(loc[0]) if loc and str(loc[0]) in _HINTS else ""
        if name not in fields:
            fields.append(name)
    parts = [f"{f} must be {_HINTS[f]}" for f in fields if f]
    if "" in fields:  # a rule across fields (e.g. seu_name unless list)
        parts.append(str(err.errors(include_input=False, include_url=False)[0].get("msg", ""))[:160])
    return InvalidRequestError("; ".join(parts) or "invalid request", fields=[f for f in fields if f])
