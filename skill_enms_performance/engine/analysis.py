"""Steps 3-7 of an analysis: deviation, significance, score, root cause, recommendations, status.

Pure functions of numbers already read from the store, so they are tested without a database.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Sequence

import numpy as np
from scipy import stats

from ..store import DayEnergy, SeuRow
from .models import (AnalysisWindow, DataQuality, ImplementationEffort, ImprovementType, ISO50001Status,
                     PerformanceAnalysis, Priority, Recommendation, RootCauseAnalysis)
from .settings import EngineSettings

#: deviations smaller than this share of expected are "on target" even when significant
ON_TARGET_BAND_PCT = 5.0
#: significant excess above this share of expected is "non_compliant"
NON_COMPLIANT_PCT = 15.0


def efficiency_score(deviation_percent: float) -> float:
    """0..1, 0.5 exactly on the normalised baseline, 1.0 at 20 % or more below, 0.0 at 20 % above.

    score = clip(0.5 - deviation_percent / 40, 0, 1). Linear, so that a reader can turn a score
    back into a deviation; the status (not the score) says whether the deviation is real.
    """
    return float(min(1.0, max(0.0, 0.5 - deviation_percent / 40.0)))


def iso_status(deviation_percent: float, significant: bool) -> ISO50001Status:
    """ISO 50001 status from the normalised deviation and its significance.

    Only a deviation outside the prediction interval counts; within +/-5 % it is on target anyway.
    """
    if not significant or abs(deviation_percent) < ON_TARGET_BAND_PCT:
        return ISO50001Status.ON_TARGET
    if deviation_percent < 0:
        return ISO50001Status.EXCELLENT
    if deviation_percent <= NON_COMPLIANT_PCT:
        return ISO50001Status.REQUIRES_ATTENTION
    return ISO50001Status.NON_COMPLIANT


def deviation_confidence(deviation: float, scale: float, dof: int) -> float:
    """Probability that a deviation of this size is not noise (two-sided t), 0..1."""
    if scale <= 0 or dof < 1 or not math.isfinite(deviation):
        return 0.0
    return float(2.0 * stats.t.cdf(abs(deviation) / scale, dof) - 1.0)


def build_analysis(*, seu: SeuRow, day: dt.date, actual: DayEnergy, history: Sequence[DayEnergy],
                   usable: Sequence[DayEnergy], window: tuple[dt.datetime, dt.datetime, bool],
                   price_per_kwh: float, settings: EngineSettings, now: dt.datetime) -> PerformanceAnalysis:
    """Level-1 analysis: baseline = mean of the previous complete local days (same hours if partial)."""
    values = np.array([d.energy_kwh for d in usable], dtype=float)
    n = len(values)
    expected = float(values.mean())
    s = float(values.std(ddof=1)) if n > 1 else 0.0
    se_pred = s * math.sqrt(1.0 + 1.0 / n)
    t = float(stats.t.ppf(0.5 + settings.confidence / 2.0, max(n - 1, 1)))
    half_width = t * se_pred
    deviation = actual.energy_kwh - expected
    pct = 100.0 * deviation / expected if expected > 0 else 0.0
    significant = abs(deviation) > half_width
    status = iso_status(pct, significant)
    confidence = deviation_confidence(deviation, se_pred, n - 1)
    cost = deviation * price_per_kwh

    if not significant:
        factor, impact = "normal_operation", f"Within the expected range ({settings.confidence:.0%} interval)"
        contributing: list[str] = []
    elif deviation > 0:
        factor, impact = "high_demand", f"Energy consumption {pct:.1f}% above baseline"
        contributing = ["Production or weather not normalised at this baseline level"]
    else:
        factor, impact = "reduced_load", f"Energy consumption {abs(pct):.1f}% below baseline"
        contributing = ["Production or weather not normalised at this baseline level"]

    recommendations: list[Recommendation] = []
    if significant and deviation > 0 and status is not ISO50001Status.ON_TARGET:
        recommendations.append(Recommendation(
            action=f"Investigate the {deviation:.0f} kWh excess of {seu.name} against its baseline",
            improvement_type=ImprovementType.PROCESS_INEFFICIENCY,
            estimated_savings_kwh=round(deviation, 2),
            estimated_savings_usd=round(deviation * price_per_kwh, 2),
            implementation_effort=ImplementationEffort.LOW,
            priority=Priority.HIGH if status is ISO50001Status.NON_COMPLIANT else Priority.MEDIUM,
            expected_roi_months=0.0,
        ))

    start, end, partial = window
    excluded = [{"date": d.day.isoformat(), "reason": "low_coverage", "coverage": round(d.coverage, 3)}
                for d in history if d.coverage < settings.min_coverage]
    missing = max(0, settings.baseline_days - len(history))
    notes = []
    if partial:
        notes.append("partial day: compared with the same hours of the baseline days")
    if actual.coverage < settings.min_coverage:
        notes.append("the analysed day has less than half of its expected readings")
    return PerformanceAnalysis(
        seu_name=seu.name, energy_source=seu.energy_source, date=day,
        actual_energy_kwh=round(actual.energy_kwh, 3), baseline_energy_kwh=round(expected, 3),
        deviation_kwh=round(deviation, 3), deviation_percent=round(pct, 2), deviation_cost_usd=round(cost, 2),
        efficiency_score=round(efficiency_score(pct), 3),
        root_cause_analysis=RootCauseAnalysis(factor, impact, contributing, round(confidence, 3)),
        recommendations=recommendations, iso50001_status=status, voice_summary="", timestamp=now,
        currency=settings.currency, price_per_kwh=round(price_per_kwh, 5),
        window=AnalysisWindow(start=start, end=end, hours=round((end - start).total_seconds() / 3600, 3),
                              partial=partial, timezone=seu.timezone),
        baseline={"method": "mean_30d", "days": n, "std_kwh": round(s, 3),
                  "interval_low_kwh": round(expected - half_width, 3),
                  "interval_high_kwh": round(expected + half_width, 3), "confidence": settings.confidence},
        drivers={}, attribution={},
        data_quality=DataQuality(coverage_fraction=round(actual.coverage, 3), readings=actual.readings,
                                 baseline_days_used=n, baseline_days_missing=missing,
                                 excluded_days=excluded, notes=notes),
        significant=bool(significant),
    )
