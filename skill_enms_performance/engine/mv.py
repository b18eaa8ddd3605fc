"""Measurement & verification over a reporting period: which days count, and how sure a period sum is.

Pure numpy/scipy functions of a fitted ``BaselineModel`` and the reporting days (no database). The
savings of an SEU, a period summary and (later) one SEU over a period use the same two rules:

* ``complete_days``: a reporting day counts only with at least ``min_coverage`` of its readings (the rule
  the baseline applies, CalTRACK's 50 %). An incomplete day is dropped from both sides of the
  comparison (its actual and its expected), never counted as energy saved, and the number of days
  dropped is reported.
* ``period_uncertainty``: the standard error of sum_d (actual_d - expected_d) over the counted days::

      Var = sum_i sum_j s_i s_j rho^|t_i - t_j|  +  (n/n') * s^2 * (sum_d x_d)' (X'X)^-1 (sum_d x_d)

  The first term is the reporting days' own noise (s_i = the residual scale of day i's calendar class,
  lag-1 autocorrelation rho of the baseline residuals, AR(1) correlation between days t_i, t_j); the
  second is the error of the coefficients, shared by every day of the period, inflated by n/n' because
  the coefficients were fitted on autocorrelated residuals (rho bias-corrected, s^2 and the degrees of
  freedom adjusted for AR(1): ``autocorrelation_terms``). For rho = 0 this is the exact OLS width
  s * sqrt(m + Sx'(X'X)^-1 Sx) (the issue's formula); the former sqrt(sum se_d^2) * sqrt(n/n') treated
  the parameter error as independent from day to day. Interval: t(1 - a/2, dof) * se.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import numpy as np
from scipy import special

from .baseline import CALENDAR_MEAN, MEAN_30D, BaselineModel, DailyData, validity_for_reporting

#: CalTRACK / this engine: a day rolled up from finer data needs this share of its readings
MIN_COVERAGE = 0.5
#: fallbacks that were taken because no driver model passed the gates
_FAILED_SELECTION = ("no_valid_driver_model", "constant_energy", "too_few_days")


@dataclasses.dataclass(frozen=True)
class PeriodUncertainty:
    """Standard error and interval of a sum of (actual - expected) over ``days`` reporting days."""

    se_kwh: float
    half_width_kwh: float
    confidence: float
    dof: int
    days: int
    noise_variance_kwh2: float        # the reporting days' own residuals (AR(1))
    parameter_variance_kwh2: float    # the coefficients' error, shared by all days
    rho: float


def complete_days(coverage: Any, min_coverage: float = MIN_COVERAGE) -> np.ndarray:
    """Reporting days that count: coverage >= ``min_coverage`` (NaN coverage does not count)."""
    c = np.asarray(coverage, dtype=float).reshape(-1)
    return np.nan_to_num(c, nan=0.0) >= min_coverage


def ar1_sum_variance(scale: Any, day_index: Any, rho: float) -> float:
    """Var(sum_i e_i) for AR(1) errors of standard deviation ``scale[i]`` on days ``day_index[i]``
    (sorted integers): sum_i sum_j s_i s_j rho^|t_i - t_j|, in O(m) by the recursion
    a_i = s_i + rho^(t_i - t_{i-1}) a_{i-1}."""
    s = np.asarray(scale, dtype=float).reshape(-1)
    t = np.asarray(day_index, dtype=np.int64).reshape(-1)
    if s.size == 0:
        return 0.0
    r = float(np.clip(rho, -0.99, 0.99))
    total = float(s @ s)
    if r == 0.0 or s.size == 1:
        return total
    gaps = np.diff(t).astype(float)
    decay = np.power(r, np.maximum(gaps, 1.0))
    a = s[0]
    cross = 0.0
    for i in range(1, s.size):
        carried = decay[i - 1] * a
        cross += s[i] * carried
        a = s[i] + carried
    return total + 2.0 * cross


def sum_variance(sum_x: Any, xtx_inv: Any, s_kwh: float, scale: Any, day_index: Any, rho: float,
                 inflation: float) -> tuple[float, float]:
    """(noise, parameter) variances of a period sum: the AR(1) sum of the days' residual scales, and
    inflation * s^2 * Sx' (X'X)^-1 Sx with Sx the sum of the days' design rows (``inflation`` = n/n')."""
    sx = np.asarray(sum_x, dtype=float).reshape(-1)
    c = np.asarray(xtx_inv, dtype=float)
    noise = ar1_sum_variance(scale, day_index, rho)
    param = max(float(sx @ c @ sx), 0.0) * float(s_kwh) ** 2 * max(float(inflation), 1.0)
    return noise, param


def design(model: BaselineModel, data: DailyData) -> tuple[np.ndarray, np.ndarray]:
    """The model's design rows of the days of ``data`` (missing drivers imputed as in ``predict_many``)
    and a flag per day: a needed driver was imputed."""
    production, temp, calendar, imputed, _ = model._prepare(data.production.copy(), data.temp_mean_c.copy(),
                                                            data.calendar.copy())
    return model.design_matrix(production, temp, calendar), imputed


def dof(model: BaselineModel) -> int:
    """Residual degrees of freedom: n - p - the change points found by grid search (each is a fitted
    parameter too)."""
    ncp = (model.heating_balance_c is not None) + (model.cooling_balance_c is not None)
    return max(model.n - model.p - ncp, 1)


def period_uncertainty(model: BaselineModel, data: DailyData, confidence: float | None = None,
                       include: Any = None) -> PeriodUncertainty:
    """Uncertainty of the period sum of (actual - expected) over the days of ``data`` (``include``: a
    boolean mask of the days that count, default all). See the module docstring for the formula."""
    conf = model.confidence if confidence is None else float(confidence)
    X, _ = design(model, data)
    keep = np.ones(len(data), dtype=bool) if include is None else np.asarray(include, dtype=bool)
    X = X[keep]
    m = int(keep.sum())
    ncp = (model.heating_balance_c is not None) + (model.cooling_balance_c is not None)
    rho, inflation, scale2, d = autocorrelation_terms(model.n, model.p, model.residual_autocorrelation, ncp)
    t = float(special.stdtrit(d, 0.5 + conf / 2.0))
    if m == 0:
        return PeriodUncertainty(0.0, 0.0, conf, d, 0, 0.0, 0.0, rho)
    scale = model.residual_scale(data.calendar[keep]) * math.sqrt(scale2)
    day_index = data.day[keep].astype("datetime64[D]").astype(np.int64)
    noise, param = sum_variance(X.sum(axis=0), model._cinv, float(model.s_kwh) * math.sqrt(scale2), scale,
                                day_index, rho, inflation)
    se = math.sqrt(max(noise + param, 0.0))
    return PeriodUncertainty(se_kwh=se, half_width_kwh=t * se, confidence=conf, dof=d, days=m,
                             noise_variance_kwh2=noise, parameter_variance_kwh2=param, rho=rho)


def autocorrelation_terms(n: int, p: int, rho: float, change_points: int = 0) -> tuple[float, float, float, int]:
    """(rho, n/n', variance factor, degrees of freedom) of the period formula.

    rho: the lag-1 autocorrelation of the baseline residuals, bias-corrected (the estimate from n
    residuals falls short by about (1 + 4 rho)/n: Marriott & Pope 1954), capped at 0.99; n/n' =
    (1 + rho)/(1 - rho). Variance factor: with AR(1) errors E[SSres] = sigma^2 (n - tr(HR)), and the
    intercept's share of tr(HR) is about n/n' rather than 1, so s^2 is scaled by (n - p)/(n - n/n' -
    (p - 1)) (at most 2). Degrees of freedom of s^2 under AR(1): n(1 - rho^2)/(1 + rho^2) - p - change
    points. A negative rho is used as it is (clipped at -0.5): dropping it to 0 would widen every band
    whose estimate came out above 0 and none of those below, and over-cover (93 % at a nominal 90 %).
    """
    n, p, ncp = int(n), int(p), int(change_points)
    r = float(rho)
    if not math.isfinite(r) or n < 3:
        return 0.0, 1.0, 1.0, max(n - p - ncp, 1)
    r = float(np.clip(r + (1.0 + 4.0 * r) / n, -0.5, 0.99))
    inflation = (1.0 + r) / (1.0 - r)
    factor = min((n - p) / max(n - inflation - (p - 1), 1e-9), 2.0) if n > p else 1.0
    d = max(int(n * (1.0 - r * r) / (1.0 + r * r)) - p - ncp, 1)
    return r, inflation, factor, d


@dataclasses.dataclass(frozen=True, eq=False)
class PeriodComparison:
    """Actual against expected over the counted days of a reporting period (``counted``: complete days).

    ``expected_daily_kwh`` and ``actual_daily_kwh`` hold 0 on days that do not count; the expected energy
    of a day is never below 0."""

    counted: np.ndarray
    expected_daily_kwh: np.ndarray
    actual_daily_kwh: np.ndarray
    expected_kwh: float
    actual_kwh: float
    band: PeriodUncertainty

    @property
    def days(self) -> int:
        return int(self.counted.sum())

    @property
    def days_excluded(self) -> int:
        return int(self.counted.size - self.counted.sum())

    @property
    def deviation_kwh(self) -> float:
        """actual - expected (positive = more energy than the baseline)."""
        return self.actual_kwh - self.expected_kwh


def compare_period(model: BaselineModel, report: DailyData, expected_kwh: Any, confidence: float | None = None,
                   min_coverage: float = MIN_COVERAGE) -> PeriodComparison:
    """The reporting days of ``report`` (with the model's daily ``expected_kwh``) summed over the days
    that count, with the uncertainty of the sum at ``confidence``: what savings and period summaries
    report."""
    counted = complete_days(report.coverage, min_coverage) & np.isfinite(report.energy_kwh)
    expected = np.where(counted, np.maximum(np.asarray(expected_kwh, dtype=float), 0.0), 0.0)
    actual = np.where(counted, np.nan_to_num(report.energy_kwh), 0.0)
    band = period_uncertainty(model, report, confidence=confidence, include=counted)
    return PeriodComparison(counted=counted, expected_daily_kwh=expected, actual_daily_kwh=actual,
                            expected_kwh=float(expected.sum()), actual_kwh=float(actual.sum()), band=band)


#: fewer overlapping fitted days than this and the correlation of two SEUs is not estimated (taken as 1)
MIN_OVERLAP_DAYS = 30


def residual_correlation(residuals: list[Any], min_overlap: int = MIN_OVERLAP_DAYS) -> np.ndarray:
    """Correlation matrix of SEUs' daily baseline residuals, each pair on the days both fitted.

    ``residuals``: per SEU (day numbers, residuals) as ``BaselineModel.fitted_residuals`` holds them (or
    ``()`` when unknown). SEUs of one plant share weather, production and calendar, so what their models
    miss on a day is correlated. A pair with fewer than ``min_overlap`` common days (or an SEU without
    residuals) is taken as fully correlated (1): an auditor's upper bound, never the optimistic 0. The
    matrix is made positive semi-definite (negative eigenvalues clipped, unit diagonal restored)."""
    k = len(residuals)
    series = []
    for r in residuals:
        if r is None or len(r) != 2:
            series.append(None)
            continue
        days, values = np.asarray(r[0], dtype=np.int64), np.asarray(r[1], dtype=float)
        series.append((days, values) if days.size and days.size == values.size else None)
    known = [i for i, x in enumerate(series) if x is not None]
    R = np.ones((k, k))  # unknown pairs: fully correlated
    if known:
        # every pair at once (a plant of 500 SEUs has 125,000 pairs): the SEUs' residuals as columns over the days
        # any of them has (zero where one has none), and each pair's sums over its common days as matrix products
        days = np.unique(np.concatenate([series[i][0] for i in known]))
        present, x = np.zeros((days.size, len(known))), np.zeros((days.size, len(known)))
        for col, i in enumerate(known):
            rows = np.searchsorted(days, series[i][0])
            present[rows, col] = 1.0
            x[rows, col] = series[i][1] - series[i][1].mean()  # centred: the pairs' sums lose no precision
        n = present.T @ present                 # common days of (i, j)
        sum_i = x.T @ present                   # sum of i's residuals on the days j has too
        sum_sq_i = (x * x).T @ present
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_i = sum_i / n
            cross = x.T @ x - mean_i * sum_i.T  # sum over common days of (a - mean a)(b - mean b)
            var_i = sum_sq_i - mean_i * sum_i
            var_j = var_i.T
            den = np.sqrt(np.maximum(var_i, 0.0) * np.maximum(var_j, 0.0))
            rho = np.where(den > 0, cross / den, 0.0)
        rho = np.where(n >= min_overlap, np.clip(rho, -1.0, 1.0), 1.0)
        R[np.ix_(known, known)] = rho
    np.fill_diagonal(R, 1.0)
    if k > 1:
        w, v = np.linalg.eigh(R)
        if w.min() < 0:
            R = (v * np.maximum(w, 0.0)) @ v.T
            d = np.sqrt(np.maximum(np.diag(R), 1e-12))
            R = R / np.outer(d, d)
    return R


def plant_uncertainty(uncertainties: Any, residuals: list[Any], min_overlap: int = MIN_OVERLAP_DAYS) -> float:
    """Uncertainty of a plant total of SEU figures: sqrt(u' R u), u the SEUs' uncertainties (standard errors
    or half-widths at one confidence), R their residual correlation (``residual_correlation``).

    Adding in quadrature (R = I) assumes the SEUs' errors independent; SEUs that share weather, production
    and calendar err together, and with a correlation of 0.5 between four SEUs quadrature gives 63 % of
    the true width (a nominal 90 % band covered 72 % of simulated months, this sum 90 %: tests/test_mv.py). The correlation of the daily residuals stands
    for that of the period sums: exact when the SEUs' residuals share one autocorrelation and are
    correlated on the same day (then every lag of the double sum scales by the same factor)."""
    u = np.asarray(uncertainties, dtype=float).reshape(-1)
    if u.size == 0:
        return 0.0
    R = residual_correlation(residuals, min_overlap)
    return float(math.sqrt(max(float(u @ R @ u), 0.0)))


def savings_baseline(reporting_start: dt.date, measure_start: dt.date | None,
                     fixed: tuple[dt.date, dt.date] | None, baseline_days: int = 365
                     ) -> tuple[dt.date, dt.date, str]:
    """The baseline period of a savings question and what it is (IPMVP, ISO 50015: savings of a measure are
    measured against a fixed pre-measure baseline, not a rolling one that after a while contains the
    post-measure days): the configured EnB (``fixed_enb``), else the ``baseline_days`` before the start of
    the earliest measure begun before the reporting period (``pre_measure``), else the days before the
    reporting period (``rolling``)."""
    if fixed is not None:
        return fixed[0], fixed[1], "fixed_enb"
    if measure_start is not None and measure_start <= reporting_start:
        return measure_start - dt.timedelta(days=baseline_days), measure_start - dt.timedelta(days=1), "pre_measure"
    return reporting_start - dt.timedelta(days=baseline_days), reporting_start - dt.timedelta(days=1), "rolling"


def reporting_validity(model: BaselineModel, reporting_days: int | None = None):
    """The model's validity for a reporting period of ``reporting_days`` days: ASHRAE Guideline 14 ties the
    CV(RMSE) limit to the reporting period (20 % under a year, 25 % for 1-5 years, 30 % beyond), so a
    model fitted for a day's verdict (the under-a-year limit) is re-judged for a year's savings."""
    return validity_for_reporting(model.validity, reporting_days)


def decides(model: BaselineModel, reporting_days: int | None = None) -> bool:
    """A model may call a deviation significant (and set an ISO 50001 status) only when it is valid for the
    reporting period (``reporting_validity``; None = a day or a period under a year) and was chosen on its
    merits: a 30-day mean, or a calendar mean taken because no driver model passed the gates, is a
    fallback that shows a figure but decides nothing."""
    if not reporting_validity(model, reporting_days).valid or model.method == MEAN_30D:
        return False
    return not (model.method == CALENDAR_MEAN and model.fallback_reason in _FAILED_SELECTION)


__all__ = ["MIN_COVERAGE", "PeriodComparison", "PeriodUncertainty", "compare_period", "ar1_sum_variance", "autocorrelation_terms", "complete_days", "decides", "design",
           "dof", "period_uncertainty", "plant_uncertainty", "residual_correlation", "reporting_validity", "savings_baseline", "sum_variance"]
