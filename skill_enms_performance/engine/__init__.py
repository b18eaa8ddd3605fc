"""The ISO 50001 energy-performance engine (no OVOS imports in this package).

``Engine`` owns the store (asyncpg pool) and answers the questions the skill, the bus API and
the command line ask. Every public result is a dataclass with ``to_dict()``; every failure is
an ``EnmsError`` with a code and the facts a sentence needs.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import hashlib
import json
import re
import uuid
import time
from typing import Callable

import math

import numpy as np

from ..store import DB_ERRORS, DB_REJECTED, DB_TIMEOUTS, SeriesDay, SeuRow, Store, redact_dsn
from . import analysis, calendar, mv
from . import opportunities as opp
from . import plans
from .baseline import BaselineModel, DailyData, DayDrivers, Predictions, cusum, fit_baseline
from .errors import (AmbiguousSeuError, DatabaseUnavailableError, EnmsError, FutureDateError,
                     InsufficientHistoryError, InvalidRequestError, NoDataError, NoOpportunityError,
                     ReadOnlyDatabaseError, TimeoutError_, UnknownEnergySourceError, UnknownSeuError)
from .models import (PLAN_STATUSES, ActionPlan, AnalysisWindow, DataQuality, FleetSummary, ImplementationEffort, ImprovementType,
                     Opportunity, OpportunityReport, PerformanceAnalysis, Priority, SavingsReport, SeuSavings,
                     SeuSummary)
from .settings import EngineSettings
from .timeutil import day_bounds_utc, local_midnight_utc, local_time_of_day, local_today

#: everyday and database words for energy sources -> the ``energy_sources.name`` they mean
SOURCE_ALIASES: dict[str, str] = {
    "energy": "electricity", "electrical": "electricity", "electricity": "electricity", "electric": "electricity",
    "power": "electricity", "natural_gas": "natural_gas", "natural gas": "natural_gas", "gas": "natural_gas",
    "steam": "steam", "compressed_air": "compressed_air", "compressed air": "compressed_air", "air": "compressed_air",
}


def canonical_source(name: str | None) -> str | None:
    if name is None or not str(name).strip():
        return None
    key = str(name).strip().lower().replace("-", "_")
    return SOURCE_ALIASES.get(key, SOURCE_ALIASES.get(key.replace("_", " "), key))


#: dates outside this range are input errors, not questions about data
EARLIEST_DAY, LATEST_DAY = dt.date(1970, 1, 1), dt.date(2200, 12, 31)
CALENDAR_LABEL_LIST = tuple(calendar.LABELS[k] for k in sorted(calendar.LABELS))


#: a day whose readings cover less than this share of it is incomplete (named in notes; a shortfall is checked)
COMPLETE_COVERAGE = 0.99


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


class Engine:
    """Answers energy-performance questions from an EnMS PostgreSQL database."""

    def __init__(self, dsn: str, settings: EngineSettings | None = None,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.store = Store(dsn, min_size=self.settings.pool_min_size, max_size=self.settings.pool_max_size,
                           connect_timeout_s=self.settings.connect_timeout_s,
                           statement_timeout_s=self.settings.statement_timeout_s,
                           rollup_timeout_s=self.settings.rollup_timeout_s)
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._seus: list[SeuRow] = []
        self._seus_loaded_at = 0.0
        self._seus_lock = asyncio.Lock()
        self._mode: str | None = None
        self._rollup_lock = asyncio.Lock()
        self._refreshed_at = 0.0
        self._recheck = dt.timedelta(hours=self.settings.rollup_recheck_hours)
        self._models: dict[tuple, BaselineModel] = {}
        self._series: dict[tuple, list[SeriesDay]] = {}
        self._data: dict[tuple, DailyData] = {}
        self._rates: dict[tuple, float | None] = {}
        self._left_out: dict[tuple, tuple[int, int, int]] = {}   # readings left out per SEU-day
        self._generation = 0

    def now(self) -> dt.datetime:
        value = self._clock()
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)

    async def close(self) -> None:
        await self.store.close()

    # --- catalogue --------------------------------------------------------------------
    async def seus(self, refresh: bool = False) -> list[SeuRow]:
        """Active SEUs with their machines, factory, time zone and energy source."""
        fresh = time.monotonic() - self._seus_loaded_at < self.settings.catalogue_ttl_s
        if self._seus and fresh and not refresh:
            return self._seus
        async with self._seus_lock:
            if refresh or not self._seus or time.monotonic() - self._seus_loaded_at >= self.settings.catalogue_ttl_s:
                self._seus = await self._guard(self.store.list_seus())
                self._seus_loaded_at = time.monotonic()
        return self._seus

    async def find_seu(self, seu_name: str, energy_source: str | None = None) -> SeuRow:
        """The SEU of that name (case and punctuation insensitive) and energy source."""
        if not isinstance(seu_name, str) or not seu_name.strip():
            raise InvalidRequestError("seu_name is required")
        if len(seu_name) > 200:
            raise InvalidRequestError("seu_name is too long")
        seus = await self.seus()
        key = _norm(seu_name)
        matches = [s for s in seus if _norm(s.name) == key]
        if not matches:
            seus = await self.seus(refresh=True)  # a newly added SEU is found without a restart
            matches = [s for s in seus if _norm(s.name) == key]
        if not matches:
            names = sorted({s.name for s in seus})
            by_norm = {_norm(n): n for n in names}
            close = difflib.get_close_matches(key, list(by_norm), n=3, cutoff=0.6)
            raise UnknownSeuError(seu_name, [by_norm[c] for c in close])
        if energy_source is not None and (not isinstance(energy_source, str) or len(energy_source) > 50):
            raise InvalidRequestError("energy_source must be a short string (e.g. electricity, natural_gas, steam)")
        source = canonical_source(energy_source)
        if source is None:
            if len(matches) > 1:
                raise AmbiguousSeuError(matches[0].name, [m.energy_source for m in matches])
            return matches[0]
        for m in matches:
            if m.energy_source == source:
                return m
        raise UnknownEnergySourceError(matches[0].name, source, [m.energy_source for m in matches])

    async def today(self, seu_name: str | None = None) -> dt.date:
        """Today's local date of an SEU's factory (default: the first SEU's)."""
        seus = await self.seus()
        match = [s for s in seus if seu_name and _norm(s.name) == _norm(seu_name)] or seus
        return local_today(self.now(), match[0].timezone if match else "UTC")

    def price_per_kwh(self, seu: SeuRow) -> float:
        """The SEU's energy price per kWh-equivalent, from ``energy_sources.cost_per_unit``."""
        if seu.cost_per_unit is None:
            return 0.0
        kwh_per_unit = self.settings.unit_kwh.get((seu.unit or "kwh").strip().lower(), 1.0)
        return seu.cost_per_unit / kwh_per_unit if kwh_per_unit > 0 else 0.0

    # --- rollups and models -----------------------------------------------------------
    async def mode(self) -> str:
        """'rollup' (own aggregates, refreshed incrementally) or 'raw' (read-only database)."""
        if self._mode is None:
            async with self._rollup_lock:
                if self._mode is None:
                    mode = await self._guard(self.store.rollup_mode(create=self.settings.create_rollups))
                    if mode == "rollup":
                        await self._guard(self.store.refresh_rollups(self.now(), self._recheck))
                        self._refreshed_at = time.monotonic()
                        self._generation += 1
                    self._mode = mode
        elif self._mode == "rollup" and time.monotonic() - self._refreshed_at > self.settings.rollup_refresh_s:
            await self.refresh_rollups()
        return self._mode

    async def warm_up(self) -> str:
        """Read the SEU catalogue and build or refresh the rollups (the first build of a large
        database takes a while: do it before the first question, not during it)."""
        await self.seus(refresh=True)
        return await self.mode()

    async def keep_fresh(self) -> None:
        """Refresh the rollups every ``rollup_refresh_s`` so that questions never wait for it.
        Runs until cancelled; a database that is away is retried at the next interval."""
        while True:
            await asyncio.sleep(self.settings.rollup_refresh_s)
            try:
                if self._mode == "rollup":
                    await self.refresh_rollups()
            except EnmsError:
                continue

    async def refresh_rollups(self) -> dict[str, object]:
        """Bring the rollups up to now (recent days are re-aggregated: late data is picked up); the caches
        are dropped only when that changed anything."""
        async with self._rollup_lock:
            result = await self._guard(self.store.refresh_rollups(self.now(), self._recheck))
            self._refreshed_at = time.monotonic()
            # cached series and models follow the data: kept while a refresh finds nothing new (another
            # engine's refresh, which this one skipped, may have changed it: then they go too)
            if result.get("changed", True):
                self._generation += 1
            return result

    def _baseline_period(self, day: dt.date) -> tuple[dt.date, dt.date]:
        if self.settings.baseline_start and self.settings.baseline_end:
            return dt.date.fromisoformat(self.settings.baseline_start), dt.date.fromisoformat(self.settings.baseline_end)
        return day - dt.timedelta(days=self.settings.baseline_days), day - dt.timedelta(days=1)

    def _calendar(self, seu: SeuRow, days: list[dt.date]) -> list[int]:
        override = self.settings.holiday_countries.get(seu.factory or "", "")
        country, _, subdiv = override.partition("-") if override else (calendar.country_for(seu.timezone), "", "")
        subdiv = subdiv or calendar.subdivision_for(country, seu.location)
        return calendar.classes(days, country, subdiv or None)

    def _daily_data(self, seu: SeuRow, rows: list[SeriesDay], tag: tuple) -> DailyData:
        """Rows as model input, kept until the next rollup refresh (calendars of 365 days cost time).
        ``tag`` names what the rows are (the series key and which part of it: same-hours series and
        whole-day series of the same days are different data)."""
        if not rows:
            return self._build_daily_data(seu, rows)
        key = (seu.id, seu.energy_source, *tag, rows[0].day, rows[-1].day, len(rows), self._generation)
        data = self._data.get(key)
        if data is None:
            data = self._data[key] = self._build_daily_data(seu, rows)
            while len(self._data) > self.settings.model_cache_size:
                self._data.pop(next(iter(self._data)))
        return data

    async def _price(self, seu: SeuRow, start: dt.date, end: dt.date) -> float:
        """Price per kWh: the time-of-use rate of the SEU's hours where the factory has tariffs."""
        price = self.price_per_kwh(seu)
        if seu.energy_source != "electricity" or self._mode != "rollup":
            return price
        key = (seu.id, start, end, self._generation)
        if key not in self._rates:
            self._rates[key] = await self._guard(self.store.tou_rate(seu, start, end))
            while len(self._rates) > self.settings.model_cache_size:
                self._rates.pop(next(iter(self._rates)))
        return self._rates[key] if self._rates[key] is not None else price

    def _build_daily_data(self, seu: SeuRow, rows: list[SeriesDay]) -> DailyData:
        days = [r.day for r in rows]
        has_production = sum(r.production is not None for r in rows) >= max(1, len(rows) // 2)
        production = [r.production if r.production is not None else 0.0 for r in rows] if has_production else None
        return DailyData(day=days, energy_kwh=[r.energy_kwh for r in rows], production=production,
                         temp_mean_c=[np.nan if r.temp_mean_c is None else r.temp_mean_c for r in rows],
                         calendar=self._calendar(seu, days), coverage=[r.coverage for r in rows],
                         calendar_labels=CALENDAR_LABEL_LIST)

    def _cache_generation(self) -> int:
        """What cached series follow: the rollup generation, or (read-only, no rollups) the refresh interval."""
        return self._generation if self._mode == "rollup" else int(time.monotonic() // self.settings.rollup_refresh_s)

    async def _cached_series(self, seu: SeuRow, key: tuple, fetch: Callable) -> list[SeriesDay]:
        """Daily series change only when rollups are refreshed (or, read-only, at most once per
        refresh interval): keep them until then."""
        generation = self._cache_generation()
        cache_key = (seu.id, seu.energy_source, *key, generation)
        rows = self._series.get(cache_key)
        if rows is None:
            rows = await self._guard(fetch())
            self._series[cache_key] = rows
            while len(self._series) > self.settings.model_cache_size:
                self._series.pop(next(iter(self._series)))
        return rows

    async def _left_out_readings(self, seu: SeuRow, day: dt.date, start: dt.datetime, end: dt.datetime,
                                 partial: bool) -> tuple[int, int, int]:
        """(missing, implausible, duplicated) readings of the analysed day, which its figure leaves out; kept like the series
        (a running day per quarter hour)."""
        generation = self._cache_generation()
        key = (seu.id, seu.energy_source, day, generation, int(end.timestamp() // 900) if partial else None)
        found = self._left_out.get(key)
        if found is None:
            found = self._left_out[key] = await self._guard(self.store.left_out_readings(seu, start, end))
            while len(self._left_out) > self.settings.model_cache_size:
                self._left_out.pop(next(iter(self._left_out)))
        return found

    def model_for(self, seu: SeuRow, data: DailyData, key: tuple) -> BaselineModel:
        """The fitted baseline for this data, from the cache when the data has not changed."""
        digest = hashlib.blake2b(digest_size=16)
        for arr in (data.day, data.energy_kwh, data.production, data.temp_mean_c, data.coverage):
            digest.update(np.ascontiguousarray(arr).tobytes())
        cache_key = (seu.id, seu.energy_source, *key, digest.hexdigest())
        model = self._models.get(cache_key)
        if model is None:
            model = fit_baseline(data, confidence=self.settings.confidence)
            self._models[cache_key] = model
            while len(self._models) > self.settings.model_cache_size:
                self._models.pop(next(iter(self._models)))
        return model

    # --- analysis ---------------------------------------------------------------------
    async def analyze_seu_performance(self, seu_name: str, energy_source: str | None = None,
                                      analysis_date: dt.date | str | None = None) -> PerformanceAnalysis:
        """Energy performance of one SEU on one local day against its normalised baseline.

        Today is the part of the day that has passed, compared with the same hours of the
        baseline days (a model fitted on those hours)."""
        seu = await self.find_seu(seu_name, energy_source)
        now = self.now()
        today = local_today(now, seu.timezone)
        day = _parse_day(analysis_date) or today
        if day > today:
            raise FutureDateError(day, today)
        mode = await self.mode()
        first, last = self._baseline_period(day)
        partial = day == today
        start = local_midnight_utc(day, seu.timezone)
        end = now if partial else day_bounds_utc(day, day, seu.timezone)[1]
        if partial and mode == "rollup":
            cutoff = local_time_of_day(now, seu.timezone)
            key = (first, last, "partial", cutoff.hour * 4 + cutoff.minute // 15)
            history, actual_rows, today_drv, left_out = await asyncio.gather(
                self._cached_series(seu, key, lambda: self.store.seu_partial_series(seu, first, last, cutoff)),
                self._guard(self.store.daily_energy(seu, start, end, cutoff)),
                self._guard(self.store.today_drivers(seu, start, end)),
                self._left_out_readings(seu, day, start, end, partial))
            actual_row = actual_rows[0] if actual_rows else None
            day_row = None if actual_row is None else SeriesDay(
                day=day, energy_kwh=actual_row.energy_kwh, readings=actual_row.readings,
                coverage=actual_row.coverage, production=today_drv.get("production"),
                temp_mean_c=today_drv.get("temp_mean_c"))
        elif partial:  # read-only database: the same hours from raw readings, energy only
            cutoff = local_time_of_day(now, seu.timezone)
            raw = await self._guard(self.store.daily_energy(seu, local_midnight_utc(first, seu.timezone), end, cutoff))
            history = [SeriesDay(r.day, r.energy_kwh, r.readings, r.coverage, None, None) for r in raw if r.day < day]
            day_row = next((SeriesDay(r.day, r.energy_kwh, r.readings, r.coverage, None, None)
                            for r in raw if r.day == day), None)
            key = (first, last, "partial-raw", cutoff.hour * 4 + cutoff.minute // 15)
            left_out = await self._left_out_readings(seu, day, start, end, partial)
        else:
            key = (first, last, day, mode)
            rows, left_out = await asyncio.gather(
                self._cached_series(
                    seu, key, lambda: self.store.seu_daily_series(seu, min(first, day), max(last, day), mode)),
                self._left_out_readings(seu, day, start, end, partial))
            history = [r for r in rows if first <= r.day <= last and r.day != day]
            day_row = next((r for r in rows if r.day == day), None)
        if day_row is None or day_row.readings == 0:
            first_seen, last_seen = await self._guard(self.store.data_range(seu))
            raise NoDataError(seu.name, day, _local_date(first_seen, seu.timezone), _local_date(last_seen, seu.timezone))
        if len(history) < 3:
            raise InsufficientHistoryError(seu.name, day, len(history))
        missing_readings, implausible, duplicated = left_out
        data = self._daily_data(seu, history, (*key, "history"))
        model = self.model_for(seu, data, key)
        cal = self._calendar(seu, [day])[0]
        production = day_row.production
        if production is None and np.isfinite(data.production).any():
            production = 0.0  # the SEU reports production, but none today: it produced nothing
        drivers = DayDrivers(production=production, temp_mean_c=day_row.temp_mean_c, calendar=cal)
        prediction = model.predict(drivers)
        actual = day_row.energy_kwh
        expected = max(prediction.expected_kwh, 0.0)
        deviation = actual - expected
        pct = 100.0 * deviation / expected if expected > 0 else 0.0
        # a day whose drivers were imputed or lie outside the baseline's range is not judged (issue 12, 9)
        significant = bool(mv.decides(model) and prediction.reliable and prediction.is_significant(actual))
        # missing readings only ever lower the measured energy: on an incomplete day a shortfall counts only
        # when the day, filled up to full coverage at its own mean power, would still lie below the interval
        # (an excess stays significant: it is a lower bound)
        gap_shortfall = significant and deviation < 0 and day_row.coverage < COMPLETE_COVERAGE
        if gap_shortfall:
            filled = actual / day_row.coverage if day_row.coverage > 0 else math.inf
            significant = filled < prediction.lower_kwh
        status = analysis.iso_status(pct, significant)
        attribution, root_cause = analysis.attribute(model, drivers, actual, prediction, significant)

        price = await self._price(seu, day, day)
        recs: list = []
        if significant and deviation > 0:
            recs = self._recommend(seu, model, data, history, day_row, cal, deviation, status, price)

        notes = []
        if partial:
            notes.append("partial day: compared with the same hours of the baseline days")
        if not prediction.all_in_range:
            notes.append("outside model range: " + ", ".join(k for k, v in prediction.in_range.items() if not v))
        if prediction.imputed_drivers:
            notes.append("drivers missing and taken from a typical day: " + ", ".join(prediction.imputed_drivers))
        if not prediction.reliable and mv.decides(model) and prediction.is_significant(actual):
            notes.append("outside the interval, but with drivers missing or out of range: not called significant")
        if day_row.coverage < COMPLETE_COVERAGE:
            notes.append(f"readings cover {round(100 * day_row.coverage)}% of the analysed day"
                         + (": less than half of its expected readings"
                            if day_row.coverage < self.settings.min_coverage else ""))
        if gap_shortfall and not significant:
            notes.append("below the baseline, but readings are missing: the shortfall is not called significant")
        if implausible:
            notes.append(f"{implausible} reading{'s' if implausible > 1 else ''} of the day left out as implausible "
                         "(negative, or more than ten times the rated power for an hour: a meter reset?)")
        if missing_readings:
            notes.append(f"{missing_readings} reading{'s' if missing_readings > 1 else ''} of the day without a value")
        if duplicated:
            notes.append(f"{duplicated} reading{'s' if duplicated > 1 else ''} of the day recorded twice under another "
                         "name of the same energy: counted once")
        if not model.valid:
            notes.append(f"baseline model not valid ({model.validity.verdict}): deviations are not called significant")
        elif not mv.decides(model):
            notes.append(f"baseline is a fallback ({model.method}): deviations are not called significant")
        return PerformanceAnalysis(
            seu_name=seu.name, energy_source=seu.energy_source, date=day,
            actual_energy_kwh=round(actual, 3), baseline_energy_kwh=round(expected, 3),
            deviation_kwh=round(deviation, 3), deviation_percent=round(pct, 2),
            deviation_cost_usd=round(deviation * price, 2),
            efficiency_score=round(analysis.efficiency_score(pct), 3),
            root_cause_analysis=root_cause, recommendations=recs, iso50001_status=status,
            voice_summary="", timestamp=now, currency=self.settings.currency, price_per_kwh=round(price, 5),
            window=AnalysisWindow(start=start, end=end, hours=round((end - start).total_seconds() / 3600, 3),
                                  partial=partial, timezone=seu.timezone),
            baseline=analysis.baseline_summary(model, prediction),
            drivers={"production_units": day_row.production, "temp_mean_c": day_row.temp_mean_c,
                     "calendar": calendar.LABELS.get(cal, str(cal)),
                     "in_range": prediction.in_range, "imputed": list(prediction.imputed_drivers)},
            attribution=attribution,
            data_quality=DataQuality(
                coverage_fraction=round(day_row.coverage, 3), readings=day_row.readings,
                baseline_days_used=model.n, baseline_days_missing=model.days_missing,
                excluded_days=[{"date": e.date.isoformat(), "reason": e.reason} for e in model.excluded_days],
                notes=notes),
            significant=significant,
        )

    def _recommend(self, seu: SeuRow, model: BaselineModel, data: DailyData, history: list[SeriesDay],
                   day_row: SeriesDay, cal: int, deviation: float, status, price: float) -> list:
        recent = model.predict_many(data)
        tail = slice(max(0, len(data) - self.settings.recent_days), len(data))
        residuals = recent.residual_kwh[tail][recent.has_actual[tail]]
        annual = float(max(np.mean(residuals), 0.0) * 365.0) if residuals.size else 0.0
        days = [dt.date.fromisoformat(str(d)) for d in data.day[tail]]
        drift = analysis.recent_drift(model, recent.standardised_residual[tail], days)
        same_class = [r.idle_kwh for r, c in zip(history, data.calendar, strict=True)
                      if c == cal and r.idle_kwh is not None]
        typical_idle = float(np.median(same_class)) if same_class and day_row.idle_kwh is not None else None
        return analysis.recommendations(
            seu_name=seu.name, machine_types=seu.machine_types, status=status, significant=True,
            excess_kwh=deviation, annual_excess_kwh=annual, idle_kwh=day_row.idle_kwh,
            typical_idle_kwh=typical_idle, drift_since=drift,
            weather_driven=bool({"hdd", "cdd"} & set(model.drivers)), price_per_kwh=price,
            investment=self.settings.investment)

    async def chart_series(self, seu_name: str, energy_source: str | None = None,
                           analysis_date: dt.date | str | None = None, days: int = 56) -> dict[str, object]:
        """Daily actual vs expected with the prediction band and the savings CUSUM for the ``days``
        complete days up to the analysed day (the picture behind an analysis)."""
        seu = await self.find_seu(seu_name, energy_source)
        today = local_today(self.now(), seu.timezone)
        day = min(_parse_day(analysis_date) or today, today - dt.timedelta(days=1))
        mode = await self.mode()
        first, last = self._baseline_period(day)
        span_start = day - dt.timedelta(days=max(7, min(days, 366)) - 1)
        rows = await self._cached_series(seu, (min(first, span_start), day, "chart", mode),
                                         lambda: self.store.seu_daily_series(seu, min(first, span_start), day, mode))
        history = [r for r in rows if first <= r.day <= last]
        shown = [r for r in rows if span_start <= r.day <= day]
        if len(history) < 3 or not shown:
            raise InsufficientHistoryError(seu.name, day, len(history))
        data = self._daily_data(seu, history, ("chart", "history"))
        model = self.model_for(seu, data, (first, last, "day", mode))
        report = self._daily_data(seu, shown, ("chart", "report"))
        report = _with_production(data, report)
        predicted = model.predict_many(report)
        return {"seu_name": seu.name, "energy_source": seu.energy_source, "analysis_date": day.isoformat(),
                "days": [str(d) for d in report.day], "actual_kwh": [round(float(v), 3) for v in report.energy_kwh],
                "expected_kwh": [round(float(v), 3) for v in predicted.expected_kwh],
                "lower_kwh": [round(float(v), 3) for v in predicted.lower_kwh],
                "upper_kwh": [round(float(v), 3) for v in predicted.upper_kwh],
                "cusum_kwh": [round(float(v), 3) for v in cusum(predicted.expected_kwh, report.energy_kwh)],
                "method": model.method, "confidence": model.confidence}

    # --- fleet ------------------------------------------------------------------------
    def select_seus(self, seus: list[SeuRow], machine_type: str | None, factory: str | None) -> list[SeuRow]:
        """SEUs of one machine type (by type or by name, e.g. 'conveyor') and/or one factory
        (by name or location words, e.g. 'Munich')."""
        out = seus
        if machine_type:
            kind = machine_type.strip().lower().replace(" ", "_")
            out = [s for s in out if kind in s.machine_types or kind.replace("_", "") in _norm(s.name)]
        if factory:
            words = factory.strip().lower()
            out = [s for s in out if words in (s.factory or "").lower() or words in (s.location or "").lower()]
        return out

    async def summary(self, machine_type: str | None = None, factory: str | None = None,
                      analysis_date: dt.date | str | None = None,
                      period: dict[str, str] | tuple[dt.date, dt.date] | None = None) -> FleetSummary:
        """All SEUs (optionally of one machine type or factory) for one day or a period,
        ranked by normalised deviation (most above its baseline first)."""
        for value, name in ((machine_type, "machine_type"), (factory, "factory")):
            if value is not None and (not isinstance(value, str) or len(value) > 100):
                raise InvalidRequestError(f"{name} must be a short string")
        seus = self.select_seus(await self.seus(), machine_type, factory)
        if not seus:
            raise InvalidRequestError(f"no SEU matches machine type {machine_type!r} and factory {factory!r}",
                                      machine_type=machine_type, factory=factory)
        await self.mode()
        span = _parse_period(period)
        day = None if span else (_parse_day(analysis_date) or None)
        results = await asyncio.gather(*(self._summarise(seu, day, span) for seu in seus), return_exceptions=True)
        items, errors = _per_seu(seus, results)
        items.sort(key=lambda i: i.normalised_deviation, reverse=True)
        actual = sum(i.actual_energy_kwh for i in items)
        expected = sum(i.baseline_energy_kwh for i in items)
        return FleetSummary(
            machine_type=machine_type, factory=factory,
            # "today" is each factory's own local day; the first SEU's names it
            date=None if span else (day or local_today(self.now(), seus[0].timezone)),
            period={"start": span[0].isoformat(), "end": span[1].isoformat()} if span else None,
            currency=self.settings.currency, items=items,
            total_actual_energy_kwh=round(actual, 3), total_baseline_energy_kwh=round(expected, 3),
            total_deviation_kwh=round(actual - expected, 3),
            total_deviation_percent=round(100.0 * (actual - expected) / expected, 2) if expected > 0 else 0.0,
            total_deviation_cost=round(sum(i.deviation_cost for i in items), 2),
            errors=errors, voice_summary="", timestamp=self.now())

    async def _summarise(self, seu: SeuRow, day: dt.date | None, span: tuple[dt.date, dt.date] | None) -> SeuSummary:
        if span is None:
            result = await self.analyze_seu_performance(seu.name, seu.energy_source, day)
            se = float(result.baseline.get("interval", {}).get("se_kwh", 0.0))   # the day's standard error
            z = result.deviation_kwh / se if se > 0 else 0.0
            return SeuSummary(
                seu_name=seu.name, energy_source=seu.energy_source,
                machine_type=seu.machine_types[0] if seu.machine_types else None, factory=seu.factory,
                actual_energy_kwh=result.actual_energy_kwh, baseline_energy_kwh=result.baseline_energy_kwh,
                deviation_kwh=result.deviation_kwh, deviation_percent=result.deviation_percent,
                deviation_cost=result.deviation_cost_usd, normalised_deviation=round(z, 3),
                significant=result.significant, iso50001_status=result.iso50001_status,
                efficiency_score=result.efficiency_score,
                primary_factor=result.root_cause_analysis.primary_factor,
                baseline_method=result.baseline["method"], days=1)
        return await self._summarise_period(seu, *span)

    async def _reporting(self, seu: SeuRow, start: dt.date, end: dt.date,
                         baseline: tuple[dt.date, dt.date] | None = None
                         ) -> tuple[BaselineModel, DailyData, Predictions]:
        """The local days [start, end] (the reporting period) predicted by the baseline fitted on
        the days before ``start`` (or on ``baseline``): the shared core of period summaries and savings."""
        first, last = baseline or self._baseline_period(start)
        mode = await self.mode()
        rows = await self._cached_series(seu, (first, end, "period", mode),
                                         lambda: self.store.seu_daily_series(seu, min(first, start), end, mode))
        history = [r for r in rows if first <= r.day <= last and r.day < start]
        reporting = [r for r in rows if start <= r.day <= end]
        if not reporting:
            first_seen, last_seen = await self._guard(self.store.data_range(seu))
            raise NoDataError(seu.name, start, _local_date(first_seen, seu.timezone), _local_date(last_seen, seu.timezone))
        if len(history) < 3:
            raise InsufficientHistoryError(seu.name, start, len(history))
        data = self._daily_data(seu, history, ("period", "history"))
        model = self.model_for(seu, data, (first, last, "day", mode))
        report = _with_production(data, self._daily_data(seu, reporting, ("period", "report")))
        return model, report, model.predict_many(report)

    async def _summarise_period(self, seu: SeuRow, start: dt.date, end: dt.date) -> SeuSummary:
        """Complete local days of [start, end] against the baseline before ``start``."""
        today = local_today(self.now(), seu.timezone)
        end = min(end, today - dt.timedelta(days=1))
        if end < start:
            raise NoDataError(seu.name, start, None, None)
        model, report, predicted = await self._reporting(seu, start, end)
        # incomplete days (under half their readings) leave both sides, as in savings (CalTRACK)
        period = mv.compare_period(model, report, predicted.expected_kwh, self.settings.confidence,
                                   self.settings.min_coverage)
        actual, expected, deviation, m = period.actual_kwh, period.expected_kwh, period.deviation_kwh, period.days
        se_sum = period.band.se_kwh
        imputed = int(np.sum(predicted.imputed & period.counted))
        out_of_range = int(np.sum(~predicted.in_range & period.counted))
        # a period with imputed or out-of-range drivers is not judged (issue 12, 9): the counts say why
        significant = bool(mv.decides(model) and m > 0 and not imputed and not out_of_range
                           and abs(deviation) > period.band.half_width_kwh)
        pct = 100.0 * deviation / expected if expected > 0 else 0.0
        price = await self._price(seu, start, end)
        effects = {**analysis.period_effects(model, report.production, report.temp_mean_c, report.calendar),
                   "performance": deviation}
        primary = max(effects, key=lambda k: abs(effects[k]))
        if primary == "performance" and not significant:
            factor = "normal_operation"
        elif primary == "performance":
            factor = "excess_consumption" if deviation > 0 else "efficiency_gain"
        elif primary == "production":
            factor = "reduced_production" if effects[primary] < 0 else "increased_production"
        else:
            factor = primary
        return SeuSummary(
            seu_name=seu.name, energy_source=seu.energy_source,
            machine_type=seu.machine_types[0] if seu.machine_types else None, factory=seu.factory,
            actual_energy_kwh=round(actual, 3), baseline_energy_kwh=round(expected, 3),
            deviation_kwh=round(deviation, 3), deviation_percent=round(pct, 2),
            deviation_cost=round(deviation * price, 2),
            normalised_deviation=round(deviation / se_sum, 3) if se_sum > 0 else 0.0,
            significant=significant, iso50001_status=analysis.iso_status(pct, significant),
            efficiency_score=round(analysis.efficiency_score(pct), 3), primary_factor=factor,
            baseline_method=model.method, days=m, days_excluded=period.days_excluded,
            days_drivers_imputed=imputed, days_out_of_range=out_of_range)

    # --- opportunities ----------------------------------------------------------------
    def period_days(self, period: str | dict | None, today: dt.date) -> tuple[dt.date, dt.date]:
        """'week' | 'month' | 'quarter' (complete days up to yesterday) or {start, end}."""
        if isinstance(period, dict):
            span = _parse_period(period)
            if span is None:
                raise InvalidRequestError("period must be week, month, quarter, year or {start, end}")
            return span[0], min(span[1], today - dt.timedelta(days=1))
        lengths = {"week": 7, "month": 30, "quarter": 91, "year": 365}
        key = (period or "month").strip().lower() if isinstance(period, str) else "month"
        if key not in lengths:
            raise InvalidRequestError("period must be week, month, quarter, year or {start, end}")
        end = today - dt.timedelta(days=1)
        return end - dt.timedelta(days=lengths[key] - 1), end

    async def opportunities(self, period: str | dict | None = "month", factory: str | None = None,
                            seu: str | None = None) -> OpportunityReport:
        """Savings opportunities of every SEU (or one factory / SEU) in a period, ranked by value."""
        if seu is not None and not isinstance(seu, str):
            raise InvalidRequestError("seu must be a string")
        all_seus = await self.seus()
        if seu:
            first = await self.find_seu_any_source(seu)
            targets = [s for s in all_seus if s.name == first.name]
        else:
            targets = self.select_seus(all_seus, None, factory)
        if not targets:
            raise InvalidRequestError(f"no SEU in factory {factory!r}", factory=factory)
        today = local_today(self.now(), targets[0].timezone)
        start, end = self.period_days(period, today)
        if end < start:
            raise InvalidRequestError("the period has no complete day yet")
        await self.mode()
        results = await asyncio.gather(*(self._scan(s, start, end) for s in targets), return_exceptions=True)
        per_seu, errors = _per_seu(targets, results)
        found: list[Opportunity] = [o for opportunities in per_seu for o in opportunities]
        found.sort(key=lambda o: (o.ongoing, o.estimated_savings_per_year), reverse=True)
        return OpportunityReport(
            period={"start": start.isoformat(), "end": end.isoformat()}, factory=factory, seu_name=seu,
            currency=self.settings.currency, opportunities=found,
            total_savings_kwh_per_week=round(sum(o.estimated_savings_kwh_per_week for o in found if o.ongoing), 1),
            total_savings_per_year=round(sum(o.estimated_savings_per_year for o in found if o.ongoing), 2),
            total_co2_kg_per_year=round(sum(o.co2_kg_per_year for o in found if o.ongoing), 1),
            errors=errors, voice_summary="", timestamp=self.now())

    async def find_seu_any_source(self, seu_name: str) -> SeuRow:
        try:
            return await self.find_seu(seu_name)
        except AmbiguousSeuError:
            seus = await self.seus()
            return next(s for s in seus if _norm(s.name) == _norm(seu_name))

    async def _scan(self, seu: SeuRow, start: dt.date, end: dt.date) -> list[Opportunity]:
        """Run the detectors on one SEU: idle running, residual episodes (drift, faults), off-hours."""
        mode = await self.mode()
        if mode != "rollup":
            raise ReadOnlyDatabaseError("savings opportunities")
        window_start = min(start, end - dt.timedelta(days=self.settings.opportunity_window_days - 1))
        first, last = window_start - dt.timedelta(days=self.settings.baseline_days), window_start - dt.timedelta(days=1)
        rows = await self._cached_series(seu, (first, end, "scan", mode),
                                         lambda: self.store.seu_daily_series(seu, first, end, mode))
        history = [r for r in rows if r.day <= last]
        window = [r for r in rows if window_start <= r.day <= end]
        if len(history) < 30 or len(window) < 7:
            raise InsufficientHistoryError(seu.name, window_start, len(history))
        data = self._daily_data(seu, history, ("scan", "history"))
        model = self.model_for(seu, data, (first, last, "day", mode))
        report = self._daily_data(seu, window, ("scan", "report"))
        report = _with_production(data, report)
        predicted = model.predict_many(report)
        days = [dt.date.fromisoformat(str(d)) for d in report.day]
        findings = [f for f in opp.residual_episodes(days, predicted.residual_kwh, predicted.se_kwh,
                                                     model.mean_energy_kwh, model.residual_autocorrelation)
                    if f.end is None or f.end >= start] if model.valid else []
        working = [c == calendar.WORKING for c in report.calendar]
        if np.isfinite(data.production).any():
            utc_start, utc_end = day_bounds_utc(window_start, end, seu.timezone)
            hourly = await self._cached_series(seu, (window_start, end, "hourly", mode),
                                               lambda: self.store.hourly_profile(seu, utc_start, utc_end))
            if hourly:
                h_days = [h[0] for h in hourly]
                energy = np.array([h[2] for h in hourly])
                production = np.array([np.nan if h[3] is None else h[3] for h in hourly])
                production = np.where(np.isfinite(production), production, 0.0)
                day_work = dict(zip(days, working, strict=True))
                idle = opp.idle_running(h_days, np.array([h[1] for h in hourly]), energy, production,
                                        [day_work.get(d, False) for d in sorted(set(h_days))], start)
                if idle is not None:
                    # the residual rise the idle running causes is the same energy: keep one finding
                    findings = [f for f in findings if not _explained_by(f, idle)]
                    findings.append(idle)
                if not findings:
                    slot_busy = self._working_slots(h_days, [h[1] for h in hourly], production)
                    off = np.array([not slot_busy.get((d.isoweekday(), h[1]), False) for d, h in zip(h_days, hourly,
                                                                                                      strict=True)])
                    in_period = np.array([d >= start for d in h_days])
                    extra = opp.off_hours(energy, production, off, in_period)
                    if extra is not None:
                        findings.append(extra)
        price = await self._price(seu, start, end)
        return [self._opportunity(seu, f, price, model) for f in findings]

    @staticmethod
    def _working_slots(days: list[dt.date], hours: list[int], production: np.ndarray) -> dict[tuple[int, int], bool]:
        """The working pattern: (ISO weekday, hour) slots in which the machine produces on most weeks."""
        counts: dict[tuple[int, int], list[int]] = {}
        for d, h, p in zip(days, hours, production, strict=True):
            counts.setdefault((d.isoweekday(), h), [0, 0])
            counts[(d.isoweekday(), h)][0] += int(p > 0)
            counts[(d.isoweekday(), h)][1] += 1
        return {k: v[0] >= 0.5 * v[1] for k, v in counts.items()}

    def _opportunity(self, seu: SeuRow, f: opp.Finding, price: float, model: BaselineModel) -> Opportunity:
        kind = seu.machine_types[0] if seu.machine_types else ""
        kwh_year = f.kwh_per_week * 52.18
        money = kwh_year * price
        carbon = (seu.carbon_factor or 0.0) / self.settings.unit_kwh.get((seu.unit or "kwh").lower(), 1.0)
        if f.kind == "idle_running":
            improvement, effort = ImprovementType.EXCESSIVE_IDLE, ImplementationEffort.LOW
            hours = ", ".join(f"{h:02d}:00" for h in f.evidence["typical_hours"])
            since = f" since {f.start.isoformat()}" if f.start else ""
            title = f"{seu.name} runs unloaded without production"
            evidence = (f"{seu.name} runs about {f.evidence['idle_hours_per_working_day']:.1f} hours a working day "
                        f"without production{since} (mostly around {hours}), drawing "
                        f"{f.evidence['idle_power_kw']:.0f} kW against {f.evidence['standby_power_kw']:.1f} kW standby: "
                        f"about {f.kwh_per_week:.0f} kWh a week")
        elif f.kind == "drift":
            improvement, effort = ImprovementType.EQUIPMENT_DEGRADATION, ImplementationEffort.MEDIUM
            check = {"compressor": "compressed-air leaks", "hvac": "dampers, valves and set-points",
                     "boiler": "burner tuning and steam traps"}.get(kind, "worn or faulty parts")
            span = (f"from {f.start.isoformat()} to {f.end.isoformat()}" if f.end else f"since {f.start.isoformat()}")
            title = f"{seu.name} uses more than its baseline {span}"
            evidence = (f"{seu.name} has used about {f.evidence['excess_kwh_per_day']:.0f} kWh a day more than its "
                        f"normalised baseline {span} ({f.evidence['days']} days); check {check}")
        else:
            improvement, effort = ImprovementType.INEFFICIENT_SCHEDULING, ImplementationEffort.LOW
            title = f"{seu.name} draws power outside working hours"
            evidence = (f"{seu.name} used {f.evidence['off_hours_kwh_above_standby']:.0f} kWh above its standby level "
                        f"outside the working pattern in the period ({100 * f.evidence['share_of_energy']:.0f}% of its "
                        f"energy): about {f.kwh_per_week:.0f} kWh a week")
        ongoing = f.end is None
        cost = self.settings.investment.get(effort.value, 0.0)
        roi = round(cost / (money / 12.0), 1) if money > 0 else None
        if not ongoing:
            priority = Priority.LOW
        elif money >= 10000:
            priority = Priority.CRITICAL
        elif money >= 2000:
            priority = Priority.HIGH
        elif money >= 500:
            priority = Priority.MEDIUM
        else:
            priority = Priority.LOW
        return Opportunity(
            seu_name=seu.name, energy_source=seu.energy_source, improvement_type=improvement, title=title,
            evidence=evidence, details={"kind": f.kind, **f.evidence, "price_per_kwh": round(price, 5),
                                        "baseline_method": model.method},
            start_date=f.start, end_date=f.end, ongoing=ongoing,
            estimated_savings_kwh_per_week=round(f.kwh_per_week, 1), estimated_savings_per_year=round(money, 2),
            currency=self.settings.currency, co2_kg_per_year=round(kwh_year * carbon, 1),
            implementation_effort=effort, priority=priority, expected_roi_months=roi,
            confidence=round(f.confidence * analysis.model_weight(model), 3))

    # --- action plans -----------------------------------------------------------------
    async def action_plan(self, seu: str, issue_type: str | None = None, save: bool = False,
                          status: str | None = None) -> ActionPlan:
        """An ISO 50001 action plan for the SEU's top opportunity (or the one of ``issue_type``).

        Saved (``save``) as the open plan of that SEU and issue: a repeated save updates it rather than adding
        another; ``status`` None keeps an open plan's status (a new plan is planned)."""
        if issue_type is not None and issue_type not in {t.value for t in ImprovementType}:
            raise InvalidRequestError(f"issue_type must be one of {', '.join(t.value for t in ImprovementType)}")
        if status is not None and status not in PLAN_STATUSES:
            raise InvalidRequestError(f"status must be one of {', '.join(PLAN_STATUSES)}")
        report = await self.opportunities("quarter", seu=seu)
        candidates = [o for o in report.opportunities if o.ongoing and
                      (issue_type is None or o.improvement_type.value == issue_type)]
        target = await self.find_seu_any_source(seu)
        if not candidates:
            raise NoOpportunityError(target.name, issue_type)
        top = candidates[0]
        row = next(s for s in await self.seus() if s.name == top.seu_name and s.energy_source == top.energy_source)
        today = local_today(self.now(), row.timezone)
        first, last = self._baseline_period(today)
        mode = await self.mode()
        rows = await self._cached_series(row, (first, last, "plan", mode),
                                         lambda: self.store.seu_daily_series(row, first, last, mode))
        model = self.model_for(row, self._daily_data(row, rows, ("plan",)), (first, last, "day", mode))
        plan = plans.build_plan(top, model, row.machine_types[0] if row.machine_types else "", today, self.now())
        if save:
            if mode != "rollup":
                raise ReadOnlyDatabaseError("saving an action plan")
            plan.id = str(uuid.uuid4())
            plan.id, plan.status, _ = await self._guard(self.store.save_action_plan(
                plan.id, plan.seu_name, plan.energy_source, plan.issue_type.value, status,
                json.dumps(plan.to_dict())))
        return plan

    async def action_plans(self, status: str | None = None, seu: str | None = None, limit: int = 20,
                           offset: int = 0) -> dict[str, object]:
        """One page of saved plans (most recently updated first), how many match (``total``) and the count of
        every plan per status."""
        if status is not None and status not in PLAN_STATUSES:
            raise InvalidRequestError(f"status must be one of {', '.join(PLAN_STATUSES)}")
        if await self.mode() != "rollup":
            raise ReadOnlyDatabaseError("action plans")
        rows, total = await self._guard(self.store.list_action_plans(status, seu, limit, offset))
        counts = await self._guard(self.store.count_action_plans())
        return {"plans": [{"id": str(r["id"]), "seu_name": r["seu_name"], "energy_source": r["energy_source"],
                           "issue_type": r["issue_type"], "status": r["status"],
                           "created_at": r["created_at"].isoformat(), "updated_at": r["updated_at"].isoformat(),
                           "plan": json.loads(r["plan"])} for r in rows],
                "total": total, "limit": limit, "offset": offset,
                "counts": {k: counts.get(k, 0) for k in PLAN_STATUSES}}

    async def set_action_plan_status(self, plan_id: str, status: str) -> bool:
        if status not in PLAN_STATUSES:
            raise InvalidRequestError(f"status must be one of {', '.join(PLAN_STATUSES)}")
        try:
            uuid.UUID(str(plan_id))
        except ValueError:
            raise InvalidRequestError("plan id must be a UUID") from None
        if await self.mode() != "rollup":
            raise ReadOnlyDatabaseError("action plans")
        return await self._guard(self.store.update_action_plan_status(str(plan_id), status))

    # --- savings ------------------------------------------------------------------------
    async def savings(self, seu: str | None = None, period: str | dict | None = "month") -> SavingsReport:
        """Cumulative savings against the normalised baseline (CUSUM) with their uncertainty."""
        all_seus = await self.seus()
        if seu:
            first_match = await self.find_seu_any_source(seu)
            targets = [s for s in all_seus if s.name == first_match.name]
        else:
            targets = list(all_seus)
        today = local_today(self.now(), targets[0].timezone)
        start, end = self.period_days(period, today)
        if end < start:
            raise InvalidRequestError("the period has no complete day yet")
        measures = await self._measure_starts()
        results = await asyncio.gather(*(self._savings_of(s, start, end, measures.get(s.name)) for s in targets),
                                       return_exceptions=True)
        items, errors = _per_seu(targets, results)
        return SavingsReport(
            period={"start": start.isoformat(), "end": end.isoformat()}, seu_name=seu,
            currency=self.settings.currency, items=items,
            # SEUs whose baseline does not decide (invalid, fallback) are listed but not added up
            total_savings_kwh=round(sum(i.savings_kwh for i in items if i.included_in_total), 1),
            total_savings_cost=round(sum(i.savings_cost for i in items if i.included_in_total), 2),
            total_uncertainty_kwh=round(math.sqrt(sum(i.uncertainty_kwh ** 2 for i in items
                                                      if i.included_in_total)), 1),
            errors=errors, voice_summary="", timestamp=self.now())

    async def _measure_starts(self) -> dict[str, dt.date]:
        """SEU name -> the local day the earliest action plan in progress or completed was saved (the
        measure's start); empty on a read-only database (plans cannot be stored there)."""
        if await self.mode() != "rollup":
            return {}
        out: dict[str, dt.date] = {}
        for status in ("in_progress", "completed"):
            offset, total = 0, 1
            while offset < total:
                rows, total = await self._guard(self.store.list_action_plans(status, None, 200, offset))
                if not rows:
                    break
                offset += len(rows)
                for r in rows:
                    created = r["created_at"].date()
                    name = r["seu_name"]
                    out[name] = min(out.get(name, created), created)
        return out

    async def _savings_of(self, seu: SeuRow, start: dt.date, end: dt.date,
                          measure_start: dt.date | None = None) -> SeuSavings:
        fixed = None
        if self.settings.baseline_start and self.settings.baseline_end:
            fixed = self._baseline_period(start)
        first, last, basis = mv.savings_baseline(start, measure_start, fixed, self.settings.baseline_days)
        model, report, predicted = await self._reporting(seu, start, end, (first, last))
        if model.method == "insufficient_data":
            # no baseline: "savings" would be minus all the energy used; the SEU is an error, not a number
            raise InsufficientHistoryError(seu.name, start, model.n)
        # incomplete days leave both sides; one period method (mv) at 68 %, as Guideline 14 asks
        period = mv.compare_period(model, report, predicted.expected_kwh, 0.68, self.settings.min_coverage)
        curve = cusum(period.expected_daily_kwh, period.actual_daily_kwh)
        saved = -period.deviation_kwh
        total_expected = period.expected_kwh
        fraction = saved / total_expected if total_expected > 0 else 0.0
        m = period.days
        uncertainty = period.band.half_width_kwh
        fsu = uncertainty / abs(saved) if saved != 0 and m > 0 else None
        price = await self._price(seu, start, end)
        decides = mv.decides(model)
        return SeuSavings(
            seu_name=seu.name, energy_source=seu.energy_source, expected_energy_kwh=round(total_expected, 1),
            actual_energy_kwh=round(period.actual_kwh, 1), savings_kwh=round(saved, 1),
            savings_percent=round(100 * fraction, 2), savings_cost=round(saved * price, 2),
            uncertainty_kwh=round(uncertainty, 1),
            fractional_savings_uncertainty=round(fsu, 4) if fsu is not None else None,
            verified=bool(decides and saved > 0 and fsu is not None and fsu < 0.5),
            days=m, cusum_kwh=[{"date": str(d), "cumulative_kwh": round(float(c), 1)}
                               for d, c in zip(report.day, curve, strict=True)],
            baseline_method=model.method, days_excluded=period.days_excluded, included_in_total=decides,
            baseline_verdict=model.validity.verdict,
            baseline_period={"start": first.isoformat(), "end": last.isoformat(), "basis": basis})

    # --- health -----------------------------------------------------------------------
    async def health(self) -> dict[str, object]:
        """Database reachable, newest reading per machine, rollup freshness, model validity per SEU."""
        try:
            version = await self._guard(self.store.ping())
            seus = await self.seus(refresh=True)
            mode = await self.mode()
            machines = await self._guard(self.store.newest_readings())
            freshness = await self._guard(self.store.rollup_freshness()) if mode == "rollup" else {}
        except EnmsError as err:
            return {"database_reachable": False, "error": err.to_dict(), "dsn": self.store.dsn_redacted}
        now = self.now()
        models = []
        for seu in seus:
            try:
                yesterday = local_today(now, seu.timezone) - dt.timedelta(days=1)
                first, last = self._baseline_period(yesterday + dt.timedelta(days=1))
                rows = await self._cached_series(seu, (first, last, "health", mode),
                                                 lambda s=seu, a=first, b=last: self.store.seu_daily_series(s, a, b, mode))
                model = self.model_for(seu, self._daily_data(seu, rows, ("health",)), (first, last, "day", mode))
                models.append({"seu_name": seu.name, "energy_source": seu.energy_source, "method": model.method,
                               "drivers": list(model.drivers), "verdict": model.validity.verdict,
                               "valid": model.validity.valid, "cv_rmse": round(model.cv_rmse, 4),
                               "r2": round(model.r2, 4), "n": model.n, "reasons": list(model.validity.reasons)})
            except EnmsError as err:
                models.append({"seu_name": seu.name, "energy_source": seu.energy_source, "error": err.to_dict()})
        return {
            "database_reachable": True, "server_version": version, "mode": mode,
            "dsn": self.store.dsn_redacted, "seu_count": len(seus),
            "rollups": {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in freshness.items()},
            "machines": [{"name": m["name"], "factory": m["factory"], "type": m["type"],
                          "newest_reading": m["newest"].isoformat() if m["newest"] else None,
                          "minutes_since_newest": round((now - m["newest"]).total_seconds() / 60, 1)
                          if m["newest"] else None} for m in machines],
            "models": models,
            "checked_at": now.isoformat(),
        }

    async def _guard(self, awaitable):
        """Turn connection failures into ``DatabaseUnavailableError`` (password-free) and statements
        that ran out of time into ``TimeoutError_``."""
        try:
            return await awaitable
        except EnmsError:
            raise
        except DB_TIMEOUTS:
            raise TimeoutError_(self.settings.statement_timeout_s) from None
        except DB_REJECTED as err:
            raise InvalidRequestError(f"the database refused the request ({type(err).__name__})") from None
        except DB_ERRORS as err:
            await self.store.close()  # next question builds a fresh pool: the database may be back
            raise DatabaseUnavailableError(redact_dsn(type(err).__name__ + ": " + str(err))) from None


def _parse_day(value: dt.date | str | None) -> dt.date | None:
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


def _per_seu(seus: list[SeuRow], results: list) -> tuple[list, list[dict[str, object]]]:
    """Results of one call per SEU (``gather(..., return_exceptions=True)``): the values, and the
    per-SEU errors a caller can list. Errors that concern the whole question (database away,
    timeout, bad request, bugs) are raised; when every SEU failed, the first failure says why."""
    values: list = []
    errors: list[dict[str, object]] = []
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


def _with_production(history: DailyData, report: DailyData) -> DailyData:
    """An SEU that reports production but none in the reported days produced nothing (not 'unknown')."""
    if np.isfinite(history.production).any() and not np.isfinite(report.production).any():
        return DailyData(day=report.day, energy_kwh=report.energy_kwh, production=np.zeros(len(report)),
                         temp_mean_c=report.temp_mean_c, calendar=report.calendar, coverage=report.coverage,
                         calendar_labels=CALENDAR_LABEL_LIST)
    return report


def _explained_by(episode: "opp.Finding", idle: "opp.Finding") -> bool:
    """A residual rise that starts with the idle running and is mostly its energy is the same finding."""
    if episode.kind != "drift":
        return False
    near = idle.start is None or episode.start is None or abs((episode.start - idle.start).days) <= 7
    return near and idle.kwh_per_week >= 0.5 * episode.kwh_per_week


def _parse_period(value: dict[str, str] | tuple | list | None) -> tuple[dt.date, dt.date] | None:
    if value is None:
        return None
    try:
        if isinstance(value, dict):
            start, end = _parse_day(value.get("start")), _parse_day(value.get("end"))
        else:
            start, end = _parse_day(value[0]), _parse_day(value[1])
    except (TypeError, IndexError, KeyError):
        raise InvalidRequestError('period must be {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}') from None
    if start is None or end is None or end < start or (end - start).days > 3660:
        raise InvalidRequestError('period must be {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}, start <= end')
    return start, end


def _local_date(value: dt.datetime | None, tz: str) -> dt.date | None:
    return local_today(value, tz) if value is not None else None


__all__ = ["Engine", "EngineSettings", "EnmsError", "canonical_source"]
