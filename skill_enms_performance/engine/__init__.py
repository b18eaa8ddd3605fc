"""The ISO 50001 energy-performance engine (no OVOS imports in this package).

``Engine`` owns the store (its connection pool) and answers the questions the skill, the bus API and
the command line ask; it is a thin facade over one module per question (see README, "Layout").
Every public result is a dataclass with ``to_dict()``; every failure is an ``EnmsError`` with a
code and the facts a sentence needs.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Callable

from ..store import SeuRow, Store, StoreError
from . import fleet, health, opportunity_scan, performance, period_analysis, plans
from .baseline import BaselineModel, DailyData, Predictions
from .catalogue import SOURCE_ALIASES, Catalogue, canonical_source, price_per_kwh, select_seus
from .errors import EnmsError, FutureDateError, from_store
from .models import PLAN_STATUSES, ActionPlan, FleetSummary, OpportunityReport, PerformanceAnalysis, PeriodAnalysis
from .periods import EARLIEST_DAY, LATEST_DAY, parse_day, parse_period, period_days
from .savings import SavingsQuestions
from .series import CALENDAR_LABEL_LIST, Series
from .settings import EngineSettings
from .timeutil import local_today

COMPLETE_COVERAGE = performance.COMPLETE_COVERAGE


class Engine(SavingsQuestions):
    """Answers energy-performance questions from an EnMS PostgreSQL database."""

    def __init__(self, dsn: str, settings: EngineSettings | None = None,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.store = Store(dsn, min_size=self.settings.pool_min_size, max_size=self.settings.pool_max_size,
                           connect_timeout_s=self.settings.connect_timeout_s,
                           statement_timeout_s=self.settings.statement_timeout_s,
                           rollup_timeout_s=self.settings.rollup_timeout_s)
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.series = Series(self.store, self.settings, self._guard, self.now)
        self.catalogue = Catalogue(self.store, self.settings, self._guard,
                                   on_load=lambda rows: self.series.fit_capacity(len(rows)))
        #: (baselines fitted, seconds) of the pass of ``keep_fresh`` after start; None before it or without one
        self.fitted_ahead: tuple[int, float] | None = None

    def now(self) -> dt.datetime:
        value = self._clock()
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)

    async def close(self) -> None:
        self.series.close()
        await self.store.close()

    async def _guard(self, awaitable):
        """The store's failures as coded errors: unreachable -> ``DatabaseUnavailableError`` (password-free),
        out of time -> ``TimeoutError_``."""
        try:
            return await self.store.guard(awaitable)
        except StoreError as err:
            raise from_store(err, self.settings.statement_timeout_s) from None

    # --- catalogue --------------------------------------------------------------------
    async def seus(self, refresh: bool = False) -> list[SeuRow]:
        """Active SEUs with their machines, factory, time zone and energy source."""
        return await self.catalogue.seus(refresh)

    async def find_seu(self, seu_name: str, energy_source: str | None = None) -> SeuRow:
        """The SEU of that name (case and punctuation insensitive) and energy source."""
        return await self.catalogue.find_seu(seu_name, energy_source)

    async def find_seu_any_source(self, seu_name: str) -> SeuRow:
        return await self.catalogue.find_seu_any_source(seu_name)

    async def today(self, seu_name: str | None = None) -> dt.date:
        """Today's local date of an SEU's factory (default: the first SEU's)."""
        return await self.catalogue.today(seu_name, self.now())

    def select_seus(self, seus: list[SeuRow], machine_type: str | None, factory: str | None) -> list[SeuRow]:
        return select_seus(seus, machine_type, factory)

    def price_per_kwh(self, seu: SeuRow) -> float:
        return price_per_kwh(seu, self.settings)

    def period_days(self, period: str | dict | None, today: dt.date) -> tuple[dt.date, dt.date]:
        return period_days(period, today)

    # --- rollups, series and models -----------------------------------------------------
    async def mode(self) -> str:
        """'rollup' (own aggregates, refreshed incrementally) or 'raw' (read-only database)."""
        return await self.series.mode()

    async def warm_up(self) -> str:
        """Read the SEU catalogue and build or refresh the rollups (the first build of a large
        database takes a while: do it before the first question, not during it)."""
        await self.seus(refresh=True)
        return await self.mode()

    async def keep_fresh(self) -> None:
        """Refresh the rollups every ``rollup_refresh_s`` so that questions never wait for it.
        Runs until cancelled; a database that is away is retried at the next interval. First, on a plant of at
        least ``fit_ahead_seus`` SEUs, every SEU's baseline is fitted (``fit_ahead``), so that the first plant-wide
        answers find them (cold, health on 500 SEUs took 15 s: answered "that took too long" until done)."""
        try:
            if 0 <= self.settings.fit_ahead_seus <= len(await self.seus()):
                started = time.monotonic()
                fitted = await self.fit_ahead()
                self.fitted_ahead = (fitted, time.monotonic() - started)
        except EnmsError:
            pass  # the questions fit what they need
        while True:
            await asyncio.sleep(self.settings.rollup_refresh_s)
            try:
                if self.series.mode_name == "rollup":
                    await self.refresh_rollups()
            except EnmsError:
                continue

    async def fit_ahead(self) -> int:
        """Fit every SEU's current baseline (the one health reports), one after the other; how many were fitted."""
        return await health.fit_ahead(self.catalogue, self.series, self.now)

    async def refresh_rollups(self) -> dict[str, object]:
        """Bring the rollups up to now; the caches are dropped only when that changed anything."""
        return await self.series.refresh_rollups()

    def model_for(self, seu: SeuRow, data: DailyData, key: tuple = ()) -> BaselineModel:
        """The fitted baseline for this data, from the cache when the data has not changed."""
        return self.series.model_for(seu, data, key)

    # --- questions ----------------------------------------------------------------------
    async def analyze_seu_performance(self, seu_name: str, energy_source: str | None = None,
                                      analysis_date: dt.date | str | None = None) -> PerformanceAnalysis:
        """Energy performance of one SEU on one local day against its normalised baseline.

        Today is the part of the day that has passed, compared with the same hours of the
        baseline days (a model fitted on those hours)."""
        seu = await self.find_seu(seu_name, energy_source)
        now = self.now()
        today = local_today(now, seu.timezone)
        day = parse_day(analysis_date) or today
        if day > today:
            raise FutureDateError(day, today)
        return await performance.analyse_day(self.series, seu, day, now, today)

    async def analyze_seu_period(self, seu_name: str, energy_source: str | None = None,
                                 period: str | dict[str, str] | tuple[dt.date, dt.date] | None = None
                                 ) -> PeriodAnalysis:
        """Energy performance of one SEU over a period ({start, end}, or week | month | quarter | year: the
        complete days up to yesterday) against the baseline fitted before it; the period is cut at yesterday
        (today is not over). A period starting after today is a ``FutureDateError``."""
        seu = await self.find_seu(seu_name, energy_source)
        now = self.now()
        today = local_today(now, seu.timezone)
        if isinstance(period, str) or period is None:
            start, end = period_days(period or "week", today)
        else:
            start, end = parse_period(period) or (today, today)
        if start > today:
            raise FutureDateError(start, today)
        return await period_analysis.analyse_period(self.series, seu, start, end, now, today)

    async def chart_series(self, seu_name: str, energy_source: str | None = None,
                           analysis_date: dt.date | str | None = None, days: int = 56) -> dict[str, object]:
        """Daily actual vs expected with the prediction band and the savings CUSUM for the ``days``
        complete days up to the analysed day (the picture behind an analysis)."""
        seu = await self.find_seu(seu_name, energy_source)
        today = local_today(self.now(), seu.timezone)
        day = min(parse_day(analysis_date) or today, today - dt.timedelta(days=1))
        return await performance.chart_series(self.series, seu, day, days)

    async def summary(self, machine_type: str | None = None, factory: str | None = None,
                      analysis_date: dt.date | str | None = None,
                      period: dict[str, str] | tuple[dt.date, dt.date] | None = None) -> FleetSummary:
        """All SEUs (optionally of one machine type or factory) for one day or a period,
        ranked by normalised deviation (most above its baseline first)."""
        return await fleet.summary(self.catalogue, self.series, self._analyse_row, self.now,
                                   machine_type, factory, analysis_date, period)

    async def _analyse_row(self, seu: SeuRow, day: dt.date | None, at: dt.datetime,
                           running: performance.RunningDay | None) -> PerformanceAnalysis:
        """``analyze_seu_performance`` of a listed SEU for a summary line (no recommendations), judged at the
        instant ``at`` of the whole answer."""
        today = local_today(at, seu.timezone)
        if (day or today) > today:
            raise FutureDateError(day, today)
        return await performance.analyse_day(self.series, seu, day or today, at, today, running,
                                             recommendations=False)

    async def opportunities(self, period: str | dict | None = "month", factory: str | None = None,
                            seu: str | None = None, machine_type: str | None = None) -> OpportunityReport:
        """Savings opportunities of every SEU (or one factory, machine type or SEU) in a period, ranked by value."""
        return await opportunity_scan.report(self.catalogue, self.series, self.now, period, factory, seu, machine_type)

    async def action_plan(self, seu: str, issue_type: str | None = None, save: bool = False,
                          status: str | None = None) -> ActionPlan:
        """An ISO 50001 action plan for the SEU's top opportunity (or the one of ``issue_type``); saved as the
        open plan of that SEU and issue (``status`` None keeps an open plan's status)."""
        return await plans.action_plan(self.catalogue, self.series, self.opportunities, self.now, seu,
                                       issue_type, save, status)

    async def action_plans(self, status: str | None = None, seu: str | None = None, limit: int = 20,
                           offset: int = 0) -> dict[str, object]:
        """One page of saved plans (most recently updated first), the total and the count per status."""
        return await plans.action_plans(self.series, status, seu, limit, offset)

    async def set_action_plan_status(self, plan_id: str, status: str) -> bool:
        return await plans.set_status(self.series, plan_id, status)

    async def health(self) -> dict[str, object]:
        """Database reachable, newest reading per machine, rollup freshness, model validity per SEU."""
        return await health.health(self.catalogue, self.series, self.now)

    # --- used by the savings mixin (its bodies are kept as they were) ----------------------------
    async def _reporting(self, seu: SeuRow, start: dt.date, end: dt.date,
                         baseline: tuple[dt.date, dt.date] | None = None
                         ) -> tuple[BaselineModel, DailyData, Predictions]:
        return await self.series.reporting(seu, start, end, baseline)

    def _baseline_period(self, day: dt.date) -> tuple[dt.date, dt.date]:
        return self.series.baseline_period(day)

    async def _price(self, seu: SeuRow, start: dt.date, end: dt.date) -> float:
        return await self.series.price(seu, start, end)

    # --- kept for benches, the skill and tests that look inside ----------------------------
    @property
    def _seus(self) -> list[SeuRow]:
        return self.catalogue.rows

    @property
    def _generation(self) -> int:
        return self.series.generation

    @property
    def _series(self):
        return self.series.series

    @property
    def _models(self):
        return self.series.models

    @property
    def _data(self):
        return self.series.data

    @property
    def _rates(self):
        return self.series.rates

    @property
    def _left_out(self):
        return self.series.left_out

    def _daily_data(self, seu: SeuRow, rows, tag: tuple) -> DailyData:
        return self.series.daily_data(seu, rows, tag)

    def _calendar(self, seu: SeuRow, days: list[dt.date]) -> list[int]:
        return self.series.calendar(seu, days)


__all__ = ["Engine", "EngineSettings", "EnmsError", "canonical_source", "SOURCE_ALIASES", "CALENDAR_LABEL_LIST",
           "EARLIEST_DAY", "LATEST_DAY", "PLAN_STATUSES", "COMPLETE_COVERAGE"]
