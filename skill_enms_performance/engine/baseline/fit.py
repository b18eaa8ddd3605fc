"""Fitting the daily baseline: candidates over driver subsets and change-point grids, selection, the
non-routine-day rule (robust residual fence, skew-adjusted, capped) and the assembly of a ``BaselineModel``."""
from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, Sequence

import numpy as np
from scipy import special

from .data import (CALENDAR_MEAN, CAL_WORKING, DRIVERS, DailyData, DayDrivers, DriverRange, INSUFFICIENT_DATA,
                   INTERCEPT, LOW_COVERAGE, MEAN_30D, MISSING_DRIVER, MISSING_ENERGY, NEGATIVE_ENERGY, OUTLIER,
                   PRODUCTION_ONLY, RARE_CALENDAR_CLASS, REGRESSION, SIGNED_DRIVERS, _CLASS_MIN_DAYS, _arr,
                   _clean_candidate, _column_groups, _column_names, _date, _design, _dummy_classes, _excluded, _finite,
                   _label, _swing, degree_days)
from .statistics import (_Fit, _class_scales, _fence, _fit_stats, _forward_holdout, _lag1, _medcouple, _out_of_sample,
                         _robust_z, _solve_batch, _standardise)
from .model import BaselineModel, Gate, Validity, _limit_of_reporting, _validity


#: CalTRACK: a degree-day column needs this many Fahrenheit degree days per year (Celsius = F / 1.8)
_CALTRACK_DD_F = 20.0


#: a class's residual IQR is never taken below this share of the baseline's mean daily energy
_CLASS_IQR_FLOOR = 1e-3


#: a residual is an outlier beyond this many robust standard deviations (1.4826 * MAD) of its class
_OUTLIER_ROBUST_Z = 5.0


#: at most this share of the routine days is left out as outliers (the most extreme first)
_MAX_OUTLIER_SHARE = 0.05


#: skewed residuals: the fence of the long side lies exp(b * |medcouple|) farther out (Hubert & Vandervieren
#: 2008, adjusted boxplot, b = 3)
_SKEW_FENCE_B = 3.0


#: ... by the part of the medcouple beyond its noise at this level (two-sided; the class-scale test's level)
_SKEW_TEST_ALPHA = 0.01


_SKEW_Z = float(special.ndtri(1.0 - _SKEW_TEST_ALPHA / 2.0))


#: residual scales by predicted level: bins of at least this many fitted days, at most this many bins
_LEVEL_BIN_DAYS = 60


_LEVEL_BINS_MAX = 4


# ============================================================================================
# Fitting
# ============================================================================================
@dataclasses.dataclass(frozen=True)
class _Spec:
    drivers: tuple[str, ...]
    th: float | None = None
    tc: float | None = None
    method: str = REGRESSION
    window_days: int | None = None      # mean_30d: fit on the last window_days routine days
    swing: float = 0.0                  # half the daily temperature swing of the degree days (degree_days)


def fit_baseline(data: DailyData, *, confidence: float = 0.90, criterion: str = "bic",
                 grid_step_c: float = 1.0, heating_range_c: tuple[float, float] = (5.0, 22.0),
                 cooling_range_c: tuple[float, float] = (12.0, 30.0), min_coverage: float = 0.5,
                 min_days: int = 14, min_calendar_days: int = 5, outlier_iqr: float = 3.0,
                 fallback_days: int = 30, folds: int = 10, cv_goal: float = 0.15,
                 ashrae_cv_limit: float | None = None, nmbe_goal: float = 0.005,
                 reporting_days: int | None = None) -> BaselineModel:
    """Fit the daily baseline of ``data`` (the module docstring states every rule applied).

    ``confidence``: two-sided level of the prediction intervals (0.90 = baselines.md default).
    ``criterion``: ``"bic"`` or ``"adj_r2"`` for ranking candidates. ``grid_step_c`` (<= 1.5 C),
    ``heating_range_c``, ``cooling_range_c``: the change-point grid. ``min_coverage``: a day needs this share
    of its readings. ``min_days``: fewer usable days -> ``mean_30d`` with verdict ``insufficient_data``.
    ``min_calendar_days``: a calendar class needs this many usable days to get its dummy.
    ``outlier_iqr``: the first, model-free energy screen in IQRs around the median (residuals use the robust
    rule of the module docstring). ``fallback_days``: window of ``mean_30d``.
    ``folds``: blocks of the out-of-sample NMBE. ``cv_goal``, ``ashrae_cv_limit`` (None = Guideline 14's
    limit for a reporting period of ``reporting_days`` days, None = under a year: ``ashrae_cv_limit()``),
    ``nmbe_goal``: validity gates (``validity_for_reporting`` re-judges a model for a longer period). Never raises on data: degenerate inputs give a fallback model
    whose ``validity`` and ``fallback_reason`` say what happened.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    if not 0.0 < grid_step_c <= 1.5:
        raise ValueError("grid_step_c must be in (0, 1.5] C")
    if criterion not in ("bic", "adj_r2"):
        raise ValueError("criterion must be 'bic' or 'adj_r2'")

    day, y, P, T, cal, cov = data.day, data.energy_kwh, data.production, data.temp_mean_c, data.calendar, data.coverage
    n_all = y.size
    reason = np.full(n_all, "", dtype=object)
    detail = np.full(n_all, "", dtype=object)
    low_cov = ~(np.nan_to_num(cov, nan=0.0) >= min_coverage)
    reason[low_cov] = LOW_COVERAGE
    miss_e = ~np.isfinite(y) & (reason == "")
    reason[miss_e] = MISSING_ENERGY
    neg = np.isfinite(y) & (y < 0) & (reason == "")
    reason[neg] = NEGATIVE_ENERGY
    quality = reason == ""
    y0 = np.where(quality, y, 0.0)
    days_in_period = int((day[-1] - day[0]).astype(int) + 1) if n_all else 0
    days_missing = days_in_period - int(quality.sum())
    labels = {int(c): _label(data.calendar_labels, int(c)) for c in np.unique(cal)}
    common_kw = dict(day=day, y=y0, y_raw=y, P=P, T=T, cal=cal, reason=reason, detail=detail, labels=labels,
                     confidence=confidence, days_in_period=days_in_period, days_missing=days_missing,
                     min_days=min_days, cv_goal=cv_goal, ashrae_cv_limit=ashrae_cv_limit, nmbe_goal=nmbe_goal,
                     folds=folds, reporting_days=reporting_days)

    n_quality = int(quality.sum())
    if n_quality == 0:
        return _insufficient(**common_kw)
    if n_quality < min_days:
        rows = quality & _last_n(quality, fallback_days)
        spec = _Spec((), method=MEAN_30D, window_days=fallback_days)
        return _assemble(spec, rows, candidates=(), fallback_reason="too_few_days", **common_kw)

    # calendar classes with too few days are non-routine for this baseline
    classes, counts = np.unique(cal[quality], return_counts=True)
    rare_classes = classes[counts < min_calendar_days]
    rare = quality & np.isin(cal, rare_classes)
    reason[rare] = RARE_CALENDAR_CLASS
    usable = quality & ~rare
    n_usable = int(usable.sum())
    if n_usable < min_days:
        rows = usable & _last_n(usable, fallback_days)
        spec = _Spec((), method=MEAN_30D, window_days=fallback_days)
        return _assemble(spec, rows, candidates=(), fallback_reason="too_few_days", **common_kw)

    def available(x: np.ndarray) -> bool:
        fin = usable & np.isfinite(x)
        k = int(fin.sum())
        if k < max(min_days, 0.5 * n_usable):
            return False
        v = x[fin]
        return bool(np.ptp(v) > 1e-9 * max(1.0, float(np.abs(v).max())))

    has_p, has_t = available(P), available(T)
    common = usable.copy()
    if has_p:
        common &= np.isfinite(P)
    if has_t:
        common &= np.isfinite(T)
    if int(common.sum()) < min_days:      # drivers known on disjoint days: use neither
        has_p = has_t = False
        common = usable.copy()

    swing = _swing(data, common) if has_t else 0.0
    th_grid = _grid(heating_range_c, grid_step_c)
    tc_grid = _grid(cooling_range_c, grid_step_c)
    outliers = _energy_screen(y0, cal, common, outlier_iqr)
    spec: _Spec | None = None
    table: tuple[dict[str, Any], ...] = ()
    fallback_reason = None
    for _ in range(3):
        sel = common & ~outliers
        spec, table, fallback_reason = _select(
            y0, P if has_p else None, T if has_t else None, cal, sel, th_grid, tc_grid, criterion,
            fallback_days, swing)
        rows_all = _rows_for(spec, usable, P, T)
        new_out = _residual_fence(spec, y0, P, T, cal, rows_all, outliers & rows_all, outlier_iqr)
        if np.array_equal(new_out, outliers):
            break
        outliers = new_out
    if spec is None:      # pragma: no cover - the loop above runs at least once
        raise RuntimeError("no baseline specification selected")
    rows_all = _rows_for(spec, usable, P, T)
    need_p = "production" in spec.drivers
    need_t = "hdd" in spec.drivers or "cdd" in spec.drivers
    for mask, name, needed in ((~np.isfinite(P), "production", need_p), (~np.isfinite(T), "temp_mean_c", need_t)):
        m = usable & mask & (reason == "") if needed else np.zeros(n_all, dtype=bool)
        reason[m] = MISSING_DRIVER
        detail[m] = name
    out_rows = rows_all & outliers
    reason[out_rows] = OUTLIER
    rows = rows_all & ~outliers
    if spec.window_days:
        rows &= _last_n(rows, spec.window_days)
    routine = rows | (out_rows & (day >= day[rows][0])) if rows.any() else rows
    return _assemble(spec, rows, candidates=table, fallback_reason=fallback_reason, routine=routine, **common_kw)


def _grid(bounds: tuple[float, float], step: float) -> np.ndarray:
    lo, hi = float(bounds[0]), float(bounds[1])
    return np.round(np.arange(lo, hi + step * 0.5, step), 6)


def _last_n(mask: np.ndarray, k: int) -> np.ndarray:
    idx = np.flatnonzero(mask)
    keep = np.zeros(mask.size, dtype=bool)
    keep[idx[-k:]] = True
    return keep


def _rows_for(spec: _Spec, usable: np.ndarray, P: np.ndarray, T: np.ndarray) -> np.ndarray:
    rows = usable.copy()
    if "production" in spec.drivers:
        rows &= np.isfinite(P)
    if "hdd" in spec.drivers or "cdd" in spec.drivers:
        rows &= np.isfinite(T)
    return rows


def _capped(score: np.ndarray, out: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``out`` limited to the ``_MAX_OUTLIER_SHARE`` of ``rows`` with the highest ``score``."""
    cap = int(_MAX_OUTLIER_SHARE * int(rows.sum()))
    idx = np.flatnonzero(out)
    if idx.size <= cap:
        return out
    keep = idx[np.argsort(-score[idx], kind="stable")[:cap]]
    capped = np.zeros(out.size, dtype=bool)
    capped[keep] = True
    return capped


def _energy_screen(y: np.ndarray, cal: np.ndarray, rows: np.ndarray, k: float) -> np.ndarray:
    """First, model-free pass: energy beyond median +/- k*IQR of its calendar class (capped)."""
    out = np.zeros(y.size, dtype=bool)
    score = np.zeros(y.size)
    for c in np.unique(cal[rows]):
        m = rows & (cal == c)
        if m.sum() < _CLASS_MIN_DAYS:
            continue
        lo, hi = _fence(y[m], k)
        out |= m & ((y < lo) | (y > hi))
        half = max(hi - lo, 1e-300) / 2.0
        score[m] = np.abs(y[m] - (lo + hi) / 2.0) / half
    return _capped(score, out, rows)


def _skew_widening(z: np.ndarray) -> tuple[float, float]:
    """(upper, lower) factors of the outlier fence for standardised residuals ``z`` of medcouple MC: the long
    side's fence is ``exp(_SKEW_FENCE_B * m)`` times farther out (the adjusted boxplot of Hubert &
    Vandervieren 2008, b = 3); the short side keeps its fence (the adjusted boxplot's exp(-4|MC|) there would
    cut routine low days of a right-skewed meter). m is the part of |MC| beyond its noise: |MC| - z(1 -
    ``_SKEW_TEST_ALPHA``/2) * sqrt(1.25/n), sqrt(1.25/n) the standard error of MC at the normal (Brys,
    Hubert & Struyf 2004), and 0 below (soft thresholding). The sampling noise of MC (0.07 at 260 days)
    would otherwise widen a random side by ~1.2x on symmetric residuals and hide a 6-sigma event there;
    and a skew the model's misfit puts into the residuals (cooling of mild days with hot afternoons that
    daily-mean degree days miss) would otherwise move the fence out past the meter's real spikes."""
    mc = _medcouple(z)
    noise = _SKEW_Z * math.sqrt(1.25 / max(z.size, 1))
    if not abs(mc) > noise:
        return 1.0, 1.0
    w = math.exp(_SKEW_FENCE_B * (abs(mc) - noise))
    return (w, 1.0) if mc >= 0 else (1.0, w)


def _level_z(resid, level, resid_fit, level_fit, floor: float) -> np.ndarray:
    """Robust z of ``resid`` against the fitted days of a similar predicted level: the fitted days are cut
    into bins of at least ``_LEVEL_BIN_DAYS`` days by their predicted energy, and a day is judged by the
    median and scale of its bin. Noise grows with the day's energy (a winter gas day's residuals are many
    times a summer day's): one scale over the year flags ordinary winter days and lets summer spikes pass.
    Signed."""
    bins = min(int(level_fit.size // _LEVEL_BIN_DAYS), _LEVEL_BINS_MAX)
    if bins <= 1:
        return _robust_z(resid, resid_fit, floor)
    edges = np.quantile(level_fit, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    b_all, b_fit = np.searchsorted(edges, level), np.searchsorted(edges, level_fit)
    z = np.empty(resid.size)
    for b in range(bins):
        m = b_all == b
        if m.any():
            z[m] = _robust_z(resid[m], resid_fit[b_fit == b], floor)
    return z


def _residual_fence(spec: _Spec, y, P, T, cal, rows, current_out, k) -> np.ndarray:
    """Outliers of ``rows`` against the model ``spec`` fitted on ``rows`` without ``current_out``.

    A day is an outlier when its residual lies more than ``_OUTLIER_ROBUST_Z`` robust standard deviations
    (1.4826 * MAD) from the median residual of its own calendar class (a class with fewer than
    ``_CLASS_MIN_DAYS`` fitted days uses the pooled residuals): with multiplicative noise a closed day's
    residuals are a fraction of a working day's, and a pooled rule would cut routine working days. On the
    long side of skewed residuals the limit is ``_skew_widening`` times farther out. A class's
    scale is never taken below ``_CLASS_IQR_FLOOR`` of the mean daily energy of the fitted days, so a class
    of (near-)constant energy does not turn every small wobble into an outlier. At most
    ``_MAX_OUTLIER_SHARE`` of ``rows`` are outliers (the most extreme). ``k`` (the energy screen's IQR
    multiple) is not used here.
    """
    del k
    fit_rows = rows & ~current_out
    if fit_rows.sum() < 8:
        return current_out
    classes = _dummy_classes(cal, fit_rows) if "calendar" in spec.drivers else (0, ())
    X_fit = _design(spec.drivers, spec.th, spec.tc, classes[1], P[fit_rows], T[fit_rows], cal[fit_rows], spec.swing)
    beta = np.linalg.lstsq(X_fit, y[fit_rows], rcond=None)[0]
    X_all = _design(spec.drivers, spec.th, spec.tc, classes[1], P[rows], T[rows], cal[rows], spec.swing)
    level_all, level_fit = X_all @ beta, X_fit @ beta
    resid_all = y[rows] - level_all
    resid_fit = y[fit_rows] - level_fit
    cal_all, cal_fit = cal[rows], cal[fit_rows]
    z = _robust_z(resid_all, resid_fit)
    floor = _CLASS_IQR_FLOOR * abs(float(y[fit_rows].mean()))
    for c in np.unique(cal_all):
        in_fit = cal_fit == c
        if in_fit.sum() >= _CLASS_MIN_DAYS:
            m = cal_all == c
            z[m] = _level_z(resid_all[m], level_all[m], resid_fit[in_fit], level_fit[in_fit], floor)
    # skewed residuals: the fence of the long side is widened by the medcouple of the standardised residuals
    # of all the routine days, the days now out included (they must not argue for their own exclusion by
    # making the rest look symmetric; the medcouple withstands up to 25 % contamination). One skew for the
    # meter: the residuals are standardised per class and level already, and a class of 60 days could not
    # show a skew at the test's level. Widening only ever lowers a z, so without a day beyond the limit
    # nothing is computed.
    if (np.abs(z) > _OUTLIER_ROBUST_Z).any():
        up, down = _skew_widening(z)
        z = np.where(z >= 0, z / up, z / down)
    z = np.abs(z)
    out = np.zeros(y.size, dtype=bool)
    score = np.zeros(y.size)
    idx = np.flatnonzero(rows)
    out[idx[z > _OUTLIER_ROBUST_Z]] = True
    score[idx] = z
    return _capped(score, out, rows)


def _grid_candidates(y, P, T, D, th_grid, tc_grid, min_dd_days, min_dd_sum, swing=0.0):
    """Best change points (least SSE, physical signs) of every driver subset on one sample.

    Returns a list of (drivers, th, tc, sse). Columns are centred (the intercept decouples) and scaled
    to unit variance so the normal equations are well conditioned; neither changes SSE or slope signs.
    """
    n = y.size
    yc = y - y.mean()
    yy = float(yc @ yc)
    ridge = 1e-10 * n
    fixed: list[tuple[str, np.ndarray, bool]] = []
    if P is not None:
        fixed.append(("production", _standardise(P[:, None]), True))
    if D is not None and D.shape[1]:
        fixed.append(("calendar", _standardise(D), False))
    th_ok = tc_ok = np.zeros(0)
    Hs = Cs = None
    if T is not None:
        Hraw = degree_days(th_grid[None, :], T[:, None], swing)
        okH = ((Hraw > 0).sum(axis=0) >= min_dd_days) & (Hraw.sum(axis=0) >= min_dd_sum)
        Craw = degree_days(tc_grid[None, :], T[:, None], swing, heating=False)
        okC = ((Craw > 0).sum(axis=0) >= min_dd_days) & (Craw.sum(axis=0) >= min_dd_sum)
        th_ok, tc_ok = th_grid[okH], tc_grid[okC]
        Hs = _standardise(Hraw[:, okH]) if okH.any() else None
        Cs = _standardise(Craw[:, okC]) if okC.any() else None
    HtH = Hty = CtC = Cty = HtC = None
    if Hs is not None:
        HtH, Hty = (Hs * Hs).sum(axis=0), Hs.T @ yc
    if Cs is not None:
        CtC, Cty = (Cs * Cs).sum(axis=0), Cs.T @ yc
    ih = jc = np.zeros(0, dtype=int)     # (heating, cooling) grid pairs with Tc >= Th
    if Hs is not None and Cs is not None:
        HtC = Hs.T @ Cs
        ih, jc = np.nonzero(tc_ok[None, :] >= th_ok[:, None])

    out: list[tuple[tuple[str, ...], float | None, float | None, float]] = []
    for r in range(len(fixed) + 1):
        for combo in itertools.combinations(fixed, r):
            names = {c[0] for c in combo}
            F = np.hstack([c[1] for c in combo]) if combo else np.zeros((n, 0))
            signed = np.concatenate([[c[2]] * c[1].shape[1] for c in combo]) if combo else np.zeros(0, bool)
            q = F.shape[1]
            FtF, Fty = F.T @ F, F.T @ yc

            def add(extra, beta, sse, ths, tcs, q=q, signed=signed, names=names):
                # physical signs: every degree-day slope and the production slope >= 0
                good = np.all(beta[:, q:] >= 0, axis=1)
                if signed.any():
                    good &= np.all(beta[:, :q][:, signed] >= 0, axis=1)
                if not good.any():
                    return
                i = int(np.flatnonzero(good)[np.argmin(sse[good])])
                drivers = tuple(d for d in DRIVERS if d in names or d in extra)
                out.append((drivers, None if ths is None else float(ths[i]),
                            None if tcs is None else float(tcs[i]), float(sse[i])))

            if q == 0:
                out.append(((), None, None, yy))
            else:
                beta, sse = _solve_batch(FtF, Fty, np.zeros((1, q, 0)), np.zeros((1, 0, 0)), np.zeros((1, 0)),
                                         yy, ridge)
                add((), beta, sse, None, None)
            if Hs is not None:
                beta, sse = _solve_batch(FtF, Fty, (F.T @ Hs).T[:, :, None], HtH[:, None, None], Hty[:, None],
                                         yy, ridge)
                add(("hdd",), beta, sse, th_ok, None)
            if Cs is not None:
                beta, sse = _solve_batch(FtF, Fty, (F.T @ Cs).T[:, :, None], CtC[:, None, None], Cty[:, None],
                                         yy, ridge)
                add(("cdd",), beta, sse, None, tc_ok)
            if ih.size:
                FtH, FtC = F.T @ Hs, F.T @ Cs
                FtV = np.stack([FtH[:, ih].T, FtC[:, jc].T], axis=2)
                hc = HtC[ih, jc]
                VtV = np.empty((ih.size, 2, 2))
                VtV[:, 0, 0], VtV[:, 1, 1], VtV[:, 0, 1], VtV[:, 1, 0] = HtH[ih], CtC[jc], hc, hc
                Vty = np.stack([Hty[ih], Cty[jc]], axis=1)
                beta, sse = _solve_batch(FtF, Fty, FtV, VtV, Vty, yy, ridge)
                add(("hdd", "cdd"), beta, sse, th_ok[ih], tc_ok[jc])
    return out


def _select(y, P, T, cal, rows, th_grid, tc_grid, criterion, fallback_days, swing=0.0):
    """Choose the baseline specification on ``rows``: (spec, candidate table, fallback reason)."""
    yr = y[rows]
    n = yr.size
    ref, dummies = _dummy_classes(cal, rows)
    calendar_ok = len(dummies) > 0
    fallback = _Spec(("calendar",), method=CALENDAR_MEAN) if calendar_ok else _Spec((), method=MEAN_30D,
                                                                                      window_days=fallback_days)
    if n < 8 or float(np.ptp(yr)) <= 1e-9 * max(1.0, float(np.abs(yr).max())):
        return fallback, (), "constant_energy" if n >= 8 else "too_few_days"
    D = np.column_stack([(cal[rows] == c).astype(float) for c in dummies]) if calendar_ok else None
    scale = max(1.0, n / 365.0)
    best: dict[tuple[str, ...], tuple] = {}
    for sw in (0.0, swing) if swing > 0 and T is not None else (0.0,):
        # degree days of the daily mean and of the sinusoidal day: the data choose (same parameters)
        for drivers, th, tc, sse in _grid_candidates(
                yr, None if P is None else P[rows], None if T is None else T[rows], D, th_grid, tc_grid,
                10.0 * scale, _CALTRACK_DD_F / 1.8 * scale, sw):
            uses_t = "hdd" in drivers or "cdd" in drivers
            if (sw == 0.0 or uses_t) and (drivers not in best or sse < best[drivers][3]):
                best[drivers] = (drivers, th, tc, sse, sw if uses_t else 0.0)
    yy = float(((yr - yr.mean()) ** 2).sum())
    scored = []
    for drivers, th, tc, sse, sw in best.values():
        p = 1 + sum(d in drivers for d in SIGNED_DRIVERS) + (len(dummies) if "calendar" in drivers else 0)
        ncp = (th is not None) + (tc is not None)
        if n - p < 2:
            continue
        sse_f = max(sse, 1e-15 * yy, 1e-300)
        bic = n * math.log(sse_f / n) + (p + ncp) * math.log(n)
        adj = 1.0 - (sse_f / (n - p)) / (yy / (n - 1)) if yy > 0 else 0.0
        key = bic if criterion == "bic" else -adj
        scored.append({"drivers": list(drivers), "heating_balance_c": th, "cooling_balance_c": tc,
                       "temp_swing_c": round(sw, 6), "bic": round(bic, 6), "adj_r2": round(adj, 6), "sse_kwh2": sse, "_key": key})
    scored.sort(key=lambda c: (c["_key"], len(c["drivers"])))
    for c in scored:
        c.pop("_key")
    chosen: _Spec | None = None
    first = True
    for c in scored:
        if not c["drivers"]:
            break       # the mean beats every remaining candidate on the criterion
        spec = _Spec(tuple(c["drivers"]), c["heating_balance_c"], c["cooling_balance_c"], swing=c["temp_swing_c"])
        X = _design(spec.drivers, spec.th, spec.tc, dummies, _arr(P, rows), _arr(T, rows), cal[rows], spec.swing)
        fit = _fit_stats(X, yr, _column_groups(spec.drivers, dummies))
        reasons = _enpi_reasons(fit, spec.drivers)
        c["passed_gates"] = not reasons
        c["reasons"] = reasons
        if not reasons:
            chosen = spec
            break
        first = False
    if chosen is not None:
        method = REGRESSION
        if chosen.drivers == ("production",):
            method = PRODUCTION_ONLY
        elif chosen.drivers == ("calendar",):
            method = CALENDAR_MEAN
        return (dataclasses.replace(chosen, method=method), tuple(scored),
                None if first else "best_candidate_failed_gates")
    return fallback, tuple(scored), "no_valid_driver_model"


def _enpi_reasons(fit: _Fit, drivers: Sequence[str]) -> list[str]:
    """DOE EnPI Lite acceptance plus physical signs and rank; empty when the model passes."""
    reasons = []
    if not fit.rank_ok:
        reasons.append("collinear_drivers")
    groups = ["intercept"] + [d for d in ("production", "hdd", "cdd") if d in drivers]
    for i, g in enumerate(groups):
        if g in SIGNED_DRIVERS and fit.beta[i] < 0:
            reasons.append(f"negative_{g}_coefficient")
    if fit.f_p >= 0.10:
        reasons.append("model_not_significant")
    gp = fit.group_p
    for g, p in gp.items():
        if p >= 0.20:
            reasons.append(f"driver_not_significant:{g}")
    if gp and min(gp.values()) >= 0.10:
        reasons.append("no_driver_below_p_0_10")
    return reasons


def _assemble(spec: _Spec, rows: np.ndarray, *, day, y, y_raw, P, T, cal, reason, detail, labels, confidence,
              days_in_period, days_missing, min_days, cv_goal, ashrae_cv_limit, nmbe_goal, folds,
              candidates, fallback_reason, reporting_days=None, routine: np.ndarray | None = None) -> BaselineModel:
    ref, dummies = _dummy_classes(cal, rows) if "calendar" in spec.drivers else (
        _dummy_classes(cal, rows)[0], ())
    X = _design(spec.drivers, spec.th, spec.tc, dummies, P[rows], T[rows], cal[rows], spec.swing)
    yr = y[rows]
    names = _column_names(spec.drivers, dummies, labels)
    groups = _column_groups(spec.drivers, dummies)
    fit = _fit_stats(X, yr, groups)
    n, p = fit.n, fit.p
    mean_y = float(yr.mean())
    dof = n - p
    rmse = math.sqrt(fit.sse / dof) if dof > 0 else 0.0
    cv = rmse / mean_y if mean_y > 0 else 0.0
    cv_routine = cv
    if routine is not None and int(routine.sum()) > n:
        X_r = _design(spec.drivers, spec.th, spec.tc, dummies, P[routine], T[routine], cal[routine], spec.swing)
        e_r = y[routine] - X_r @ fit.beta
        mean_r, dof_r = float(y[routine].mean()), int(routine.sum()) - p
        cv_routine = math.sqrt(float(e_r @ e_r) / dof_r) / mean_r if dof_r > 0 and mean_r > 0 else cv
    nmbe = float(fit.resid.sum()) / (dof * mean_y) if dof > 0 and mean_y > 0 else 0.0
    if n >= 4 and dof > 0 and mean_y > 0:
        e_oos = yr - _out_of_sample(X, yr, folds)
        nmbe_oos = float(e_oos.sum()) / (dof * mean_y)
        cv_oos = math.sqrt(float(e_oos @ e_oos) / dof) / mean_y
    else:
        nmbe_oos = cv_oos = 0.0
    class_s, scale_p, class_dof = _class_scales(X, fit.resid, fit.cinv, cal[rows], fit.s)
    rho = _lag1(fit.resid, day[rows])
    fwd_nmbe, fwd_p = _forward_holdout(X, yr, day[rows], rho) if dof > 0 and mean_y > 0 else (0.0, 1.0)
    n_eff = float(n) if rho <= 0 else max(n * (1.0 - rho) / (1.0 + rho), min(2.0, float(n)))
    sse_f = max(fit.sse, 1e-15 * fit.sst, 1e-300)
    ncp = (spec.th is not None) + (spec.tc is not None)
    bic = n * math.log(sse_f / n) + (p + ncp) * math.log(n) if n > 0 else 0.0

    ranges: dict[str, DriverRange] = {}
    for key, arr in (("production", P), ("temp_mean_c", T)):
        v = arr[rows & np.isfinite(arr)]
        if v.size:
            ranges[key] = DriverRange(float(v.min()), float(v.max()), float(v.mean()),
                                      float(v.std(ddof=1)) if v.size > 1 else 0.0)
    work = rows & np.isfinite(P) & (cal == ref)
    if not work.any():
        work = rows & np.isfinite(P)
    typical = DayDrivers(production=float(P[work].mean()) if work.any() else None,
                         temp_mean_c=ranges["temp_mean_c"].mean if "temp_mean_c" in ranges else None,
                         calendar=int(ref))
    excluded = _excluded(day, y_raw, reason, detail)

    method = spec.method
    validity = _validity(method=method, n=n, cv=cv, nmbe_oos=nmbe_oos, fwd=(fwd_nmbe, fwd_p), r2=fit.r2, f_p=fit.f_p,
                         group_p=fit.group_p, days_in_period=days_in_period, days_missing=days_missing,
                         min_days=min_days, cv_goal=cv_goal, ashrae=_limit_of_reporting(reporting_days, ashrae_cv_limit),
                         nmbe_goal=nmbe_goal, constant=fit.sst <= 0 and n > 1)
    fl = _finite
    return BaselineModel(
        method=method, drivers=tuple(spec.drivers) if method != MEAN_30D else (),
        coefficients={k: fl(v) for k, v in zip(names, fit.beta, strict=True)},
        std_errors={k: fl(v) for k, v in zip(names, fit.se, strict=True)},
        t_stats={k: fl(v) for k, v in zip(names, fit.tstat, strict=True)},
        p_values={k: fl(v) for k, v in zip(names, fit.pval, strict=True)},
        driver_p_values={k: fl(v) for k, v in fit.group_p.items()},
        temp_swing_c=fl(spec.swing) if "hdd" in spec.drivers or "cdd" in spec.drivers else 0.0,
        heating_balance_c=spec.th if "hdd" in spec.drivers else None,
        cooling_balance_c=spec.tc if "cdd" in spec.drivers else None,
        calendar_labels={int(k): v for k, v in sorted(labels.items())}, calendar_reference=int(ref),
        calendar_classes=tuple(int(c) for c in dummies),
        calendar_seen=tuple(int(c) for c in np.unique(cal[rows])),
        n=int(n), n_effective=fl(n_eff), p=int(p), residual_autocorrelation=fl(rho),
        r2=fl(fit.r2), adj_r2=fl(fit.adj_r2), cv_rmse=fl(cv), nmbe=fl(nmbe), nmbe_out_of_sample=fl(nmbe_oos),
        cv_rmse_out_of_sample=fl(cv_oos), f_stat=fl(fit.f_stat), f_p_value=fl(fit.f_p), s_kwh=fl(fit.s),
        mean_energy_kwh=fl(mean_y), bic=fl(bic), confidence=float(confidence),
        xtx_inv=tuple(tuple(fl(v) for v in r) for r in fit.cinv),
        driver_ranges=ranges, typical=typical, excluded_days=excluded,
        baseline_start=_date(day[rows][0]), baseline_end=_date(day[rows][-1]),
        days_in_period=int(days_in_period), days_missing=int(days_missing), validity=validity,
        fallback_reason=fallback_reason, candidates=tuple(_clean_candidate(c) for c in candidates),
        class_s_kwh={c: fl(v) for c, v in class_s.items()}, class_scale_p_value=fl(scale_p),
        class_dof={c: fl(v) for c, v in class_dof.items()},
        fitted_residuals=(day[rows].astype("datetime64[D]").astype(np.int64), np.asarray(fit.resid, dtype=float)),
        forward_nmbe=fl(fwd_nmbe), forward_bias_p_value=fl(fwd_p),
        class_mean_design={int(c): tuple(fl(v) for v in X[cal[rows] == c].mean(axis=0))
                           for c in np.unique(cal[rows])},
        cv_rmse_routine=fl(cv_routine))


def _insufficient(*, day, y_raw, P, T, cal, reason, detail, labels, confidence, days_in_period, days_missing,
                  min_days, **_: Any) -> BaselineModel:
    excluded = _excluded(day, y_raw, reason, detail)
    gate = Gate("min_days", 0.0, float(min_days), ">=", False, "required", "too_few_days")
    return BaselineModel(
        method=INSUFFICIENT_DATA, drivers=(), coefficients={INTERCEPT: 0.0}, std_errors={INTERCEPT: 0.0},
        t_stats={INTERCEPT: 0.0}, p_values={INTERCEPT: 1.0}, driver_p_values={}, heating_balance_c=None,
        cooling_balance_c=None, calendar_labels={int(k): v for k, v in sorted(labels.items())},
        calendar_reference=CAL_WORKING, calendar_classes=(), calendar_seen=(), n=0, n_effective=0.0, p=1,
        residual_autocorrelation=0.0, r2=0.0, adj_r2=0.0, cv_rmse=0.0, nmbe=0.0, nmbe_out_of_sample=0.0,
        cv_rmse_out_of_sample=0.0, f_stat=0.0, f_p_value=1.0, s_kwh=0.0, mean_energy_kwh=0.0, bic=0.0,
        confidence=float(confidence), xtx_inv=((0.0,),), driver_ranges={}, typical=DayDrivers(),
        excluded_days=excluded, baseline_start=None, baseline_end=None, days_in_period=int(days_in_period),
        days_missing=int(days_missing),
        validity=Validity(False, "insufficient_data", ("too_few_days",), (gate,)), fallback_reason="no_data")
