"""Daily series of an SEU, the model input built from them, and the baselines fitted on them.

The one path every question takes: ``Series.history`` fetches (seu, days) once per rollup
generation, ``daily_data`` turns rows into ``DailyData`` and ``model_for`` fits the baseline.
Everything is kept in one kind of cache (``LRU``) under keys made by one function (``key``),
which ends with the generation the cached value follows.

Model input and fits are CPU work on user input: they run in ``Series.compute``'s small thread pool, never on
the event loop (a fit of a year of days held the skill's loop for up to 0.9 s). The caches are therefore
shared by threads: ``LRU`` is locked, and ``LRU.make`` lets two requests for the same model fit it once.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import functools
import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Hashable, TypeVar

import numpy as np

from ..store import SeriesDay, SeuRow, Store
from . import calendar
from .baseline import BaselineModel, DailyData, Predictions, fit_baseline
from .catalogue import price_per_kwh
from .errors import BillingMeterError, InsufficientHistoryError, NoDataError
from .settings import EngineSettings
from .timeutil import local_today

CALENDAR_LABEL_LIST = tuple(calendar.LABELS[k] for k in sorted(calendar.LABELS))
T = TypeVar("T")
#: days before the baseline read to learn the calendar only (holidays move by up to five weeks between years)
CALENDAR_MARGIN_DAYS = 42
#: a meter read less often than this (seconds) gets no daily model: two days
BILLING_INTERVAL_S = 2 * 86400.0


class LRU(OrderedDict):
    """A mapping that keeps the ``size`` most recently used entries (``get`` counts as a use); safe to share
    between the event loop and the compute threads."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.lock = threading.RLock()
        self._making: dict[Hashable, concurrent.futures.Future] = {}

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self.lock:
            if key not in self:
                return default
            self.move_to_end(key)
            return self[key]

    def put(self, key: Hashable, value: Any) -> Any:
        with self.lock:
            self[key] = value
            self.move_to_end(key)
            while len(self) > self.size:
                self.popitem(last=False)
            return value

    def make(self, key: Hashable, build: Callable[[], T]) -> T:
        """The value under ``key``, built once by ``build`` when missing: a thread that asks while another
        builds it waits for that result instead of building it again (two questions, one fit)."""
        with self.lock:
            if key in self:
                self.move_to_end(key)
                return self[key]
            pending = self._making.get(key)
            owner = pending is None
            if owner:
                pending = self._making[key] = concurrent.futures.Future()
        if not owner:
            return pending.result()
        try:
            value = build()
        except BaseException as err:
            pending.set_exception(err)
            raise
        else:
            self.put(key, value)
            pending.set_result(value)
            return value
        finally:
            with self.lock:
                self._making.pop(key, None)


@dataclasses.dataclass
class Baseline:
    """The rows fetched for a question, the baseline days among them, and (on first use) the model input
    built from those days and the model fitted on it."""
    seu: SeuRow
    rows: list[SeriesDay]
    history: list[SeriesDay]
    tag: tuple               # what the rows are, for the cache of model input (see ``Series.daily_data``)
    series: "Series" = dataclasses.field(repr=False)
    generation: int = 0      # the cache generation the rows were read in (what cached model input follows)
    #: days just before the baseline, read only to learn the calendar (last year's Ascension bridge day lies
    #: before a 365-day baseline of this year's)
    margin: list[SeriesDay] = dataclasses.field(default_factory=list)

    # plain memos, not functools.cached_property: before Python 3.12 that holds one lock per property for every
    # instance, so the loop reading a cached model would wait for any fit running in a compute thread
    _data: DailyData | None = dataclasses.field(default=None, init=False, repr=False)
    _model: BaselineModel | None = dataclasses.field(default=None, init=False, repr=False)
    _calendar_days: dict[dt.date, calendar.DayClass] | None = dataclasses.field(default=None, init=False, repr=False)
    _data_key: tuple | None = dataclasses.field(default=None, init=False, repr=False)

    @property
    def data(self) -> DailyData:
        if self._data is None:
            self._data = self.series.daily_data(self.seu, self.history, self.tag, self.generation, self.classes,
                                                key=self.data_key() if self.history else None)
        return self._data

    def data_key(self) -> tuple:
        """The cache key of this baseline's model input (``Series.data_key``), made once (it holds every day's
        class: asked twice per SEU of a plant-wide question, it was a fifth of a warm verdict)."""
        if self._data_key is None:
            self._data_key = self.series.data_key(self.seu, self.history, self.tag, self.generation, self.classes)
        return self._data_key

    @property
    def calendar_days(self) -> dict[dt.date, calendar.DayClass]:
        """Calendar classes learned from the margin and baseline days' own data, by day (cached by the series)."""
        if self._calendar_days is None:
            self._calendar_days = self.series.learned_days(self)
        return self._calendar_days

    @property
    def classes(self) -> list[calendar.DayClass]:
        """The baseline days' calendar classes, learned from their own data."""
        by_day = self.calendar_days
        return [by_day[r.day] for r in self.history]

    def report_data(self, rows: list[SeriesDay]) -> DailyData:
        """Analysed or reported days as model input, their classes judged against these baseline days."""
        return with_production(self.data, self.series.daily_data(
            self.seu, rows, ("report", self.tag, self.history[0].day if self.history else None),
            self.generation, self.series.judged(self.seu, rows, self)))

    @property
    def model(self) -> BaselineModel:
        if self._model is None:
            self._model = self.series.model_for(self.seu, self.data)
        return self._model

    def is_fitted(self) -> bool:
        """Model input and model are in the caches: using them costs milliseconds, which the loop may spend
        (a cached question then does not queue behind fits in the compute threads)."""
        if self._model is not None:
            return True
        if not self.history:
            return False
        if self._calendar_days is None:  # learning the calendar is work for a compute thread, not the loop
            learned = self.series.calendars.get(self.series.calendar_key(self))
            if learned is None:
                return False
            self._calendar_days = learned
        data = self.series.data.get(self.data_key())
        return data is not None and self.series.model_key(self.seu, data) in self.series.models

    async def fit(self) -> "Baseline":
        """This baseline with its model input and model built in a compute thread (not on the event loop)."""
        await self.series.compute(lambda: self.model)
        return self


class Series:
    """Series, model input and models of every SEU, kept until the data changes."""

    def __init__(self, store: Store, settings: EngineSettings, guard: Callable[[Awaitable], Awaitable],
                 now: Callable[[], dt.datetime]) -> None:
        self.store, self.settings, self.guard, self._now = store, settings, guard, now
        self.mode_name: str | None = None
        self.generation = 0
        self._rollup_lock = asyncio.Lock()
        self._refreshed_at = 0.0
        self._recheck = dt.timedelta(hours=settings.rollup_recheck_hours)
        size = settings.model_cache_size
        self.series, self.data, self.models = LRU(size), LRU(size), LRU(size)
        self.rates, self.left_out, self.intervals = LRU(size), LRU(size), LRU(size)
        self.calendars = LRU(size)
        self.scans = LRU(size)  # an SEU's opportunity findings of a period (engine/opportunity_scan.py)
        self.baselines = LRU(size)  # the Baseline of a question (its days; model input and model once made)
        self._digests: weakref.WeakKeyDictionary[DailyData, str] = weakref.WeakKeyDictionary()
        self._digests_lock = threading.Lock()
        self.days = LRU(size)  # (seu, mode, generation) -> {day: SeriesDay}: the one object of each day's row
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    #: cache entries kept per SEU at least: a whole-plant question (summary, opportunities, health) reads and fits
    #: every SEU, with a few entries each (its days, hours, the baseline's model input, model and calendar), and a
    #: cache smaller than that evicts what the same question needs next time (500 SEUs: every summary refitted all)
    ENTRIES_PER_SEU = 8

    def fit_capacity(self, seus: int) -> None:
        """Size the caches to the catalogue: at least ``model_cache_size`` entries, and ``ENTRIES_PER_SEU`` per SEU."""
        size = max(self.settings.model_cache_size, self.ENTRIES_PER_SEU * seus)
        for cache in (self.series, self.data, self.models, self.rates, self.left_out, self.intervals, self.calendars,
                      self.scans, self.days, self.baselines):
            with cache.lock:
                cache.size = size

    # --- CPU work off the event loop ------------------------------------------------------
    async def compute(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` in the engine's compute threads: fits, scans and period arithmetic on user input
        never hold the event loop (numpy releases the GIL for its heavy parts; pure Python shares it, but the
        loop gets its turn every switch interval). Bounded: at most ``compute_threads`` at once, the rest queue;
        a question cancelled while queued is dropped from the queue. ``compute_threads`` 0 works on the loop itself
        (the design before: a reference for benches and tests)."""
        if self.settings.compute_threads <= 0:
            return work(*args)
        with self._pool_lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self.settings.compute_threads,
                                                                   thread_name_prefix="enms-compute")
            pool = self._pool
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(work, *args))

    def close(self) -> None:
        """Stop the compute threads (work queued is dropped; a running fit finishes on its own)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # --- rollups: what the caches follow ------------------------------------------------
    async def mode(self) -> str:
        """'rollup' (own aggregates, refreshed incrementally) or 'raw' (read-only database)."""
        if self.mode_name is None:
            async with self._rollup_lock:
                if self.mode_name is None:
                    mode = await self.guard(self.store.rollup_mode(create=self.settings.create_rollups))
                    if mode == "rollup":
                        await self.guard(self.store.refresh_rollups(self._now(), self._recheck))
                        self._refreshed_at = time.monotonic()
                        self.generation += 1
                    self.mode_name = mode
        elif self.mode_name == "rollup" and time.monotonic() - self._refreshed_at > self.settings.rollup_refresh_s:
            await self.refresh_rollups()
        return self.mode_name

    async def refresh_rollups(self) -> dict[str, object]:
        """Bring the rollups up to now (recent days are re-aggregated: late data is picked up); the caches
        are dropped only when that changed anything."""
        async with self._rollup_lock:
            result = await self.guard(self.store.refresh_rollups(self._now(), self._recheck))
            self._refreshed_at = time.monotonic()
            # cached series and models follow the data: kept while a refresh finds nothing new (another
            # engine's refresh, which this one skipped, may have changed it: then they go too)
            if result.get("changed", True):
                self.generation += 1
            return result

    def cache_generation(self) -> int:
        """What cached series follow: the rollup generation, or (read-only, no rollups) the refresh interval."""
        if self.mode_name == "rollup":
            return self.generation
        return int(time.monotonic() // self.settings.rollup_refresh_s)

    def key(self, seu: SeuRow, *parts: Hashable, follows_data: bool = True, generation: int | None = None) -> tuple:
        """The one cache key: the SEU and energy source, what is kept, and the generation it follows (not for
        what is keyed by its own content, such as a model by a digest of its data). ``generation``: the one the
        data was read in, when the key is made later (in a compute thread, after a refresh may have run)."""
        if not follows_data:
            return (seu.id, seu.energy_source, *parts, None)
        return (seu.id, seu.energy_source, *parts, self.cache_generation() if generation is None else generation)

    async def _kept(self, cache: LRU, key: tuple, fetch: Callable[[], Awaitable]) -> Any:
        found = cache.get(key)
        if found is None and key not in cache:
            found = cache.put(key, await self.guard(fetch()))
        return found

    # --- the days of an SEU ---------------------------------------------------------------
    def baseline_period(self, day: dt.date) -> tuple[dt.date, dt.date]:
        """The baseline days of a question about ``day`` (or of a reporting period starting then)."""
        if self.settings.baseline_start and self.settings.baseline_end:
            return dt.date.fromisoformat(self.settings.baseline_start), dt.date.fromisoformat(self.settings.baseline_end)
        return day - dt.timedelta(days=self.settings.baseline_days), day - dt.timedelta(days=1)

    async def daily(self, seu: SeuRow, first: dt.date, last: dt.date, mode: str) -> list[SeriesDay]:
        """Whole local days [first, last] (daily series change only when rollups are refreshed or, read-only,
        at most once per refresh interval: kept until then)."""
        generation = self.cache_generation()

        async def read() -> list[SeriesDay]:
            return self.shared_days(seu, mode, generation, await self.store.seu_daily_series(seu, first, last, mode))

        return await self._kept(self.series, self.key(seu, "daily", first, last, mode, generation=generation), read)

    def shared_days(self, seu: SeuRow, mode: str, generation: int, rows: list[SeriesDay]) -> list[SeriesDay]:
        """``rows`` with each day's row the object already kept for that day when it is equal (the windows of
        questions about different days overlap in most of their days). Every window read anew held its own
        hundreds of row objects, up to 50,000 in the bus fuzz, which every full garbage collection walked with the
        process (the engine's loop too) standing still (issue 14)."""
        known = self.days.get(self.key(seu, "days", mode, generation=generation))
        if known is None:
            known = self.days.put(self.key(seu, "days", mode, generation=generation), {})
        shared = []
        for row in rows:
            kept = known.get(row.day)
            if kept is None or kept != row:
                known[row.day] = kept = row
            shared.append(kept)
        return shared

    async def partial(self, seu: SeuRow, first: dt.date, last: dt.date, cutoff: dt.time) -> list[SeriesDay]:
        """Days [first, last] up to ``cutoff`` local time (the same hours as a running day), kept per quarter hour."""
        return await self._kept(self.series, self.key(seu, "partial", first, last, cutoff.hour * 4 + cutoff.minute // 15),
                                lambda: self.store.seu_partial_series(seu, first, last, cutoff))

    async def prefetch_partial(self, seus: list[SeuRow], first: dt.date, last: dt.date, cutoff: dt.time) -> None:
        """``partial`` of many SEUs read in one statement and kept as each one's own (a plant-wide question about a
        running day read them one SEU at a time; a later question about one of them finds its series kept)."""
        slot = cutoff.hour * 4 + cutoff.minute // 15
        keys = [self.key(seu, "partial", first, last, slot) for seu in seus]
        missing = [(seu, key) for seu, key in zip(seus, keys, strict=True) if key not in self.series]
        if not missing:
            return
        read = await self.guard(self.store.partial_series_many([seu for seu, _ in missing], first, last, cutoff))
        for (_, key), rows in zip(missing, read, strict=True):
            if key not in self.series:
                self.series.put(key, rows)

    async def hourly(self, seu: SeuRow, first: dt.date, last: dt.date, start_utc: dt.datetime,
                     end_utc: dt.datetime) -> list:
        """(local day, hour, kWh, production) of local days [first, last]."""
        return await self._kept(self.series, self.key(seu, "hourly", first, last),
                                lambda: self.store.hourly_profile(seu, start_utc, end_utc))

    async def check_interval(self, seu: SeuRow) -> None:
        """Refuse an SEU whose meter is read less often than every ``BILLING_INTERVAL_S`` (a monthly, billing
        meter): its days cannot carry a daily model, and a daily baseline from a few readings would be wrong."""
        interval = await self._kept(self.intervals, self.key(seu, "interval"),
                                    lambda: self.store.reading_interval_s(seu))
        if interval is not None and interval > BILLING_INTERVAL_S:
            raise BillingMeterError(seu.name, interval / 86400.0)

    async def history(self, seu: SeuRow, baseline: tuple[dt.date, dt.date], fetch: tuple[dt.date, dt.date],
                      mode: str, exclude: tuple[dt.date, dt.date] | None = None) -> Baseline:
        """(seu, days) -> rows, baseline days, model input, fitted model: the one path of every question.
        ``fetch`` is the span read (the baseline and the days asked about); the baseline days are those of
        ``baseline`` outside ``exclude`` (the analysed or reported days)."""
        await self.check_interval(seu)
        generation = self.cache_generation()
        # the same question again finds its baseline with model input and model attached (a plant-wide question
        # asks for 500 of them: sorting out their days and checking the caches cost 85 ms every time)
        key = self.key(seu, "baseline", baseline, fetch, mode, exclude, generation=generation)
        kept = self.baselines.get(key)
        if kept is not None:
            return kept
        first, last = baseline
        start = min(fetch[0], first - dt.timedelta(days=CALENDAR_MARGIN_DAYS))
        read = await self.daily(seu, start, fetch[1], mode)
        rows = [r for r in read if r.day >= fetch[0]]
        history = [r for r in rows if first <= r.day <= last and not (exclude and exclude[0] <= r.day <= exclude[1])]
        margin = [r for r in read if r.day < first]
        return self.baselines.put(key, Baseline(seu, rows, history, ("daily", exclude), self, generation, margin))

    def fitted(self, seu: SeuRow, history: list[SeriesDay], kind: str) -> Baseline:
        """The same for rows read another way (a running day's same hours): ``kind`` names how."""
        return Baseline(seu, history, history, (kind,), self, self.cache_generation())

    async def left_out_readings(self, seu: SeuRow, day: dt.date, start: dt.datetime, end: dt.datetime,
                                partial: bool) -> tuple[int, int, int]:
        """(missing, implausible, duplicated) readings of the analysed day, which its figure leaves out; kept like
        the series (a running day per quarter hour)."""
        slot = int(end.timestamp() // 900) if partial else None
        return await self._kept(self.left_out, self.key(seu, "left_out", day, slot),
                                lambda: self.store.left_out_readings(seu, start, end))

    async def price(self, seu: SeuRow, start: dt.date, end: dt.date) -> float:
        """Price per kWh: the time-of-use rate of the SEU's hours where the factory has tariffs."""
        price = price_per_kwh(seu, self.settings)
        if seu.energy_source != "electricity" or self.mode_name != "rollup":
            return price
        rate = await self._kept(self.rates, self.key(seu, "rate", start, end), lambda: self.store.tou_rate(seu, start, end))
        return rate if rate is not None else price

    async def no_data_error(self, seu: SeuRow, day: dt.date) -> NoDataError:
        """No readings for ``day``: the error names the local days the SEU does have data for."""
        first_seen, last_seen = await self.guard(self.store.data_range(seu))
        return NoDataError(seu.name, day, _local_date(first_seen, seu.timezone), _local_date(last_seen, seu.timezone))

    async def reporting(self, seu: SeuRow, start: dt.date, end: dt.date,
                        baseline: tuple[dt.date, dt.date] | None = None
                        ) -> tuple[BaselineModel, DailyData, Predictions]:
        """The local days [start, end] (the reporting period) predicted by the baseline fitted on
        the days before ``start`` (or on ``baseline``): the shared core of period summaries and savings."""
        first, last = baseline or self.baseline_period(start)
        mode = await self.mode()
        fit = await self.history(seu, (first, last), (min(first, start), end), mode, exclude=(start, end))
        reporting = [r for r in fit.rows if start <= r.day <= end]
        if not reporting:
            raise await self.no_data_error(seu, start)
        if len(fit.history) < 3:
            raise InsufficientHistoryError(seu.name, start, len(fit.history))

        def predicted() -> tuple[BaselineModel, DailyData, Predictions]:
            report = fit.report_data(reporting)
            return fit.model, report, fit.model.predict_many(report)

        return await self.compute(predicted)

    # --- model input and models -------------------------------------------------------------
    def country(self, seu: SeuRow) -> tuple[str | None, str | None]:
        """(country, subdivision) of the SEU's factory: a setting, else from its time zone and location."""
        override = self.settings.holiday_countries.get(seu.factory or "", "")
        country, _, subdiv = override.partition("-") if override else (calendar.country_for(seu.timezone), "", "")
        subdiv = subdiv or calendar.subdivision_for(country, seu.location)
        return country, subdiv or None

    def priors(self, seu: SeuRow, days: list[dt.date]) -> list[calendar.DayClass]:
        """The classes before the data is looked at: settings (``day_classes`` of the factory), public holidays,
        the day of the week."""
        country, subdiv = self.country(seu)
        overrides = {str(k).strip().lower(): v for k, v in
                     (self.settings.day_classes.get(seu.factory or "") or {}).items()}
        return [calendar.prior(d, country, subdiv, overrides) for d in days]

    def calendar(self, seu: SeuRow, days: list[dt.date]) -> list[int]:
        """Prior calendar classes (no data looked at)."""
        return [c.code for c in self.priors(seu, days)]

    def learned(self, seu: SeuRow, rows: list[SeriesDay]) -> list[calendar.DayClass]:
        """Classes of baseline days learned from their own data (``calendar.learn``)."""
        days = [r.day for r in rows]
        priors = self.priors(seu, days)
        if not self.settings.learn_calendar:
            return priors
        has_production = sum(r.production is not None for r in rows) >= max(1, len(rows) // 2)
        return calendar.learn(days, [r.energy_kwh for r in rows],
                              [r.production for r in rows] if has_production else None, priors)

    def judged(self, seu: SeuRow, rows: list[SeriesDay], fit: "Baseline") -> list[calendar.DayClass]:
        """Classes of analysed or reported days against the baseline ``fit`` (``calendar.judge``): their own
        production decides, else the same holidays, bridge days and shutdown weeks of the baseline."""
        days = [r.day for r in rows]
        priors = self.priors(seu, days)
        if not self.settings.learn_calendar:
            return priors
        has_production = bool(np.isfinite(fit.data.production).any())
        typical = self.typical_production(fit) if has_production else 0.0
        country, subdiv = self.country(seu)
        index = self._kept_for(fit, "peers", lambda: calendar.peers(fit.calendar_days, country, subdiv))
        return [calendar.judge(r.day, r.production, has_production, typical, p, index, country, subdiv)
                for r, p in zip(rows, priors, strict=True)]

    def typical_production(self, fit: "Baseline") -> float:
        """``calendar.typical_production`` of a baseline's days, kept like its learned calendar: the priors of a
        year of days were worked out again for every day judged, on the event loop for a day against a cached
        baseline."""
        if not fit.history:
            return 0.0
        return self._kept_for(fit, "typical", lambda: calendar.typical_production(
            self.priors(fit.seu, [r.day for r in fit.history]), [r.production for r in fit.history]))

    def _kept_for(self, fit: "Baseline", what: str, build: Callable[[], T]) -> T:
        """What is worked out once per baseline (its days and generation), kept with its learned calendar: its
        typical production, and the ``calendar.peers`` index its judged days are looked up in (built for every
        question before, a walk of the whole baseline for a single day too)."""
        if not (fit.margin or fit.history):
            return build()
        return self.calendars.make((*self.calendar_key(fit), what), build)

    def learned_days(self, fit: "Baseline") -> dict[dt.date, calendar.DayClass]:
        """``learned`` for a baseline's margin and history, by day, kept like model input (the loop asks for it to
        know whether a model is cached)."""
        rows = fit.margin + fit.history
        if not rows:
            return {}
        return self.calendars.make(self.calendar_key(fit), lambda: dict(zip((r.day for r in rows), self.learned(fit.seu, rows),
                                                         strict=True)))

    def calendar_key(self, fit: "Baseline") -> tuple:
        rows = fit.margin + fit.history
        return self.key(fit.seu, "calendar", *fit.tag, rows[0].day, rows[-1].day, len(rows),
                        generation=fit.generation)

    def daily_data(self, seu: SeuRow, rows: list[SeriesDay], tag: tuple = (), generation: int | None = None,
                   classes: list[calendar.DayClass] | None = None, key: tuple | None = None) -> DailyData:
        """Rows as model input, kept like the rows (calendars of 365 days cost time). ``tag`` names what the rows
        are: same-hours and whole-day series of the same days are different data, and so are days with one
        day left out (``("daily", excluded span)``); ``("daily", None)`` is every day between the first and last.
        ``generation``: the one the rows were read in (default: now). ``classes``: the days' calendar classes
        (default: learned from the rows themselves, as baseline days). ``key``: ``data_key`` of these arguments,
        when the caller keeps it already."""
        if not rows:
            return self.build_daily_data(seu, rows)
        return self.data.make(key or self.data_key(seu, rows, tag, generation, classes),
                              lambda: self.build_daily_data(seu, rows, classes))

    def data_key(self, seu: SeuRow, rows: list[SeriesDay], tag: tuple, generation: int | None,
                 classes: list[calendar.DayClass] | None = None) -> tuple:
        return self.key(seu, "data", *tag, rows[0].day, rows[-1].day, len(rows),
                        None if classes is None else tuple(c.code for c in classes), generation=generation)

    def build_daily_data(self, seu: SeuRow, rows: list[SeriesDay],
                         classes: list[calendar.DayClass] | None = None) -> DailyData:
        days = [r.day for r in rows]
        has_production = sum(r.production is not None for r in rows) >= max(1, len(rows) // 2)
        production = [r.production if r.production is not None else 0.0 for r in rows] if has_production else None
        if classes is None:
            classes = self.learned(seu, rows)
        return DailyData(day=days, energy_kwh=[r.energy_kwh for r in rows], production=production,
                         temp_mean_c=[np.nan if r.temp_mean_c is None else r.temp_mean_c for r in rows],
                         calendar=[c.code for c in classes], coverage=[r.coverage for r in rows],
                         calendar_labels=CALENDAR_LABEL_LIST,
                         temp_min_c=[np.nan if r.temp_min_c is None else r.temp_min_c for r in rows],
                         temp_max_c=[np.nan if r.temp_max_c is None else r.temp_max_c for r in rows])

    def model_for(self, seu: SeuRow, data: DailyData, key: tuple = ()) -> BaselineModel:
        """The fitted baseline for this data, from the cache when the data has not changed (the key holds a
        digest of the data, so the same days fitted for two questions are fitted once)."""
        return self.models.make(self.model_key(seu, data, key),
                                lambda: fit_baseline(data, confidence=self.settings.confidence))

    def model_key(self, seu: SeuRow, data: DailyData, key: tuple = ()) -> tuple:
        return self.key(seu, "model", *key, self.digest(data), follows_data=False)

    def digest(self, data: DailyData) -> str:
        """A digest of the model input, worked out once per ``DailyData`` (immutable; the cached ones are asked for
        it again by every question about a day against a cached baseline, on the event loop)."""
        with self._digests_lock:
            found = self._digests.get(data)
        if found is not None:
            return found
        digest = hashlib.blake2b(digest_size=16)
        for arr in (data.day, data.energy_kwh, data.production, data.temp_mean_c, data.coverage, data.calendar,
                    data.temp_min_c, data.temp_max_c):
            digest.update(np.ascontiguousarray(arr).tobytes())
        with self._digests_lock:
            self._digests[data] = found = digest.hexdigest()
        return found


def with_production(history: DailyData, report: DailyData) -> DailyData:
    """An SEU that reports production but none in the reported days produced nothing (not 'unknown')."""
    if np.isfinite(history.production).any() and not np.isfinite(report.production).any():
        return DailyData(day=report.day, energy_kwh=report.energy_kwh, production=np.zeros(len(report)),
                         temp_mean_c=report.temp_mean_c, calendar=report.calendar, coverage=report.coverage,
                         calendar_labels=CALENDAR_LABEL_LIST)
    return report


def _local_date(value: dt.datetime | None, tz: str) -> dt.date | None:
    return local_today(value, tz) if value is not None else None
