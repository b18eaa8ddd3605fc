"""The day's verdict: one SEU on one local day against its normalised baseline.

``analyse_day`` gathers the day and its baseline (a running day is compared with the same hours of
the baseline days); ``day_verdict`` and ``day_note_codes`` are pure: the figures and the data-quality notes
(codes with parameters; ``NOTE_WORDING`` keeps the English ``notes`` of the JSON contract) follow from the
model, its prediction and the day's row alone.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
from typing import Any, Callable

import numpy as np

from ..store import SeriesDay, SeuRow
from . import analysis, calendar, mv
from .baseline import BaselineModel, DailyData, DayDrivers, Prediction, cusum
from .errors import InsufficientHistoryError
from .models import AnalysisWindow, DataQuality, PerformanceAnalysis
from .series import Baseline, Series
from .settings import EngineSettings
from .timeutil import day_bounds_utc, local_midnight_utc, local_time_of_day, local_today

#: a day whose readings cover less than this share of it is incomplete (named in notes; a shortfall is checked)
COMPLETE_COVERAGE = 0.99


@dataclasses.dataclass(frozen=True)
class DayVerdict:
    expected_kwh: float
    deviation_kwh: float
    deviation_percent: float
    significant: bool
    gap_shortfall: bool      # below the interval, but on a day with missing readings
    status: object           # ISO50001Status
    #: outside the interval, but with drivers imputed or out of range: not called significant (issue 12, 9)
    unreliable_drivers: bool = False


def day_verdict(model: BaselineModel, prediction: Prediction, actual_kwh: float, coverage: float) -> DayVerdict:
    """Deviation from the expected energy and whether it is significant."""
    expected = max(prediction.expected_kwh, 0.0)
    deviation = actual_kwh - expected
    pct = 100.0 * deviation / expected if expected > 0 else 0.0
    # a day whose drivers were imputed or lie outside the baseline's range is not judged (issue 12, 9);
    # a fallback baseline (mv.decides) shows a figure but decides nothing
    decides = mv.decides(model)
    outside = bool(decides and prediction.is_significant(actual_kwh))
    significant = bool(outside and prediction.reliable)
    # missing readings only ever lower the measured energy: on an incomplete day a shortfall counts only
    # when the day, filled up to full coverage at its own mean power, would still lie below the interval
    # (an excess stays significant: it is a lower bound)
    gap_shortfall = significant and deviation < 0 and coverage < COMPLETE_COVERAGE
    if gap_shortfall:
        filled = actual_kwh / coverage if coverage > 0 else math.inf
        significant = filled < prediction.lower_kwh
    return DayVerdict(expected, deviation, pct, significant, gap_shortfall, analysis.iso_status(pct, significant),
                      unreliable_drivers=bool(outside and not prediction.reliable))


def note(code: str, **params: object) -> dict[str, object]:
    """A data-quality note as a code and the values its sentence needs (dialogs word it)."""
    return {"code": code, "params": params}


def _plural(n: int) -> str:
    return "s" if n > 1 else ""


#: the English wording of each note code, kept for the ``notes`` strings of the JSON contract
NOTE_WORDING: dict[str, Callable[[dict[str, Any]], str]] = {
    "partial_day": lambda p: "partial day: compared with the same hours of the baseline days",
    "outside_model_range": lambda p: "outside model range: " + ", ".join(p["drivers"]),
    "drivers_imputed": lambda p: "drivers missing and taken from a typical day: " + ", ".join(p["drivers"]),
    "incomplete_day": lambda p: (f"readings cover {p['coverage_percent']}% of the analysed day"
                                 + (": less than half of its expected readings" if p["below_min_coverage"] else "")),
    "shortfall_not_significant": lambda p: ("below the baseline, but readings are missing: the shortfall is not "
                                            "called significant"),
    "implausible_readings": lambda p: (f"{p['count']} reading{_plural(p['count'])} of the day left out as implausible "
                                       "(negative, or more than ten times the rated power for an hour: a meter "
                                       "reset?)"),
    "readings_without_value": lambda p: f"{p['count']} reading{_plural(p['count'])} of the day without a value",
    "duplicated_readings": lambda p: (f"{p['count']} reading{_plural(p['count'])} of the day recorded twice under "
                                      "another name of the same energy: counted once"),
    "drivers_not_judged": lambda p: ("outside the interval, but with drivers missing or out of range: not called "
                                     "significant"),
    "model_not_valid": lambda p: (f"baseline model not valid ({p['verdict']}): deviations are not called "
                                  "significant"),
    "fallback_baseline": lambda p: f"baseline is a fallback ({p['method']}): deviations are not called significant",
}


def note_text(item: dict[str, Any]) -> str:
    return NOTE_WORDING[item["code"]](item["params"])


def day_note_codes(model: BaselineModel, prediction: Prediction, verdict: DayVerdict, coverage: float,
                   partial: bool, left_out: tuple[int, int, int], min_coverage: float) -> list[dict[str, Any]]:
    """What a reader of the figures should know about the data behind them, as codes with parameters."""
    missing_readings, implausible, duplicated = left_out
    codes = []
    if partial:
        codes.append(note("partial_day"))
    if not prediction.all_in_range:
        codes.append(note("outside_model_range", drivers=[k for k, v in prediction.in_range.items() if not v]))
    if prediction.imputed_drivers:
        codes.append(note("drivers_imputed", drivers=list(prediction.imputed_drivers)))
    if verdict.unreliable_drivers:
        codes.append(note("drivers_not_judged"))
    if coverage < COMPLETE_COVERAGE:
        codes.append(note("incomplete_day", coverage_percent=round(100 * coverage),
                          below_min_coverage=bool(coverage < min_coverage)))
    if verdict.gap_shortfall and not verdict.significant:
        codes.append(note("shortfall_not_significant"))
    if implausible:
        codes.append(note("implausible_readings", count=int(implausible)))
    if missing_readings:
        codes.append(note("readings_without_value", count=int(missing_readings)))
    if duplicated:
        codes.append(note("duplicated_readings", count=int(duplicated)))
    if not model.valid:
        codes.append(note("model_not_valid", verdict=model.validity.verdict))
    elif not mv.decides(model):
        codes.append(note("fallback_baseline", method=model.method))
    return codes


def day_notes(model: BaselineModel, prediction: Prediction, verdict: DayVerdict, coverage: float, partial: bool,
              left_out: tuple[int, int, int], min_coverage: float) -> list[str]:
    """The same notes in English (the ``notes`` strings of the JSON contract)."""
    return [note_text(n) for n in day_note_codes(model, prediction, verdict, coverage, partial, left_out,
                                                 min_coverage)]


#: what a running day's readings gave up to an instant: its energy rows (``Store.daily_energy``) and its drivers
#: (``Store.today_drivers``)
RunningDay = tuple[list, dict]


async def analyse_day(series: Series, seu: SeuRow, day: dt.date, now: dt.datetime, today: dt.date,
                      running: RunningDay | None = None, recommendations: bool = True) -> PerformanceAnalysis:
    """Energy performance of one SEU on one local day (``day`` <= ``today``) against its normalised baseline.

    Today is the part of the day that has passed, compared with the same hours of the
    baseline days (a model fitted on those hours). ``running``: today's readings up to ``now`` already read (a
    plant-wide question reads those of all its SEUs at once, ``prefetch_running_days``). ``recommendations``
    False leaves them out (a summary line does not speak them: a third of its work on a significant day)."""
    store, guard = series.store, series.guard
    mode = await series.mode()
    first, last = series.baseline_period(day)
    partial = day == today
    await series.check_interval(seu)
    start = local_midnight_utc(day, seu.timezone)
    end = now if partial else day_bounds_utc(day, day, seu.timezone)[1]
    if partial and mode == "rollup":
        cutoff = local_time_of_day(now, seu.timezone)
        rows, (actual_rows, today_drv), left_out = await asyncio.gather(
            series.partial(seu, first, last, cutoff),
            _read_running(series, seu, start, end, cutoff) if running is None else _given(running),
            series.left_out_readings(seu, day, start, end, partial))
        fit = series.fitted(seu, rows, f"partial-{cutoff.hour * 4 + cutoff.minute // 15}")
        actual_row = actual_rows[0] if actual_rows else None
        day_row = None if actual_row is None else SeriesDay(
            day=day, energy_kwh=actual_row.energy_kwh, readings=actual_row.readings,
            coverage=actual_row.coverage, production=today_drv.get("production"),
            temp_mean_c=today_drv.get("temp_mean_c"))
    elif partial:  # read-only database: the same hours from raw readings, energy only
        cutoff = local_time_of_day(now, seu.timezone)
        raw = await guard(store.daily_energy(seu, local_midnight_utc(first, seu.timezone), end, cutoff))
        history = [SeriesDay(r.day, r.energy_kwh, r.readings, r.coverage, None, None) for r in raw if r.day < day]
        day_row = next((SeriesDay(r.day, r.energy_kwh, r.readings, r.coverage, None, None)
                        for r in raw if r.day == day), None)
        fit = series.fitted(seu, history, f"partial-raw-{cutoff.hour * 4 + cutoff.minute // 15}")
        left_out = await series.left_out_readings(seu, day, start, end, partial)
    else:
        fit, left_out = await asyncio.gather(
            series.history(seu, (first, last), (min(first, day), max(last, day)), mode, exclude=(day, day)),
            series.left_out_readings(seu, day, start, end, partial))
        day_row = next((r for r in fit.rows if r.day == day), None)
    if day_row is None or day_row.readings == 0:
        raise await series.no_data_error(seu, day)
    if len(fit.history) < 3:
        raise InsufficientHistoryError(seu.name, day, len(fit.history))
    price = await series.price(seu, day, day)
    args = (series, seu, day, now, partial, start, end, fit, day_row, left_out, price, recommendations)
    if fit.is_fitted():  # a day against a cached baseline: milliseconds, answered without queueing
        return verdict_of(*args)
    # the fit, the prediction and the recommendations are CPU work: a compute thread, not the event loop
    return await series.compute(verdict_of, *args)


async def _given(running: RunningDay) -> RunningDay:
    return running


async def _read_running(series: Series, seu: SeuRow, start: dt.datetime, end: dt.datetime, cutoff: dt.time
                        ) -> RunningDay:
    actual_rows, drivers = await asyncio.gather(series.guard(series.store.daily_energy(seu, start, end, cutoff)),
                                                series.guard(series.store.today_drivers(seu, start, end)))
    return actual_rows, drivers


async def prefetch_running_days(series: Series, seus: list[SeuRow], day: dt.date | None, now: dt.datetime
                                ) -> dict[tuple[str, str], RunningDay]:
    """What ``analyse_day`` reads per SEU for its running day (``day`` None: each factory's today), read for all
    ``seus`` at once, one statement per time zone for each kind of read: the same-hours series of the baseline days
    (kept by the series), and the running day's readings up to ``now`` (returned by (SEU id, energy source), for
    ``analyse_day(..., running=)`` at that same instant). A plant of 100 SEUs asked about today read 200 statements
    of its running day, one SEU after the other."""
    if await series.mode() != "rollup":
        return {}
    groups: dict[tuple[dt.date, dt.date, dt.time, str], list[SeuRow]] = {}
    for seu in seus:
        today = local_today(now, seu.timezone)
        if (day or today) != today:
            continue
        first, last = series.baseline_period(today)
        groups.setdefault((first, last, local_time_of_day(now, seu.timezone), seu.timezone), []).append(seu)
    running: dict[tuple[str, str], RunningDay] = {}
    for (first, last, cutoff, timezone), group in groups.items():
        start = local_midnight_utc(local_today(now, timezone), timezone)
        _, energy, drivers = await asyncio.gather(
            series.prefetch_partial(group, first, last, cutoff),
            series.guard(series.store.running_day_many(group, start, now, timezone, cutoff)),
            series.guard(series.store.today_drivers_many(group, start, now)))
        for seu, rows, drv in zip(group, energy, drivers, strict=True):
            running[(seu.id, seu.energy_source)] = (rows, drv)
    return running


def verdict_of(series: Series, seu: SeuRow, day: dt.date, now: dt.datetime, partial: bool, start: dt.datetime,
               end: dt.datetime, fit: Baseline, day_row: SeriesDay, left_out: tuple[int, int, int],
               price: float, recommendations: bool = True) -> PerformanceAnalysis:
    """The analysis of a day whose rows and baseline days are read (pure but for the caches of model input
    and models)."""
    settings = series.settings
    data, model = fit.data, fit.model
    day_class = series.judged(seu, [day_row], fit)[0]
    cal = day_class.code
    production = day_row.production
    if production is None and np.isfinite(data.production).any():
        production = 0.0  # the SEU reports production, but none today: it produced nothing
    drivers = DayDrivers(production=production, temp_mean_c=day_row.temp_mean_c, calendar=cal)
    prediction = model.predict(drivers)
    actual = day_row.energy_kwh
    verdict = day_verdict(model, prediction, actual, day_row.coverage)
    expected, deviation, pct, significant = (verdict.expected_kwh, verdict.deviation_kwh, verdict.deviation_percent,
                                             verdict.significant)
    status = verdict.status
    attribution, root_cause = analysis.attribute(model, drivers, actual, prediction, significant)

    recs: list = []
    if recommendations and significant and deviation > 0:
        recs = recommend(settings, seu, model, data, fit.history, day_row, cal, deviation, status, price)
    note_codes = day_note_codes(model, prediction, verdict, day_row.coverage, partial, left_out, settings.min_coverage)
    return PerformanceAnalysis(
        seu_name=seu.name, energy_source=seu.energy_source, date=day,
        actual_energy_kwh=round(actual, 3), baseline_energy_kwh=round(expected, 3),
        deviation_kwh=round(deviation, 3), deviation_percent=round(pct, 2),
        deviation_cost_usd=round(deviation * price, 2),
        efficiency_score=round(analysis.efficiency_score(pct), 3),
        root_cause_analysis=root_cause, recommendations=recs, iso50001_status=status,
        voice_summary="", timestamp=now, currency=settings.currency, price_per_kwh=round(price, 5),
        window=AnalysisWindow(start=start, end=end, hours=round((end - start).total_seconds() / 3600, 3),
                              partial=partial, timezone=seu.timezone),
        baseline=analysis.baseline_summary(model, prediction),
        fitted_residuals=model.fitted_residuals,
        drivers={"production_units": day_row.production, "temp_mean_c": day_row.temp_mean_c,
                 "calendar": calendar.LABELS.get(cal, str(cal)), "holiday": day_class.holiday,
                 "in_range": prediction.in_range, "imputed": list(prediction.imputed_drivers)},
        attribution=attribution,
        data_quality=DataQuality(
            coverage_fraction=round(day_row.coverage, 3), readings=day_row.readings,
            baseline_days_used=model.n, baseline_days_missing=model.days_missing,
            excluded_days=[{"date": e.date.isoformat(), "reason": e.reason} for e in model.excluded_days],
            notes=[note_text(n) for n in note_codes], note_codes=note_codes),
        significant=significant,
        day_class=day_class.label, day_class_reason=day_class.reason,
    )


def recommend(settings: EngineSettings, seu: SeuRow, model: BaselineModel, data: DailyData,
              history: list[SeriesDay], day_row: SeriesDay, cal: int, deviation: float, status,
              price: float) -> list:
    """Recommendations for a significant excess, from the recent residuals and the day's idle energy."""
    recent = model.predict_many(data)
    tail = slice(max(0, len(data) - settings.recent_days), len(data))
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
        investment=settings.investment)


async def chart_series(series: Series, seu: SeuRow, day: dt.date, days: int) -> dict[str, object]:
    """Daily actual vs expected with the prediction band and the savings CUSUM for the ``days``
    complete days up to ``day`` (the picture behind an analysis)."""
    mode = await series.mode()
    first, last = series.baseline_period(day)
    span_start = day - dt.timedelta(days=max(7, min(days, 366)) - 1)
    fit = await series.history(seu, (first, last), (min(first, span_start), day), mode)
    shown = [r for r in fit.rows if span_start <= r.day <= day]
    if len(fit.history) < 3 or not shown:
        raise InsufficientHistoryError(seu.name, day, len(fit.history))
    return await series.compute(_chart_points, series, seu, day, fit, shown)


def _chart_points(series: Series, seu: SeuRow, day: dt.date, fit: Baseline, shown: list[SeriesDay]
                  ) -> dict[str, object]:
    model = fit.model
    report = fit.report_data(shown)
    predicted = model.predict_many(report)
    return {"seu_name": seu.name, "energy_source": seu.energy_source, "analysis_date": day.isoformat(),
            "days": [str(d) for d in report.day], "actual_kwh": [round(float(v), 3) for v in report.energy_kwh],
            "expected_kwh": [round(float(v), 3) for v in predicted.expected_kwh],
            "lower_kwh": [round(float(v), 3) for v in predicted.lower_kwh],
            "upper_kwh": [round(float(v), 3) for v in predicted.upper_kwh],
            "cusum_kwh": [round(float(v), 3) for v in cusum(predicted.expected_kwh, report.energy_kwh)],
            "method": model.method, "confidence": model.confidence}
