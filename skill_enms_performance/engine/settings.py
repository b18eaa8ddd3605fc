"""Engine settings with the defaults a plant energy manager would expect."""
from __future__ import annotations

import dataclasses
from typing import Any

#: kWh-equivalent of one unit of each energy source (prices in ``energy_sources`` are per unit,
#: readings are stored in kWh-equivalent). Natural gas: ~10.55 kWh/m3 (gross calorific value);
#: steam: ~0.65 kWh/kg (saturated steam at ~10 bar from ~100 C feed water); compressed air:
#: ~0.11 kWh/Nm3 (specific power of a typical 7 bar system).
DEFAULT_UNIT_KWH: dict[str, float] = {"kwh": 1.0, "mwh": 1000.0, "m3": 10.55, "kg": 0.65, "nm3": 0.11}


@dataclasses.dataclass
class EngineSettings:
    currency: str = "USD"
    confidence: float = 0.90            # two-sided prediction interval for "significant"
    baseline_days: int = 365            # rolling baseline: the local days before the analysed day
    baseline_start: str | None = None   # fixed ISO 50001 EnB period (YYYY-MM-DD), both or neither
    baseline_end: str | None = None
    holiday_countries: dict[str, str] = dataclasses.field(default_factory=dict)  # factory -> "DE-BY"
    #: a factory's own calendar over the holidays package and the data: factory -> {"YYYY-MM-DD" or holiday
    #: name: "working" | "saturday" | "closed"}
    day_classes: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    learn_calendar: bool = True         # learn working and closed days from the plant's own data
    create_rollups: bool = True         # create the engine's schema where the role may
    rollup_refresh_s: float = 60.0      # rollups older than this are refreshed before use
    rollup_recheck_hours: float = 48.0  # re-aggregated on every refresh (late or corrected data)
    rollup_timeout_s: float = 3600.0    # statement timeout of rollup builds (maintenance, not questions)
    model_cache_size: int = 256
    recent_days: int = 28               # window for drift detection and annualised savings
    opportunity_window_days: int = 120  # opportunity scans look this far back for start dates
    #: one-off investment assumed per implementation effort, in the currency (ROI months)
    investment: dict[str, float] = dataclasses.field(
        default_factory=lambda: {"low": 0.0, "medium": 2500.0, "high": 20000.0})
    min_coverage: float = 0.5           # a day rolled up from finer data needs this coverage
    unit_kwh: dict[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_UNIT_KWH))
    pool_min_size: int = 1
    pool_max_size: int = 8
    connect_timeout_s: float = 3.0
    statement_timeout_s: float = 10.0
    catalogue_ttl_s: float = 300.0      # SEU list refreshed after this many seconds
    compute_threads: int = 2            # fits, scans and period arithmetic run here, off the event loop (0: on it)
    #: in service (``Engine.keep_fresh``), fit every SEU's baseline in the background after start, one at a time,
    #: when the plant has at least this many SEUs (cold, a plant-wide answer on 100 SEUs needs 2.5-9 s of fits and
    #: one on 500 SEUs 15 s; 10 SEUs fit within an answer's time); -1: never
    fit_ahead_seus: int = 50

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> "EngineSettings":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known and v is not None})
