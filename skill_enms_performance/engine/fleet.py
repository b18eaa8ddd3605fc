"""Fleet summaries: every SEU (or those of one machine type or factory) for one day or a period,
ranked by normalised deviation. A day reuses the day's verdict; a period is predicted day by day by
the baseline fitted before it."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Awaitable, Callable

from ..store import SeuRow
from . import analysis, mv
from .baseline import BaselineModel, DailyData, Predictions
from .catalogue import Catalogue, parts_of_listed, select_seus
from .errors import InvalidRequestError, NoDataError, per_seu
from .models import FleetSummary, PerformanceAnalysis, SeuSummary
from .period_analysis import period_verdict
from .performance import RunningDay, prefetch_running_days
from .periods import parse_day, parse_period
from .series import Series
from .settings import EngineSettings
from .timeutil import local_today

#: (SEU, day or None for its today, the instant the question is judged at, its running day's readings up to that
#: instant if read already) -> the day's analysis
AnalyseDay = Callable[[SeuRow, dt.date | None, dt.datetime, RunningDay | None], Awaitable[PerformanceAnalysis]]


async def summary(catalogue: Catalogue, series: Series, analyse: AnalyseDay, now: Callable[[], dt.datetime],
                  machine_type: str | None, factory: str | None, analysis_date: dt.date | str | None,
                  period: dict[str, str] | tuple[dt.date, dt.date] | None) -> FleetSummary:
    """All SEUs (optionally of one machine type or factory) for one day or a period,
    ranked by normalised deviation (most above its baseline first)."""
    settings = series.settings
    for value, name in ((machine_type, "machine_type"), (factory, "factory")):
        if value is not None and (not isinstance(value, str) or len(value) > 100):
            raise InvalidRequestError(f"{name} must be a short string")
    seus = select_seus(await catalogue.seus(), machine_type, factory)
    if not seus:
        raise InvalidRequestError(f"no SEU matches machine type {machine_type!r} and factory {factory!r}",
                                  machine_type=machine_type, factory=factory)
    await series.mode()
    span = parse_period(period)
    day = None if span else (parse_day(analysis_date) or None)
    at = now()  # one instant for every SEU of the answer
    running: dict[tuple[str, str], RunningDay] = {}
    if span is None:  # the running days' series and readings of all SEUs in one read, not one per SEU
        running = await prefetch_running_days(series, seus, day, at)
    results = await asyncio.gather(*(_line(series, analyse, lambda: at, seu, day, span,
                                           running.get((seu.id, seu.energy_source))) for seu in seus),
                                   return_exceptions=True)
    lines, errors = per_seu(seus, results)
    lines.sort(key=lambda line: line[0].normalised_deviation, reverse=True)
    parts = parts_of_listed(seus)
    for item, _ in lines:  # an SEU inside another listed one: its energy is counted there
        item.included_in_total = (item.seu_name, item.energy_source) not in parts
    items = [item for item, _ in lines]
    counted = [(item, residuals) for item, residuals in lines if item.included_in_total]
    # the SEUs share weather, production and calendar: their errors are combined with their correlation
    total_uncertainty = await series.compute(mv.plant_uncertainty, [i.uncertainty_kwh for i, _ in counted],
                                             [r for _, r in counted])  # a correlation matrix: not on the loop
    actual = sum(i.actual_energy_kwh for i, _ in counted)
    expected = sum(i.baseline_energy_kwh for i, _ in counted)
    return FleetSummary(
        machine_type=machine_type, factory=factory,
        # "today" is each factory's own local day; the first SEU's names it
        date=None if span else (day or local_today(at, seus[0].timezone)),
        period={"start": span[0].isoformat(), "end": span[1].isoformat()} if span else None,
        currency=settings.currency, items=items,
        total_actual_energy_kwh=round(actual, 3), total_baseline_energy_kwh=round(expected, 3),
        total_deviation_kwh=round(actual - expected, 3),
        total_deviation_percent=round(100.0 * (actual - expected) / expected, 2) if expected > 0 else 0.0,
        total_deviation_cost=round(sum(i.deviation_cost for i, _ in counted), 2),
        errors=errors, voice_summary="", timestamp=at, total_uncertainty_kwh=round(total_uncertainty, 3))


async def _line(series: Series, analyse: AnalyseDay, now: Callable[[], dt.datetime], seu: SeuRow,
                day: dt.date | None, span: tuple[dt.date, dt.date] | None, running: RunningDay | None
                ) -> tuple[SeuSummary, tuple]:
    """One SEU's line and its baseline's fitted residuals (for the correlation of the plant total)."""
    if span is None:
        result = await analyse(seu, day, now(), running)
        interval = result.baseline.get("interval", {})
        se = float(interval.get("se_kwh", 0.0))   # the day's standard error
        z = result.deviation_kwh / se if se > 0 else 0.0
        half = 0.5 * (float(interval.get("high_kwh", 0.0)) - float(interval.get("low_kwh", 0.0)))
        return SeuSummary(
            seu_name=seu.name, energy_source=seu.energy_source,
            machine_type=seu.machine_types[0] if seu.machine_types else None, factory=seu.factory,
            actual_energy_kwh=result.actual_energy_kwh, baseline_energy_kwh=result.baseline_energy_kwh,
            deviation_kwh=result.deviation_kwh, deviation_percent=result.deviation_percent,
            deviation_cost=result.deviation_cost_usd, normalised_deviation=round(z, 3),
            significant=result.significant, iso50001_status=result.iso50001_status,
            efficiency_score=result.efficiency_score,
            primary_factor=result.root_cause_analysis.primary_factor,
            baseline_method=result.baseline["method"], days=1, uncertainty_kwh=round(half, 3)
        ), result.fitted_residuals
    return await _period_line(series, now, seu, *span)


async def summarise_period(series: Series, now: Callable[[], dt.datetime], seu: SeuRow, start: dt.date,
                           end: dt.date) -> SeuSummary:
    """Complete local days of [start, end] against the baseline before ``start``."""
    return (await _period_line(series, now, seu, start, end))[0]


async def _period_line(series: Series, now: Callable[[], dt.datetime], seu: SeuRow, start: dt.date,
                       end: dt.date) -> tuple[SeuSummary, tuple]:
    today = local_today(now(), seu.timezone)
    end = min(end, today - dt.timedelta(days=1))
    if end < start:
        raise NoDataError(seu.name, start, None, None)
    model, report, predicted = await series.reporting(seu, start, end)
    price = await series.price(seu, start, end)
    # the period arithmetic (uncertainty over hundreds of days) is CPU work: a compute thread
    return await series.compute(period_line, series.settings, seu, start, end, model, report, predicted, price)


def period_line(settings: EngineSettings, seu: SeuRow, start: dt.date, end: dt.date, model: BaselineModel,
                report: DailyData, predicted: Predictions, price: float) -> tuple[SeuSummary, tuple]:
    """One SEU's line of the complete days [start, end], from its reporting days and their prediction, and its
    baseline's fitted residuals (pure)."""
    # incomplete days (under half their readings) leave both sides, as in savings (CalTRACK); the verdict is the
    # one a period question about this SEU gets (``period_analysis.period_verdict``)
    verdict = period_verdict(model, report, predicted, settings.confidence, settings.min_coverage, details=False)
    period, significant, pct, factor = (verdict.comparison, verdict.significant, verdict.deviation_percent,
                                        verdict.primary_factor)
    actual, expected, deviation, m = period.actual_kwh, period.expected_kwh, period.deviation_kwh, period.days
    se_sum = period.band.se_kwh
    imputed, out_of_range = verdict.imputed_days, verdict.out_of_range_days
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
        days_drivers_imputed=imputed, days_out_of_range=out_of_range,
        uncertainty_kwh=round(period.band.half_width_kwh, 3)), model.fitted_residuals
