"""One SEU over a period: the complete local days of the period against the baseline fitted before it.

The figures follow the M&V rules of ``mv``: a reporting day with fewer than ``min_coverage`` of its readings
leaves both sides (counted and reported, never taken as energy saved), and the period's uncertainty is the exact
period formula (``mv.period_uncertainty``). ``period_verdict`` is pure: from the model, the reporting days and
their predictions to the figures, the days that drove the deviation and the notes (codes with parameters).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np

from ..store import SeuRow
from . import analysis, mv
from .baseline import BaselineModel, DailyData, Predictions, page_cusum, prewhiten
from .errors import NoDataError
from .models import PeriodAnalysis, PeriodDataQuality, RootCauseAnalysis

#: counted days named as the ones that drove a period's deviation
TOP_DAYS = 3
#: Page's CUSUM on the prewhitened daily residuals (as ``analysis.recent_drift``): slack k and threshold h
EPISODE_K, EPISODE_H = 0.5, 5.0

NOTE_WORDING = {
    "days_excluded": lambda p: (f"{p['count']} reporting day{'s' if p['count'] != 1 else ''} with fewer than "
                                f"{p['min_coverage_percent']}% of their readings left out of both sides"),
    "drivers_imputed": lambda p: (f"drivers missing on {p['count']} day{'s' if p['count'] != 1 else ''} and taken "
                                  "from a typical day: the period is not called significant"),
    "outside_model_range": lambda p: (f"drivers outside the baseline's range on {p['count']} "
                                      f"day{'s' if p['count'] != 1 else ''}: the period is not called significant"),
    "today_not_included": lambda p: f"{p['date']} (today) is not over and is not included",
    "model_not_valid": lambda p: (f"baseline model not valid ({p['verdict']}): deviations are not called "
                                  "significant"),
    "fallback_baseline": lambda p: f"baseline is a fallback ({p['method']}): deviations are not called significant",
}


@dataclasses.dataclass(frozen=True)
class PeriodVerdict:
    comparison: mv.PeriodComparison
    significant: bool
    deviation_percent: float
    imputed_days: int
    out_of_range_days: int
    effects: dict[str, float]
    primary_factor: str
    top_days: list[dict[str, Any]]
    episode: dict[str, Any] | None


def period_verdict(model: BaselineModel, report: DailyData, predicted: Predictions, confidence: float,
                   min_coverage: float, details: bool = True) -> PeriodVerdict:
    """The period's comparison, significance, attribution and (with ``details``) the days that drove it; the
    fleet's period lines use the same verdict without the days."""
    period = mv.compare_period(model, report, predicted.expected_kwh, confidence, min_coverage)
    counted = period.counted
    imputed = int(np.sum(predicted.imputed & counted))
    out_of_range = int(np.sum(~predicted.in_range & counted))
    deviation, expected = period.deviation_kwh, period.expected_kwh
    # a period with imputed or out-of-range drivers, or on a fallback baseline, is not judged (as the fleet's)
    # Guideline 14's CV(RMSE) limit is that of the reporting period (as the fleet's period lines)
    significant = bool(mv.decides(model, len(report)) and period.days > 0 and not imputed and not out_of_range
                       and abs(deviation) > period.band.half_width_kwh)
    pct = 100.0 * deviation / expected if expected > 0 else 0.0
    keep = counted
    effects = analysis.period_effects(model, report.production[keep], report.temp_mean_c[keep],
                                      report.calendar[keep]) if keep.any() else \
        {"production": 0.0, "weather": 0.0, "calendar": 0.0}
    effects = {**effects, "performance": deviation}
    primary = max(effects, key=lambda k: abs(effects[k]))
    if primary == "performance" and not significant:
        factor = "normal_operation"
    elif primary == "performance":
        factor = "excess_consumption" if deviation > 0 else "efficiency_gain"
    elif primary == "production":
        factor = "reduced_production" if effects[primary] < 0 else "increased_production"
    else:
        factor = primary
    if not details:
        return PeriodVerdict(period, significant, pct, imputed, out_of_range, effects, factor, [], None)
    return PeriodVerdict(period, significant, pct, imputed, out_of_range, effects, factor,
                         top_days(report, predicted, counted), episode(model, report, predicted, counted))


def top_days(report: DailyData, predicted: Predictions, counted: np.ndarray, n: int = TOP_DAYS
             ) -> list[dict[str, Any]]:
    """The counted days with the largest |actual - expected| (largest first)."""
    residual = np.where(counted, np.nan_to_num(report.energy_kwh) - np.maximum(predicted.expected_kwh, 0.0), 0.0)
    order = [int(i) for i in np.argsort(-np.abs(residual), kind="stable") if counted[i]][:n]
    outside = predicted.significant
    return [{"date": str(report.day[i]), "actual_kwh": round(float(report.energy_kwh[i]), 3),
             "expected_kwh": round(float(max(predicted.expected_kwh[i], 0.0)), 3),
             "deviation_kwh": round(float(residual[i]), 3), "significant": bool(outside[i])} for i in order]


def episode(model: BaselineModel, report: DailyData, predicted: Predictions, counted: np.ndarray
            ) -> dict[str, Any] | None:
    """The earliest persistent run of days above (or below) expected in the period: Page's CUSUM on the daily
    standardised residuals, prewhitened with the baseline's lag-1 autocorrelation (autocorrelated days are not
    independent evidence); days that do not count are skipped. None without an alarm."""
    z = np.where(counted & predicted.has_actual, predicted.standardised_residual, np.nan)
    if np.isfinite(z).sum() < 3:
        return None
    w = prewhiten(z, model.residual_autocorrelation)
    found = []
    for side, direction in (("upper", "above"), ("lower", "below")):
        alarm, start = page_cusum(w, k=EPISODE_K, h=EPISODE_H, side=side)
        if alarm is not None and start is not None:
            found.append((alarm, start, direction))
    if not found:
        return None
    alarm, start, direction = min(found)
    return {"start": str(report.day[start]), "detected": str(report.day[alarm]), "direction": direction}


def note(code: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "params": params}


def period_note_codes(model: BaselineModel, verdict: PeriodVerdict, min_coverage: float,
                      today_cut: dt.date | None) -> list[dict[str, Any]]:
    codes = []
    days = int(verdict.comparison.counted.size)
    if today_cut is not None:
        codes.append(note("today_not_included", date=today_cut.isoformat()))
    if verdict.comparison.days_excluded:
        codes.append(note("days_excluded", count=verdict.comparison.days_excluded,
                          min_coverage_percent=round(100 * min_coverage)))
    if verdict.imputed_days:
        codes.append(note("drivers_imputed", count=verdict.imputed_days))
    if verdict.out_of_range_days:
        codes.append(note("outside_model_range", count=verdict.out_of_range_days))
    validity = mv.reporting_validity(model, days)
    if not validity.valid:
        codes.append(note("model_not_valid", verdict=validity.verdict))
    elif not mv.decides(model, days):
        codes.append(note("fallback_baseline", method=model.method))
    return codes


async def analyse_period(series: Any, seu: SeuRow, start: dt.date, end: dt.date, now: dt.datetime,
                         today: dt.date) -> PeriodAnalysis:
    """Complete local days of [start, end] (cut at yesterday: today is not over) against the baseline before
    ``start``. The caller answers a period that holds only today as a day."""
    settings = series.settings
    last = min(end, today - dt.timedelta(days=1))
    if last < start:
        raise NoDataError(seu.name, start, None, None)
    model, report, predicted = await series.reporting(seu, start, last)
    # the period arithmetic (uncertainty over up to years of days) is CPU work: a compute thread
    verdict = await series.compute(period_verdict, model, report, predicted, settings.confidence,
                                   settings.min_coverage)
    comparison = verdict.comparison
    price = await series.price(seu, start, last)
    deviation, expected = comparison.deviation_kwh, comparison.expected_kwh
    codes = period_note_codes(model, verdict, settings.min_coverage, today if end >= today else None)
    validity = mv.reporting_validity(model, len(report))  # Guideline 14's limit for this reporting period
    coverage = np.nan_to_num(np.asarray(report.coverage, dtype=float))
    counted = comparison.counted
    daily = [{"date": str(report.day[i]),
              "actual_kwh": round(float(report.energy_kwh[i]), 3) if np.isfinite(report.energy_kwh[i]) else None,
              "expected_kwh": round(float(max(predicted.expected_kwh[i], 0.0)), 3),
              "lower_kwh": round(float(predicted.lower_kwh[i]), 3), "upper_kwh": round(float(predicted.upper_kwh[i]), 3),
              "counted": bool(counted[i])} for i in range(len(report))]
    return PeriodAnalysis(
        seu_name=seu.name, energy_source=seu.energy_source,
        period={"start": start.isoformat(), "end": last.isoformat()},
        requested_period={"start": start.isoformat(), "end": end.isoformat()},
        actual_energy_kwh=round(comparison.actual_kwh, 3), baseline_energy_kwh=round(expected, 3),
        deviation_kwh=round(deviation, 3), deviation_percent=round(verdict.deviation_percent, 2),
        uncertainty_kwh=round(comparison.band.half_width_kwh, 3), standard_error_kwh=round(comparison.band.se_kwh, 3),
        confidence=comparison.band.confidence, significant=verdict.significant,
        iso50001_status=analysis.iso_status(verdict.deviation_percent, verdict.significant),
        efficiency_score=round(analysis.efficiency_score(verdict.deviation_percent), 3),
        deviation_cost=round(deviation * price, 2), currency=settings.currency, price_per_kwh=round(price, 5),
        primary_factor=verdict.primary_factor,
        effects={f"{k}_effect_kwh": round(v, 3) for k, v in verdict.effects.items()},
        days=comparison.days, top_days=verdict.top_days, episode=verdict.episode, daily=daily,
        baseline={"method": model.method, "decides": mv.decides(model, len(report)),
                  "period": {"start": model.baseline_start.isoformat() if model.baseline_start else None,
                             "end": model.baseline_end.isoformat() if model.baseline_end else None},
                  "validity": {"valid": validity.valid, "verdict": validity.verdict,
                               "reasons": list(validity.reasons)}},
        data_quality=PeriodDataQuality(
            coverage_fraction=round(float(coverage.mean()), 3) if coverage.size else 0.0,
            days_counted=comparison.days, days_excluded=comparison.days_excluded,
            excluded_days=[{"date": str(report.day[i]), "coverage_percent": round(100 * float(coverage[i]))}
                           for i in range(len(report)) if not counted[i]],
            days_drivers_imputed=verdict.imputed_days, days_out_of_range=verdict.out_of_range_days,
            baseline_days_used=model.n, baseline_days_missing=model.days_missing,
            notes=[NOTE_WORDING[c["code"]](c["params"]) for c in codes], note_codes=codes),
        voice_summary="", timestamp=now, date=last, deviation_cost_usd=round(deviation * price, 2),
        root_cause_analysis=root_cause(model, verdict))


def root_cause(model: BaselineModel, verdict: PeriodVerdict) -> RootCauseAnalysis:
    """The seed's root cause of a period: the factor with the largest effect, the others that moved it, and how
    sure the deviation is (two-sided t of the deviation against the period's standard error, scaled by the
    model's verdict)."""
    effects = verdict.effects
    primary = max(effects, key=lambda k: abs(effects[k]))
    others = [k for k, v in sorted(effects.items(), key=lambda kv: -abs(kv[1])) if k != primary and abs(v) > 0.5]
    band = verdict.comparison.band
    sure = analysis.deviation_confidence(verdict.comparison.deviation_kwh, band.se_kwh, band.dof)
    return RootCauseAnalysis(
        primary_factor=verdict.primary_factor,
        impact_description=f"{primary} accounts for {effects[primary]:+.0f} kWh over the period",
        contributing_factors=others, confidence=round(sure * analysis.model_weight(model), 3))
