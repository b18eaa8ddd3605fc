"""From a fitted baseline and one day's numbers to the analysis a person can act on.

Pure functions of values already read from the store, so they are tested without a database.

Formulas (also in README):
- expected energy = the baseline model at the day's actual drivers (normalised baseline);
- deviation = actual - expected; significant when actual lies outside the model's prediction
  interval (90 % by default) and the model is valid;
- efficiency_score = clip(0.5 - deviation_percent / 40, 0, 1): 0.5 on the normalised baseline,
  1.0 at 20 % or more below it, 0.0 at 20 % or more above;
- iso50001_status: on_target unless the deviation is significant and at least 5 %; then
  excellent below, requires_attention above up to 15 %, non_compliant beyond;
- attribution: actual - typical baseline day = production effect + weather effect + calendar
  effect (exact split of the linear model) + unexplained performance effect (actual - expected).
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Sequence

import numpy as np
from scipy import special

from .baseline import BaselineModel, DayDrivers, Prediction, page_cusum, prewhiten
from .calendar import LABELS as CALENDAR_LABELS
from .models import ImplementationEffort, ImprovementType, ISO50001Status, Priority, Recommendation, RootCauseAnalysis

#: deviations smaller than this share of expected are "on target" even when significant
ON_TARGET_BAND_PCT = 5.0
#: significant excess above this share of expected is "non_compliant"
NON_COMPLIANT_PCT = 15.0
#: a model's verdict scales the evidence SCORES (``confidence``) of its statements: fixed weights by convention,
#: not probabilities
VERDICT_WEIGHT = {"valid": 1.0, "valid_with_warnings": 0.85, "invalid": 0.5, "insufficient_data": 0.3}


def efficiency_score(deviation_percent: float) -> float:
    """0..1: 0.5 exactly on the normalised baseline, 1.0 at 20 % or more below, 0.0 at 20 % above.

    score = clip(0.5 - deviation_percent / 40, 0, 1). Linear, so that a reader can turn a score
    back into a deviation; the status (not the score) says whether the deviation is real.
    """
    if not math.isfinite(deviation_percent):
        return 0.5
    return float(min(1.0, max(0.0, 0.5 - deviation_percent / 40.0)))


def iso_status(deviation_percent: float, significant: bool) -> ISO50001Status:
    """ISO 50001 status from the normalised deviation and its significance."""
    if not significant or abs(deviation_percent) < ON_TARGET_BAND_PCT:
        return ISO50001Status.ON_TARGET
    if deviation_percent < 0:
        return ISO50001Status.EXCELLENT
    if deviation_percent <= NON_COMPLIANT_PCT:
        return ISO50001Status.REQUIRES_ATTENTION
    return ISO50001Status.NON_COMPLIANT


def deviation_p_value(deviation: float, se: float, dof: int) -> float:
    """Two-sided p-value of a deviation against its standard error (t with ``dof``): the probability of a
    deviation at least this large if the day were routine. 1.0 where undefined."""
    if se <= 0 or dof < 1 or not math.isfinite(deviation):
        return 1.0
    # Student's t survival function itself (scipy.special), not scipy.stats' distribution object: the same value,
    # without 0.1-0.2 ms of argument checking per call (a plant-wide summary asks once per SEU)
    return float(2.0 * special.stdtr(dof, -abs(deviation) / se))


def deviation_confidence(deviation: float, se: float, dof: int) -> float:
    """1 - ``deviation_p_value`` (0 where undefined): a score, not the probability that the deviation is real
    (that would need a prior on deviations; a p-value is a probability of the data given no deviation)."""
    if se <= 0 or dof < 1 or not math.isfinite(deviation):
        return 0.0
    return 1.0 - deviation_p_value(deviation, se, dof)


def model_weight(model: BaselineModel) -> float:
    return VERDICT_WEIGHT.get(model.validity.verdict, 0.5)


def attribute(model: BaselineModel, drivers: DayDrivers, actual_kwh: float, prediction: Prediction,
              significant: bool) -> tuple[dict[str, Any], RootCauseAnalysis]:
    """Split (actual - typical baseline day) into production, weather, calendar and performance."""
    # against the typical day of the same calendar class, with its mean degree days (issue 12, 7)
    parts = model.decompose_class(drivers, actual_kwh=actual_kwh)
    effects = {
        "production": parts["production_effect_kwh"],
        "weather": parts["weather_effect_kwh"],
        "calendar": parts["calendar_effect_kwh"],
        "performance": parts.get("unexplained_kwh", 0.0),
    }
    typical = parts["reference_kwh"]
    weight = model_weight(model)
    primary = max(effects, key=lambda k: abs(effects[k]))
    noise_floor = prediction.half_width_kwh
    if primary == "performance" and not significant:
        factor = "normal_operation"
    elif abs(effects[primary]) < max(noise_floor * 0.5, 0.02 * max(typical, 1e-9)) and not significant:
        factor = "normal_operation"
    else:
        factor = _factor_name(primary, effects[primary], drivers, model)
    # confidence: an evidence score (verdict weight x (1 - p)), not a probability; p_value is the test's own
    if factor == "normal_operation":
        p_value, test = deviation_p_value(effects["performance"], prediction.se_kwh, prediction.dof), "deviation_t"
        confidence = weight * p_value
        description = (f"Consumption is within the expected range of the normalised baseline "
                       f"({prediction.lower_kwh:.0f} to {prediction.upper_kwh:.0f} kWh)")
    elif primary == "performance":
        p_value, test = deviation_p_value(effects["performance"], prediction.se_kwh, prediction.dof), "deviation_t"
        confidence = weight * (1.0 - p_value) if prediction.se_kwh > 0 else 0.0
        word = "more" if effects["performance"] > 0 else "less"
        description = (f"{abs(effects['performance']):.0f} kWh {word} than the baseline predicts for this day's "
                       f"production, weather and calendar")
    else:
        p_value, test = _driver_p_value(model, primary), "driver_f"
        confidence = weight * (1.0 - p_value)
        description = _driver_description(primary, effects[primary], drivers, model,
                                          parts.get("reference_production"))
    contributing = [f"{name} effect {value:+.0f} kWh" for name, value in effects.items()
                    if name != primary and abs(value) >= max(1.0, 0.01 * max(typical, 0.0))]
    attribution = {
        "typical_day_kwh": round(typical, 3),
        "actual_kwh": round(actual_kwh, 3),
        "difference_from_typical_kwh": round(actual_kwh - typical, 3),
        "production_effect_kwh": round(effects["production"], 3),
        "weather_effect_kwh": round(effects["weather"], 3),
        "calendar_effect_kwh": round(effects["calendar"], 3),
        "performance_effect_kwh": round(effects["performance"], 3),
        "primary": primary,
        "typical_day": model.typical.to_dict(),
    }
    return attribution, RootCauseAnalysis(factor, description, contributing, round(max(0.0, min(1.0, confidence)), 3),
                                          p_value=float(f"{min(max(p_value, 0.0), 1.0):.4g}"), p_value_test=test)


def _driver_p_value(model: BaselineModel, effect: str) -> float:
    names = {"production": ("production",), "weather": ("hdd", "cdd"), "calendar": ("calendar",)}[effect]
    values = [model.driver_p_values.get(n) for n in names if model.driver_p_values.get(n) is not None]
    return float(min(values)) if values else 1.0


def _factor_name(primary: str, value: float, drivers: DayDrivers, model: BaselineModel) -> str:
    if primary == "production":
        return "reduced_production" if value < 0 else "increased_production"
    if primary == "weather":
        return "weather"
    if primary == "calendar":
        return "calendar"
    return "excess_consumption" if value > 0 else "efficiency_gain"


def _driver_description(primary: str, value: float, drivers: DayDrivers, model: BaselineModel,
                        reference_production: float | None = None) -> str:
    typical = model.typical
    ref = reference_production if reference_production is not None else typical.production
    if primary == "production" and drivers.production is not None and ref:
        label = CALENDAR_LABELS.get(drivers.calendar, "working").replace("_day", "")
        change = 100.0 * (drivers.production - ref) / ref
        return (f"Production {abs(change):.0f}% {'below' if change < 0 else 'above'} a typical {label} day "
                f"({drivers.production:.0f} vs {ref:.0f} units) accounts for {value:+.0f} kWh")
    if primary == "weather" and drivers.temp_mean_c is not None:
        return (f"Outdoor temperature (daily mean {drivers.temp_mean_c:.1f} C vs {typical.temp_mean_c or 0:.1f} C "
                f"typical) accounts for {value:+.0f} kWh")
    if primary == "calendar":
        return f"The calendar ({CALENDAR_LABELS.get(drivers.calendar, 'other')}) accounts for {value:+.0f} kWh"
    return f"{primary} accounts for {value:+.0f} kWh"


def recent_drift(model: BaselineModel, residuals_std: np.ndarray, days: Sequence[dt.date]) -> dt.date | None:
    """Start date of a persistent upward shift of standardised residuals (Page CUSUM on residuals
    prewhitened with the model's lag-1 autocorrelation: autocorrelated days are not independent
    evidence), if any."""
    if len(residuals_std) < 10:
        return None
    z = prewhiten(np.asarray(residuals_std, dtype=float), model.residual_autocorrelation)
    alarm, start = page_cusum(z, k=0.5, h=5.0, side="upper")
    if alarm is None or start is None:
        return None
    return days[int(start)]


def recommendations(*, seu_name: str, machine_types: Sequence[str], status: ISO50001Status, significant: bool,
                    excess_kwh: float, annual_excess_kwh: float, idle_kwh: float | None,
                    typical_idle_kwh: float | None, drift_since: dt.date | None, weather_driven: bool,
                    price_per_kwh: float, investment: dict[str, float]) -> list[Recommendation]:
    """Actions that follow from the attributed cause; none when performance is good."""
    if not significant or excess_kwh <= 0 or status in (ISO50001Status.ON_TARGET, ISO50001Status.EXCELLENT):
        return []
    annual = max(annual_excess_kwh, 0.0)
    priority = Priority.CRITICAL if status is ISO50001Status.NON_COMPLIANT and annual * price_per_kwh > 10000 \
        else Priority.HIGH if status is ISO50001Status.NON_COMPLIANT else Priority.MEDIUM
    out: list[Recommendation] = []

    def add(action: str, kind: ImprovementType, effort: ImplementationEffort, share: float) -> None:
        kwh = annual * share if annual > 0 else excess_kwh * share
        money = kwh * price_per_kwh
        cost = investment.get(effort.value, 0.0)
        roi = round(cost / (money / 12.0), 1) if money > 0 and annual > 0 else None
        out.append(Recommendation(action=action, improvement_type=kind, estimated_savings_kwh=round(kwh, 1),
                                  estimated_savings_usd=round(money, 2), implementation_effort=effort,
                                  priority=priority, expected_roi_months=0.0 if cost == 0 and roi is not None else roi))

    idle_excess = (idle_kwh or 0.0) - (typical_idle_kwh or 0.0) if idle_kwh is not None else 0.0
    if idle_excess > 0.5 * excess_kwh:
        add(f"Switch {seu_name} off or to standby when it is not producing: {idle_kwh:.0f} kWh ran without "
            f"production against {typical_idle_kwh or 0:.0f} kWh on a typical day",
            ImprovementType.EXCESSIVE_IDLE, ImplementationEffort.LOW, min(1.0, idle_excess / excess_kwh))
    if drift_since is not None:
        add(f"Schedule maintenance of {seu_name}: normalised consumption has drifted up since {drift_since.isoformat()} "
            f"(check for leaks, fouling, worn parts)", ImprovementType.EQUIPMENT_DEGRADATION,
            ImplementationEffort.MEDIUM, 1.0)
    if weather_driven and not out:
        add(f"Check the set-points, dampers and schedules of {seu_name}: it used {excess_kwh:.0f} kWh more than the "
            f"weather explains", ImprovementType.SUBOPTIMAL_SETPOINTS, ImplementationEffort.LOW, 1.0)
    if not out:
        add(f"Investigate the {excess_kwh:.0f} kWh that {seu_name} used beyond its normalised baseline",
            ImprovementType.PROCESS_INEFFICIENCY, ImplementationEffort.LOW, 1.0)
    return out


def baseline_summary(model: BaselineModel, prediction: Prediction) -> dict[str, Any]:
    """The model as a caller needs it: method, drivers, coefficients, statistics, interval."""
    return {
        "method": model.method,
        "drivers": list(model.drivers),
        "coefficients": {k: round(v, 6) for k, v in model.coefficients.items()},
        "p_values": {k: round(v, 6) for k, v in model.driver_p_values.items()},
        "heating_balance_c": model.heating_balance_c,
        "cooling_balance_c": model.cooling_balance_c,
        "period": {"start": model.baseline_start.isoformat() if model.baseline_start else None,
                   "end": model.baseline_end.isoformat() if model.baseline_end else None},
        "statistics": {
            "n": model.n, "n_effective": round(model.n_effective, 1), "p": model.p,
            "r2": round(model.r2, 4), "adj_r2": round(model.adj_r2, 4), "cv_rmse": round(model.cv_rmse, 4),
            "cv_rmse_routine": round(model.cv_rmse_routine, 4),
            "nmbe": round(model.nmbe, 6), "nmbe_out_of_sample": round(model.nmbe_out_of_sample, 5),
            "f_stat": round(model.f_stat, 3), "f_p_value": model.f_p_value, "s_kwh": round(model.s_kwh, 3),
        },
        "validity": {"valid": model.validity.valid, "verdict": model.validity.verdict,
                     "reasons": list(model.validity.reasons)},
        "fallback_reason": model.fallback_reason,
        "driver_ranges": {k: {"min": round(r.min, 3), "max": round(r.max, 3), "mean": round(r.mean, 3)}
                          for k, r in model.driver_ranges.items()},
        "interval": {"low_kwh": round(prediction.lower_kwh, 3), "high_kwh": round(prediction.upper_kwh, 3),
                     "confidence": prediction.confidence, "se_kwh": round(prediction.se_kwh, 3),
                     "dof": prediction.dof},
    }


def period_effects(model: BaselineModel, production: np.ndarray, temp_mean_c: np.ndarray,
                   calendar_codes: np.ndarray) -> dict[str, float]:
    """Production, weather and calendar effects summed over many days, against the typical day of each
    day's calendar class: sum_d (x_d - x_typical(d)) * beta per group of columns (``decompose_class``).
    A missing driver takes the typical day's value (its effect is then zero that day)."""
    typical = model.typical
    m = len(calendar_codes)
    p = np.where(np.isfinite(production), production, typical.production if typical.production is not None else 0.0)
    t = np.where(np.isfinite(temp_mean_c), temp_mean_c,
                 typical.temp_mean_c if typical.temp_mean_c is not None else 0.0)
    X = model.design_matrix(p, t, calendar_codes)
    x0 = model.design_matrix(np.full(m, typical.production or 0.0), np.full(m, typical.temp_mean_c or 0.0),
                             np.full(m, typical.calendar))
    # each day against the typical day of its own calendar class (mean production, mean degree days)
    for code, row in model.class_mean_design.items():
        if len(row) == x0.shape[1]:
            x0[np.asarray(calendar_codes) == code] = np.asarray(row, dtype=float)
    beta = np.array([model.coefficients[c] for c in model.columns])
    diff = np.nansum((X - x0) * beta, axis=0)
    effects = {"production": 0.0, "weather": 0.0, "calendar": 0.0}
    for name, value in zip(model.columns, diff, strict=True):
        if name == "production_kwh_per_unit":
            effects["production"] += float(value)
        elif name in ("hdd_kwh_per_degree_day", "cdd_kwh_per_degree_day"):
            effects["weather"] += float(value)
        elif name.startswith("calendar_"):
            effects["calendar"] += float(value)
    return effects
