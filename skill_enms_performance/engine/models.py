"""Public result types of the engine.

Field names and enum values of ``PerformanceAnalysis``, ``RootCauseAnalysis`` and
``Recommendation`` are the public contract inherited from the previous engine (seed milestone
report): keep them. Fields added since carry their unit in their name.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from typing import Any


#: statuses of a saved action plan (the table's CHECK constraint allows exactly these); an unsaved plan is "draft"
PLAN_STATUSES = ("planned", "in_progress", "completed", "cancelled")
UNSAVED_PLAN_STATUS = "draft"


class ImprovementType(str, enum.Enum):
    INEFFICIENT_SCHEDULING = "inefficient_scheduling"
    EXCESSIVE_IDLE = "excessive_idle"
    SUBOPTIMAL_SETPOINTS = "suboptimal_setpoints"
    EQUIPMENT_DEGRADATION = "equipment_degradation"
    PROCESS_INEFFICIENCY = "process_inefficiency"
    EXTERNAL_FACTORS = "external_factors"


class ImplementationEffort(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Priority(str, enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ISO50001Status(str, enum.Enum):
    EXCELLENT = "excellent"
    ON_TARGET = "on_target"
    REQUIRES_ATTENTION = "requires_attention"
    NON_COMPLIANT = "non_compliant"


def to_jsonable(value: Any) -> Any:
    """Convert a result (dataclasses, enums, dates, numpy scalars) into plain JSON types.

    Non-finite floats become ``None``: a result never carries NaN or infinity into JSON.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("json", True)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if hasattr(value, "item"):  # numpy scalar
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


class JsonMixin:
    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)


@dataclasses.dataclass
class RootCauseAnalysis(JsonMixin):
    """Why the day differs from its typical day.

    ``confidence`` (the seed's field, 0..1) is an evidence SCORE, not a probability: the baseline's verdict
    weight (valid 1.0, valid_with_warnings 0.85, invalid 0.5, insufficient_data 0.3) times (1 - p) of the
    test behind ``primary_factor`` (for ``normal_operation``: times p). 1 - p is not the probability that a
    deviation is real; the probability statements are ``p_value`` and the interval of the baseline.
    ``p_value``: two-sided p-value of that test (``p_value_test``): ``deviation_t`` = the unexplained part
    against the day's standard error with the baseline's degrees of freedom (primary factor performance or
    normal operation); ``driver_f`` = the driver's partial F-test in the baseline fit (production, weather,
    calendar). None where no test applies."""

    primary_factor: str
    impact_description: str
    contributing_factors: list[str]
    confidence: float
    p_value: float | None = None
    p_value_test: str | None = None


@dataclasses.dataclass
class Recommendation(JsonMixin):
    action: str
    improvement_type: ImprovementType
    estimated_savings_kwh: float
    estimated_savings_usd: float
    implementation_effort: ImplementationEffort
    priority: Priority
    expected_roi_months: float | None


@dataclasses.dataclass
class AnalysisWindow(JsonMixin):
    """The local time span that was analysed; ``partial`` when the day is still running."""

    start: dt.datetime
    end: dt.datetime
    hours: float
    partial: bool
    timezone: str


@dataclasses.dataclass
class DataQuality(JsonMixin):
    coverage_fraction: float
    readings: int
    baseline_days_used: int
    baseline_days_missing: int
    excluded_days: list[dict[str, Any]]
    notes: list[str]
    #: the same notes as codes with parameters, {"code": ..., "params": {...}}, for callers that word them
    note_codes: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PerformanceAnalysis(JsonMixin):
    # --- the 14 contract fields of the previous engine ---
    seu_name: str
    energy_source: str
    date: dt.date
    actual_energy_kwh: float
    baseline_energy_kwh: float
    deviation_kwh: float
    deviation_percent: float
    deviation_cost_usd: float
    efficiency_score: float
    root_cause_analysis: RootCauseAnalysis
    recommendations: list[Recommendation]
    iso50001_status: ISO50001Status
    voice_summary: str
    timestamp: dt.datetime
    # --- added: what the numbers mean and how sure they are ---
    currency: str = "USD"
    price_per_kwh: float = 0.0
    window: AnalysisWindow | None = None
    baseline: dict[str, Any] = dataclasses.field(default_factory=dict)
    drivers: dict[str, Any] = dataclasses.field(default_factory=dict)
    attribution: dict[str, Any] = dataclasses.field(default_factory=dict)
    data_quality: DataQuality | None = None
    significant: bool = False
    #: the analysed day's calendar class (working_day, saturday, closed_day) and why: its own production, the
    #: same holiday / bridge day / week in earlier years, a setting, or the public holidays and weekday alone
    day_class: str | None = None
    day_class_reason: str | None = None
    #: the baseline's (day numbers, residuals) in memory only, never in JSON: a fleet total estimates the
    #: correlation of its SEUs' errors from them
    fitted_residuals: tuple = dataclasses.field(default=(), repr=False, compare=False, metadata={"json": False})


@dataclasses.dataclass
class SeuSummary(JsonMixin):
    """One SEU in a fleet summary; ``normalised_deviation`` = deviation / its standard error."""

    seu_name: str
    energy_source: str
    machine_type: str | None
    factory: str | None
    actual_energy_kwh: float
    baseline_energy_kwh: float
    deviation_kwh: float
    deviation_percent: float
    deviation_cost: float
    normalised_deviation: float
    significant: bool
    iso50001_status: ISO50001Status
    efficiency_score: float
    primary_factor: str
    baseline_method: str
    days: int
    #: reporting days left out of both sides: fewer than half of their readings (CalTRACK)
    days_excluded: int = 0
    #: counted days whose drivers were missing (taken from a typical day) or outside the baseline's range:
    #: a period with any is not called significant
    days_drivers_imputed: int = 0
    days_out_of_range: int = 0
    #: half-width of the deviation's interval at the summary's confidence (settings, 90 % by default): the
    #: day's prediction interval, or the period sum's (engine/mv.py)
    uncertainty_kwh: float = 0.0
    #: counted in the summary's totals: false for an SEU whose machines all belong to another listed SEU of the
    #: same energy source (its energy is counted there)
    included_in_total: bool = True


@dataclasses.dataclass
class FleetSummary(JsonMixin):
    machine_type: str | None
    factory: str | None
    date: dt.date | None
    period: dict[str, str] | None
    currency: str
    items: list[SeuSummary]
    total_actual_energy_kwh: float
    total_baseline_energy_kwh: float
    total_deviation_kwh: float
    total_deviation_percent: float
    total_deviation_cost: float
    errors: list[dict[str, Any]]
    voice_summary: str
    timestamp: dt.datetime
    #: half-width of the total deviation's interval at the items' confidence, the SEUs' errors combined with
    #: their estimated correlation (sqrt(u' R u), engine/mv.py ``plant_uncertainty``), not in quadrature
    total_uncertainty_kwh: float = 0.0


@dataclasses.dataclass
class Opportunity(JsonMixin):
    """A savings opportunity with the evidence a person can check."""

    seu_name: str
    energy_source: str
    improvement_type: ImprovementType
    title: str
    evidence: str
    details: dict[str, Any]
    start_date: dt.date | None
    end_date: dt.date | None
    ongoing: bool
    estimated_savings_kwh_per_week: float
    estimated_savings_per_year: float
    currency: str
    co2_kg_per_year: float
    implementation_effort: ImplementationEffort
    priority: Priority
    expected_roi_months: float | None
    #: evidence score 0..1, NOT a probability (see README "How the engine judges performance"): the finding's
    #: own score (drift, idle running: 1 - exp(-strength); off-hours: share of the period's weeks that show
    #: the excess) times the baseline's verdict weight
    confidence: float
    #: one-sided p-value of the finding's test where it has one (drift: the mean standardised residual over
    #: the episode's effective length; idle running: the idle hours against their day-to-day spread); None
    #: where none applies (off-hours)
    p_value: float | None = None


@dataclasses.dataclass
class OpportunityReport(JsonMixin):
    period: dict[str, str]
    factory: str | None
    seu_name: str | None
    currency: str
    opportunities: list[Opportunity]
    total_savings_kwh_per_week: float
    total_savings_per_year: float
    total_co2_kg_per_year: float
    errors: list[dict[str, Any]]
    voice_summary: str
    timestamp: dt.datetime
    machine_type: str | None = None  # the machines of one type only ("where could we save on the compressors")


@dataclasses.dataclass
class ActionPlan(JsonMixin):
    """An energy action plan in the structure ISO 50001 clause 6.2 asks for."""

    id: str | None
    seu_name: str
    energy_source: str
    issue_type: ImprovementType
    status: str                                  # draft | planned | in_progress | completed | cancelled
    objective: str
    target: dict[str, Any]                       # enpi, unit, baseline_value, target_value, deadline
    problem: dict[str, Any]                      # description, evidence, start_date
    root_causes: list[str]
    actions: list[dict[str, str]]                # what, who, resources, effort
    expected_outcomes: dict[str, Any]            # energy_kwh_per_year, cost_per_year, currency, co2_kg_per_year
    monitoring: dict[str, str]                   # enpi, frequency, method, verification
    created_at: dt.datetime
    voice_summary: str = ""


@dataclasses.dataclass
class SeuSavings(JsonMixin):
    seu_name: str
    energy_source: str
    expected_energy_kwh: float
    actual_energy_kwh: float
    savings_kwh: float                           # expected - actual: positive = saved
    savings_percent: float
    savings_cost: float
    uncertainty_kwh: float                       # at 68 % (ASHRAE Guideline 14)
    fractional_savings_uncertainty: float | None
    verified: bool
    days: int
    cusum_kwh: list[dict[str, Any]]              # [{date, cumulative_kwh}]
    baseline_method: str
    #: reporting days left out of both sides: fewer than half of their readings (CalTRACK)
    days_excluded: int = 0
    #: counted in the plant totals: only SEUs whose baseline is valid and decides (mv.decides), and that are not
    #: inside another listed SEU of the same source (``catalogue.parts_of_listed``)
    included_in_total: bool = True
    baseline_verdict: str = "valid"
    #: the baseline the savings are measured against: {start, end, basis}; basis fixed_enb (settings),
    #: pre_measure (365 days before the earliest plan in progress or completed) or rolling
    baseline_period: dict[str, str] | None = None


@dataclasses.dataclass
class SavingsReport(JsonMixin):
    period: dict[str, str]
    seu_name: str | None
    currency: str
    items: list[SeuSavings]
    total_savings_kwh: float
    total_savings_cost: float
    total_uncertainty_kwh: float
    errors: list[dict[str, Any]]
    voice_summary: str
    timestamp: dt.datetime


@dataclasses.dataclass
class PeriodDataQuality(JsonMixin):
    """What stands behind a period's figures: reporting days under ``min_coverage`` of their readings are left
    out of both sides (as in savings), and days whose drivers were missing or outside the baseline's range."""

    coverage_fraction: float                     # mean coverage of the reporting days
    days_counted: int
    days_excluded: int
    excluded_days: list[dict[str, Any]]          # [{date, coverage_percent}]
    days_drivers_imputed: int
    days_out_of_range: int
    baseline_days_used: int
    baseline_days_missing: int
    notes: list[str]
    note_codes: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PeriodAnalysis(JsonMixin):
    """One SEU over complete local days [period.start, period.end] against the baseline fitted before them.

    ``uncertainty_kwh`` is the half width of the period sum's interval at ``confidence`` (mv.period_uncertainty);
    ``significant``: the deviation lies outside it, with a baseline that decides and no imputed or out-of-range
    driver among the counted days. ``top_days``: the counted days with the largest |actual - expected|;
    ``episode``: the start of a persistent run of days above (or below) expected found by Page's CUSUM."""

    seu_name: str
    energy_source: str
    period: dict[str, str]
    requested_period: dict[str, str]
    actual_energy_kwh: float
    baseline_energy_kwh: float
    deviation_kwh: float
    deviation_percent: float
    uncertainty_kwh: float
    standard_error_kwh: float
    confidence: float
    significant: bool
    iso50001_status: ISO50001Status
    efficiency_score: float
    deviation_cost: float
    currency: str
    price_per_kwh: float
    primary_factor: str
    effects: dict[str, float]                    # production/weather/calendar/performance _effect_kwh
    days: int
    top_days: list[dict[str, Any]]               # [{date, actual_kwh, expected_kwh, deviation_kwh, significant}]
    episode: dict[str, Any] | None               # {start, detected, direction: above|below}
    daily: list[dict[str, Any]]                  # [{date, actual_kwh, expected_kwh, lower_kwh, upper_kwh, counted}]
    baseline: dict[str, Any]                     # method, period, validity, decides
    data_quality: PeriodDataQuality
    voice_summary: str
    timestamp: dt.datetime
    # --- the seed's analysis fields too, so that a reader of analyze replies finds them in a period reply ---
    date: dt.date | None = None                  # the last day analysed
    deviation_cost_usd: float = 0.0              # = deviation_cost (in ``currency``: the seed's name)
    root_cause_analysis: RootCauseAnalysis | None = None
    recommendations: list[Recommendation] = dataclasses.field(default_factory=list)
