"""The daily energy baseline (engine/baseline/) against synthetic plants with a known truth.

Statistics are checked against an independent OLS written here (numpy.linalg.lstsq + scipy.stats on the
final design matrix). No database.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import time

import numpy as np
import pytest
from scipy import stats

from skill_enms_performance.engine.baseline import (CAL_CLOSED, CAL_PARTIAL, CAL_WORKING, CALENDAR_MEAN,
                                                    INSUFFICIENT_DATA, MEAN_30D, PRODUCTION_ONLY, REGRESSION,
                                                    BaselineModel, DailyData, DayDrivers, cusum, fit_baseline,
                                                    degree_days, fractional_savings_uncertainty, page_cusum)

TRUTH = dict(b0=500.0, bP=0.8, bH=12.0, bC=20.0, th=15.0, tc=22.0, g_partial=-150.0, g_closed=-400.0)


def plant(seed: int = 1, n: int = 365, noise: float = 20.0, *, production: bool = True, weather: bool = True,
          calendar: bool = True, ar_rho: float = 0.0, start: str = "2024-01-01", **truth):
    """A synthetic SEU: E = b0 + bP*P + bH*HDD(th) + bC*CDD(tc) + calendar effect + noise."""
    t = {**TRUTH, **truth}
    rng = np.random.default_rng(seed)
    day = np.datetime64(start) + np.arange(n)
    weekday = (day.astype("datetime64[D]").view("int64") + 3) % 7          # 0 = Monday
    cal = np.where(weekday == 6, CAL_CLOSED, np.where(weekday == 5, CAL_PARTIAL, CAL_WORKING))
    P = np.where(cal == CAL_WORKING, rng.uniform(800, 1200, n),
                 np.where(cal == CAL_PARTIAL, rng.uniform(300, 500, n), 0.0))
    T = 12 + 11 * np.sin(2 * np.pi * (np.arange(n) - 110) / 365) + rng.normal(0, 3, n)
    eps = rng.normal(0, noise, n)
    if ar_rho:
        e = np.empty(n)
        e[0] = eps[0]
        for i in range(1, n):
            e[i] = ar_rho * e[i - 1] + eps[i]
        eps = e
    E = t["b0"] + eps
    if production:
        E = E + t["bP"] * P
    if weather:
        E = E + t["bH"] * np.maximum(t["th"] - T, 0) + t["bC"] * np.maximum(T - t["tc"], 0)
    if calendar:
        E = E + np.select([cal == CAL_PARTIAL, cal == CAL_CLOSED], [t["g_partial"], t["g_closed"]], 0.0)
    return dict(day=day, energy_kwh=E, production=P, temp_mean_c=T, calendar=cal)


def data_of(d, **over) -> DailyData:
    return DailyData(**{**d, **over})


def fitted_rows(model: BaselineModel, data: DailyData) -> np.ndarray:
    excluded = {e.date for e in model.excluded_days}
    return np.array([dd.astype(dt.date) not in excluded for dd in data.day])


def independent_design(model: BaselineModel, data: DailyData, rows: np.ndarray) -> np.ndarray:
    cols = [np.ones(int(rows.sum()))]
    if "production" in model.drivers:
        cols.append(data.production[rows])
    if "hdd" in model.drivers:
        cols.append(np.maximum(model.heating_balance_c - data.temp_mean_c[rows], 0))
    if "cdd" in model.drivers:
        cols.append(np.maximum(data.temp_mean_c[rows] - model.cooling_balance_c, 0))
    for c in model.calendar_classes:
        cols.append((data.calendar[rows] == c).astype(float))
    return np.column_stack(cols)


def ols(X, y):
    n, p = X.shape
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    resid = y - X @ beta
    sse = float(resid @ resid)
    s2 = sse / (n - p)
    xtx_inv = np.linalg.inv(X.T @ X)
    se = np.sqrt(s2 * np.diag(xtx_inv))
    t = beta / se
    pv = 2 * stats.t.sf(np.abs(t), n - p)
    sst = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - sse / sst
    adj = 1 - (1 - r2) * (n - 1) / (n - p)
    F = ((sst - sse) / (p - 1)) / s2
    return dict(beta=beta, se=se, t=t, p=pv, r2=r2, adj=adj, F=F, Fp=stats.f.sf(F, p - 1, n - p),
                s=math.sqrt(s2), sse=sse, resid=resid, xtx_inv=xtx_inv, n=n, k=p)


def assert_no_nan(obj, path="model"):
    if isinstance(obj, float):
        assert math.isfinite(obj), path
    elif isinstance(obj, dict):
        for k, v in obj.items():
            assert_no_nan(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            assert_no_nan(v, f"{path}[{i}]")


# --- recovery of a known truth -----------------------------------------------------------------
def test_recovers_coefficients_and_change_points():
    data = data_of(plant(seed=1))
    m = fit_baseline(data)
    assert m.method == REGRESSION
    assert m.drivers == ("production", "hdd", "cdd", "calendar")
    c = m.coefficients
    assert c["production_kwh_per_unit"] == pytest.approx(TRUTH["bP"], rel=0.03)
    assert c["hdd_kwh_per_degree_day"] == pytest.approx(TRUTH["bH"], rel=0.05)
    assert c["cdd_kwh_per_degree_day"] == pytest.approx(TRUTH["bC"], rel=0.10)
    assert c["calendar_partial_kwh"] == pytest.approx(TRUTH["g_partial"], rel=0.05)
    assert c["calendar_closed_kwh"] == pytest.approx(TRUTH["g_closed"], rel=0.05)
    assert abs(m.heating_balance_c - TRUTH["th"]) <= 1.0
    assert abs(m.cooling_balance_c - TRUTH["tc"]) <= 1.0
    assert m.validity.verdict == "valid" and m.valid
    assert m.fallback_reason is None
    assert m.n == 365 and m.p == 6
    assert m.cv_rmse < 0.05 and m.r2 > 0.99
    assert m.baseline_start == dt.date(2024, 1, 1) and m.baseline_end == dt.date(2024, 12, 30)


def test_heating_only_change_point_within_a_grid_step():
    d = plant(seed=3, production=False, calendar=False, b0=200.0, bH=15.0, th=16.0, bC=0.0)
    m = fit_baseline(DailyData(day=d["day"], energy_kwh=d["energy_kwh"], temp_mean_c=d["temp_mean_c"]))
    assert m.method == REGRESSION and m.drivers == ("hdd",)
    assert abs(m.heating_balance_c - 16.0) <= 1.0
    assert m.coefficients["hdd_kwh_per_degree_day"] == pytest.approx(15.0, rel=0.05)
    assert m.cooling_balance_c is None


def test_statistics_match_independent_ols():
    data = data_of(plant(seed=11, noise=40.0))
    m = fit_baseline(data, confidence=0.90)
    rows = fitted_rows(m, data)
    X = independent_design(m, data, rows)
    y = data.energy_kwh[rows]
    ref = ols(X, y)
    names = ["intercept_kwh", "production_kwh_per_unit", "hdd_kwh_per_degree_day", "cdd_kwh_per_degree_day",
             "calendar_partial_kwh", "calendar_closed_kwh"]
    assert list(m.coefficients) == names
    tol = dict(rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose([m.coefficients[k] for k in names], ref["beta"], **tol)
    np.testing.assert_allclose([m.std_errors[k] for k in names], ref["se"], **tol)
    np.testing.assert_allclose([m.t_stats[k] for k in names], ref["t"], **tol)
    np.testing.assert_allclose([m.p_values[k] for k in names], ref["p"], rtol=1e-6, atol=1e-12)
    assert m.r2 == pytest.approx(ref["r2"], rel=1e-6)
    assert m.adj_r2 == pytest.approx(ref["adj"], rel=1e-6)
    assert m.f_stat == pytest.approx(ref["F"], rel=1e-6)
    assert m.f_p_value == pytest.approx(ref["Fp"], rel=1e-6, abs=1e-12)
    assert m.s_kwh == pytest.approx(ref["s"], rel=1e-6)
    n, k = ref["n"], ref["k"]
    assert m.cv_rmse == pytest.approx(math.sqrt(ref["sse"] / (n - k)) / y.mean(), rel=1e-6)
    assert m.nmbe == pytest.approx(ref["resid"].sum() / ((n - k) * y.mean()), abs=1e-9)
    np.testing.assert_allclose(np.array(m.xtx_inv), ref["xtx_inv"], rtol=1e-6, atol=1e-12)
    # the calendar as one driver: partial F-test of both dummies
    Xr = X[:, :4]
    rr = y - Xr @ np.linalg.lstsq(Xr, y, rcond=None)[0]
    f_cal = ((rr @ rr - ref["sse"]) / 2) / ref["s"] ** 2
    assert m.driver_p_values["calendar"] == pytest.approx(stats.f.sf(f_cal, 2, n - k), rel=1e-6, abs=1e-12)
    assert m.driver_p_values["production"] == pytest.approx(ref["p"][1], rel=1e-6, abs=1e-12)

    # prediction interval: t(1-a/2, n-p) * s * sqrt(1 + x0'(X'X)^-1 x0)
    x = DayDrivers(production=1100.0, temp_mean_c=3.0, calendar=CAL_PARTIAL)
    x0 = np.array([1.0, 1100.0, max(m.heating_balance_c - 3.0, 0), max(3.0 - m.cooling_balance_c, 0), 1.0, 0.0])
    half = stats.t.ppf(0.95, n - k) * ref["s"] * math.sqrt(1 + x0 @ ref["xtx_inv"] @ x0)
    pred = m.predict(x)
    assert pred.expected_kwh == pytest.approx(x0 @ ref["beta"], rel=1e-9)
    assert pred.half_width_kwh == pytest.approx(half, rel=1e-6)
    assert pred.lower_kwh == pytest.approx(x0 @ ref["beta"] - half, rel=1e-6)
    assert pred.upper_kwh == pytest.approx(x0 @ ref["beta"] + half, rel=1e-6)
    assert pred.dof == n - k and pred.confidence == 0.90
    assert pred.is_significant(pred.upper_kwh + 1) and not pred.is_significant(pred.expected_kwh)


def test_out_of_sample_nmbe_is_blocked_10_fold():
    data = data_of(plant(seed=5, noise=30.0))
    m = fit_baseline(data)
    rows = fitted_rows(m, data)
    X, y = independent_design(m, data, rows), data.energy_kwh[rows]
    pred = np.empty_like(y)
    for block in np.array_split(np.arange(y.size), 10):
        train = np.ones(y.size, bool)
        train[block] = False
        pred[block] = X[block] @ np.linalg.lstsq(X[train], y[train], rcond=None)[0]
    n, k = X.shape
    assert m.nmbe_out_of_sample == pytest.approx((y - pred).sum() / ((n - k) * y.mean()), rel=1e-6, abs=1e-12)
    assert abs(m.nmbe) < 1e-9 < abs(m.nmbe_out_of_sample)
    assert m.cv_rmse_out_of_sample >= m.cv_rmse


# --- physical signs and fallbacks ----------------------------------------------------------------
def test_negative_production_slope_is_never_used():
    d = plant(seed=4, weather=False, calendar=False)
    rng = np.random.default_rng(4)
    P = rng.uniform(500, 1500, d["day"].size)
    E = 2000 - 0.5 * P + rng.normal(0, 20, P.size)       # fits better with a negative slope
    m = fit_baseline(DailyData(day=d["day"], energy_kwh=E, production=P, temp_mean_c=d["temp_mean_c"]))
    assert m.coefficients.get("production_kwh_per_unit", 0.0) >= 0.0
    assert "production" not in m.drivers
    for cand in m.candidates:
        if "production" in cand["drivers"] and cand.get("passed_gates"):
            pytest.fail("a candidate with production passed")


@pytest.mark.parametrize("with_calendar, method", [(True, CALENDAR_MEAN), (False, MEAN_30D)])
def test_pure_noise_falls_back(with_calendar, method):
    d = plant(seed=21)
    rng = np.random.default_rng(21)
    E = 1000 + rng.normal(0, 50, d["day"].size)
    m = fit_baseline(data_of(d, energy_kwh=E, calendar=d["calendar"] if with_calendar else None))
    assert m.method == method
    assert m.fallback_reason == "no_valid_driver_model"
    assert "fallback_model" in m.validity.reasons
    if method == MEAN_30D:
        assert m.n == 30 and m.p == 1 and m.drivers == ()
        assert m.coefficients["intercept_kwh"] == pytest.approx(E[-30:].mean())
        assert m.s_kwh == pytest.approx(E[-30:].std(ddof=1))
        assert m.baseline_start == dt.date(2024, 12, 1)
    else:
        assert m.drivers == ("calendar",) and m.n == 365
        work = d["calendar"] == CAL_WORKING
        assert m.coefficients["intercept_kwh"] == pytest.approx(E[work].mean())


def test_flat_load_has_fine_cv_and_reports_low_r2():
    d = plant(seed=8, calendar=False)
    rng = np.random.default_rng(8)
    E = 1000 + rng.normal(0, 20, d["day"].size)
    m = fit_baseline(data_of(d, energy_kwh=E, calendar=None))
    assert m.cv_rmse < 0.05
    assert m.r2 < 0.5
    assert "r2_below_0_5" in m.validity.reasons
    assert m.valid and m.validity.verdict == "valid_with_warnings"
    gate = {g.name: g for g in m.validity.gates}
    assert gate["cv_rmse_goal"].passed and gate["cv_rmse_ashrae"].passed and not gate["r2"].passed


def test_production_only_method():
    d = plant(seed=9, weather=False, calendar=False)
    m = fit_baseline(data_of(d, calendar=None))
    assert m.method == PRODUCTION_ONLY and m.drivers == ("production",)
    assert m.coefficients["production_kwh_per_unit"] == pytest.approx(0.8, rel=0.03)


# --- non-routine days ---------------------------------------------------------------------------------
def test_outliers_and_low_coverage_are_excluded_with_reasons():
    d = plant(seed=2)
    E = d["energy_kwh"].copy()
    spikes, drop = [40, 130, 250], 300
    E[spikes] *= 2.5
    E[drop] = 10.0                          # a working day the plant was shut: non-routine too
    cov = np.ones(E.size)
    cov[[5, 6]] = 0.3
    E[77] = np.nan
    E[78] = -5.0
    m = fit_baseline(data_of(d, energy_kwh=E, coverage=cov))
    reasons = {e.date: e.reason for e in m.excluded_days}
    day = lambda i: d["day"][i].astype(dt.date)  # noqa: E731
    for i in spikes + [drop]:
        assert reasons[day(i)] == "outlier", i
    assert reasons[day(5)] == reasons[day(6)] == "low_coverage"
    assert reasons[day(77)] == "missing_energy" and reasons[day(78)] == "negative_energy"
    assert len(reasons) == 8                  # nothing routine thrown away
    outlier = next(e for e in m.excluded_days if e.date == day(40))
    assert outlier.energy_kwh == pytest.approx(E[40])
    assert m.n == 365 - 8
    assert m.coefficients["production_kwh_per_unit"] == pytest.approx(0.8, rel=0.03)


def test_missing_driver_days_only_excluded_when_the_model_needs_the_driver():
    d = plant(seed=12, weather=False, calendar=False)
    P, T = d["production"].copy(), d["temp_mean_c"].copy()
    P[[10, 11]] = np.nan
    T[[20, 21, 22]] = np.nan                  # the model will not use temperature
    m = fit_baseline(data_of(d, production=P, temp_mean_c=T, calendar=None))
    assert "production" in m.drivers and "hdd" not in m.drivers
    ex = {e.date: (e.reason, e.detail) for e in m.excluded_days}
    assert ex == {d["day"][i].astype(dt.date): ("missing_driver", "production") for i in (10, 11)}
    assert m.n == 363


def test_rare_calendar_class_is_excluded():
    d = plant(seed=13)
    cal = d["calendar"].copy()
    cal[cal == CAL_PARTIAL] = CAL_WORKING
    cal[[100, 101, 102]] = 3                  # three special shift days
    m = fit_baseline(data_of(d, calendar=cal, calendar_labels=("working", "partial", "closed", "special")))
    assert sum(e.reason == "rare_calendar_class" for e in m.excluded_days) == 3
    assert 3 not in m.calendar_classes
    assert m.predict(DayDrivers(1000.0, 10.0, 3)).in_range["calendar"] is False


# --- autocorrelation and M&V ---------------------------------------------------------------------------
def test_n_effective_with_ar1_residuals():
    data = data_of(plant(seed=31, n=730, ar_rho=0.6))
    m = fit_baseline(data)
    rows = fitted_rows(m, data)
    resid = ols(independent_design(m, data, rows), data.energy_kwh[rows])["resid"]
    e = resid - resid.mean()
    rho = float((e[:-1] * e[1:]).mean() / (e @ e / e.size))      # no gaps here: all days consecutive
    assert m.residual_autocorrelation == pytest.approx(rho, rel=1e-6)
    assert 0.5 < rho < 0.7
    assert m.n_effective == pytest.approx(m.n * (1 - rho) / (1 + rho), rel=1e-9)

    white = fit_baseline(data_of(plant(seed=32)))
    assert abs(white.residual_autocorrelation) < 0.15
    if white.residual_autocorrelation <= 0:
        assert white.n_effective == white.n


def test_fractional_savings_uncertainty_hand_example():
    # cv 10 %, n 365, n' 200, 365 reporting days (M = 12), 10 % savings, 68 % confidence
    k = -0.00024 * 144 + 0.03535 * 12 + 1.00286                 # 1.39250
    t = stats.t.ppf(0.84, 364)                                   # ~0.9955
    expected = t * k * 0.10 * math.sqrt((365 / 200) * (1 + 2 / 200) * (1 / 365)) / 0.10
    assert k == pytest.approx(1.3925, abs=1e-4)
    assert expected == pytest.approx(0.0985, abs=5e-4)
    fsu = fractional_savings_uncertainty(0.10, 365, 200.0, 365, 0.10, confidence=0.68, months=12)
    assert fsu == pytest.approx(expected, rel=1e-9)
    # months derived from the reporting days when not given
    assert fractional_savings_uncertainty(0.10, 365, 200.0, 365, 0.10) == pytest.approx(
        expected * (-0.00024 * (365 / 30.4375) ** 2 + 0.03535 * 365 / 30.4375 + 1.00286) / k, rel=1e-9)
    with pytest.raises(ValueError):
        fractional_savings_uncertainty(0.10, 365, 200.0, 365, 0.0)


def test_cusum_and_page_cusum():
    assert cusum([10, 10, 10], [8, 12, np.nan]).tolist() == [2.0, 0.0, 0.0]
    rng = np.random.default_rng(5)
    z = rng.normal(0, 1, 300)
    assert page_cusum(z[:100]) == (None, None)
    z[200:] += 1.0                             # a slow, persistent drift upwards
    alarm, start = page_cusum(z)
    assert alarm is not None and 200 <= alarm <= 240
    assert 190 <= start <= alarm
    up = page_cusum(-z, side="upper")
    assert up.alarm_index is None or up.alarm_index < 200
    assert page_cusum(-z, side="lower").alarm_index == alarm


# --- prediction, attribution, JSON --------------------------------------------------------------------
def test_predict_many_matches_predict_and_flags_ranges():
    data = data_of(plant(seed=14))
    m = fit_baseline(data)
    many = m.predict_many(data)
    for i in (0, 100, 200):
        one = m.predict(DayDrivers(data.production[i], data.temp_mean_c[i], int(data.calendar[i])))
        assert many.expected_kwh[i] == pytest.approx(one.expected_kwh, rel=1e-12)
        assert many.upper_kwh[i] == pytest.approx(one.upper_kwh, rel=1e-12)
        assert many.standardised_residual[i] == pytest.approx(
            (data.energy_kwh[i] - one.expected_kwh) / one.se_kwh, rel=1e-9)
    assert many.in_range.all() and not many.imputed.any()
    assert many.significant.mean() < 0.2

    far = m.predict(DayDrivers(production=50_000.0, temp_mean_c=10.0, calendar=CAL_WORKING))
    assert far.in_range == {"production": False, "temp_mean_c": True, "calendar": True}
    assert not far.all_in_range and not far.reliable
    hole = m.predict(DayDrivers(production=1000.0, temp_mean_c=None, calendar=CAL_WORKING))
    assert hole.imputed_drivers == ("temp_mean_c",) and math.isfinite(hole.expected_kwh)
    assert m.predict(DayDrivers(1000.0, 10.0, 7)).in_range["calendar"] is False


def test_decompose_is_additive_and_typical_day():
    data = data_of(plant(seed=15))
    m = fit_baseline(data)
    typ = m.typical_day()
    work = data.calendar == CAL_WORKING
    assert typ.production == pytest.approx(data.production[work].mean())
    assert typ.temp_mean_c == pytest.approx(data.temp_mean_c.mean())
    assert typ.calendar == CAL_WORKING
    x = DayDrivers(production=600.0, temp_mean_c=-2.0, calendar=CAL_PARTIAL)
    parts = m.decompose(x, actual_kwh=2000.0)
    c = m.coefficients
    assert parts["reference_kwh"] == pytest.approx(m.predict(typ).expected_kwh)
    assert parts["expected_kwh"] == pytest.approx(m.predict(x).expected_kwh)
    assert parts["production_effect_kwh"] == pytest.approx(c["production_kwh_per_unit"] * (600.0 - typ.production))
    hdd = lambda t: max(m.heating_balance_c - t, 0.0)  # noqa: E731
    cdd = lambda t: max(t - m.cooling_balance_c, 0.0)  # noqa: E731
    assert parts["weather_effect_kwh"] == pytest.approx(
        c["hdd_kwh_per_degree_day"] * (hdd(-2.0) - hdd(typ.temp_mean_c))
        + c["cdd_kwh_per_degree_day"] * (cdd(-2.0) - cdd(typ.temp_mean_c)))
    assert parts["calendar_effect_kwh"] == pytest.approx(c["calendar_partial_kwh"])
    total = parts["production_effect_kwh"] + parts["weather_effect_kwh"] + parts["calendar_effect_kwh"]
    assert parts["expected_kwh"] - parts["reference_kwh"] == pytest.approx(total, rel=1e-12)
    assert parts["unexplained_kwh"] == pytest.approx(2000.0 - parts["expected_kwh"])
    assert m.decompose(typ)["difference_kwh"] == pytest.approx(0.0, abs=1e-9)


def test_to_dict_from_dict_round_trip():
    d = plant(seed=16)
    E = d["energy_kwh"].copy()
    E[50] *= 3
    m = fit_baseline(data_of(d, energy_kwh=E))
    blob = json.dumps(m.to_dict(), allow_nan=False)
    back = BaselineModel.from_dict(json.loads(blob))
    assert back == m
    x = DayDrivers(900.0, 8.0, CAL_CLOSED)
    assert back.predict(x) == m.predict(x)
    assert back.to_dict() == m.to_dict()
    assert "intercept_kwh" in m.to_dict()["coefficients"]


# --- degenerate inputs ---------------------------------------------------------------------------------
def _degenerate_cases():
    d = plant(seed=17)
    n = d["day"].size
    yield "constant_energy", data_of(d, energy_kwh=np.full(n, 250.0))
    yield "all_zero_energy", data_of(d, energy_kwh=np.zeros(n))
    yield "ten_days", data_of({k: v[:10] for k, v in d.items()})
    yield "one_day", data_of({k: v[:1] for k, v in d.items()})
    yield "no_energy", data_of(d, energy_kwh=np.full(n, np.nan))
    yield "no_days", DailyData(day=np.array([], dtype="datetime64[D]"), energy_kwh=[])
    yield "all_nan_temperature", data_of(d, temp_mean_c=np.full(n, np.nan))
    yield "zero_production", data_of(d, production=np.zeros(n))
    yield "all_low_coverage", data_of(d, coverage=np.full(n, 0.2))
    yield "no_optional_arrays", DailyData(day=d["day"], energy_kwh=d["energy_kwh"])
    yield "zero_temperature", data_of(d, temp_mean_c=np.zeros(n))
    yield "drivers_on_disjoint_days", data_of(
        d, production=np.where(np.arange(n) % 2 == 0, d["production"], np.nan),
        temp_mean_c=np.where(np.arange(n) % 2 == 1, d["temp_mean_c"], np.nan))


@pytest.mark.parametrize("name, data", list(_degenerate_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_degenerate_inputs_never_give_nan(name, data):
    m = fit_baseline(data)
    json.dumps(m.to_dict(), allow_nan=False)
    assert_no_nan(m.to_dict())
    for x in (DayDrivers(), DayDrivers(1000.0, 10.0, CAL_WORKING), DayDrivers(0.0, 0.0, CAL_CLOSED)):
        pred = m.predict(x)
        assert all(math.isfinite(v) for v in (pred.expected_kwh, pred.lower_kwh, pred.upper_kwh, pred.se_kwh))
        assert_no_nan(m.decompose(x))
    many = m.predict_many(data)
    for arr in (many.expected_kwh, many.lower_kwh, many.upper_kwh, many.residual_kwh, many.standardised_residual):
        assert np.isfinite(arr).all()
    if name in ("no_energy", "no_days", "all_low_coverage"):
        assert m.method == INSUFFICIENT_DATA and not m.valid and m.validity.verdict == "insufficient_data"
    if name in ("ten_days", "one_day"):
        assert m.method == MEAN_30D and m.validity.verdict == "insufficient_data"
    if name in ("constant_energy", "all_zero_energy"):
        assert "constant_energy" in m.validity.reasons and m.cv_rmse == 0.0
    if name == "zero_production":
        assert "production" not in m.drivers
    if name == "all_nan_temperature":
        assert "hdd" not in m.drivers and "cdd" not in m.drivers
    if name == "zero_temperature":      # 0 C is a real value: every day has 15 heating degree days
        assert not any(e.reason == "missing_driver" for e in m.excluded_days)


def test_short_baseline_is_reported():
    m = fit_baseline(data_of({k: v[:120] for k, v in plant(seed=18).items()}))
    assert "baseline_shorter_than_365_days" in m.validity.reasons
    assert {g.name: g for g in m.validity.gates}["cv_rmse_ashrae"].threshold == 0.20
    assert m.valid


def test_dailydata_validates_and_sorts():
    with pytest.raises(ValueError):
        DailyData(day=np.datetime64("2024-01-01") + np.arange(3), energy_kwh=[1.0, 2.0])
    with pytest.raises(ValueError):
        DailyData(day=["2024-01-01", "2024-01-01"], energy_kwh=[1.0, 2.0])
    dd = DailyData(day=[dt.date(2024, 1, 2), dt.date(2024, 1, 1)], energy_kwh=[2.0, 1.0])
    assert dd.energy_kwh.tolist() == [1.0, 2.0] and dd.label(2) == "closed" and dd.label(9) == "class_9"


# --- speed ------------------------------------------------------------------------------------------------
def test_fit_of_365_days_is_fast():
    data = data_of(plant(seed=19))
    fit_baseline(data)                          # warm-up (imports, BLAS)
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        fit_baseline(data)
        times.append(time.perf_counter() - t0)
    print(f"\nfit_baseline, 365 days, full candidate + change-point grid: "
          f"min {1000 * min(times):.1f} ms, median {1000 * float(np.median(times)):.1f} ms")
    assert min(times) < 1.0


def test_a_misfitted_season_is_not_cut_away():
    """A weather-only meter whose load follows the season in a way the candidates cannot model (an offset
    every summer, not a function of temperature): the old 3*IQR fence on the residuals took out most of one
    season and reported a flattering CV(RMSE). Only clearly non-routine days may leave (at most 5 %), and
    the CV(RMSE) over all routine days is reported next to the fitted one."""
    rng = np.random.default_rng(7)
    n = 365
    day = np.datetime64("2024-01-01") + np.arange(n)
    T = 10 + 9 * np.sin(2 * np.pi * (np.arange(n) - 110) / 365) + rng.normal(0, 2.5, n)
    summer = (np.arange(n) >= 150) & (np.arange(n) < 240)
    E = 400 + 15 * np.maximum(14 - T, 0) + np.where(summer, 260.0, 0.0) + rng.normal(0, 25, n)
    spikes = [20, 300]
    E[spikes] += 900.0
    data = DailyData(day=day, energy_kwh=E, production=None, temp_mean_c=T, calendar=np.zeros(n, dtype=int))
    m = fit_baseline(data)
    outliers = {e.date for e in m.excluded_days if e.reason == "outlier"}
    assert len(outliers) <= 0.05 * n, len(outliers)
    assert {day[i].astype(dt.date) for i in spikes} <= outliers
    assert m.cv_rmse_routine >= m.cv_rmse > 0
    assert BaselineModel.from_dict(json.loads(json.dumps(m.to_dict()))).cv_rmse_routine == m.cv_rmse_routine


def test_clean_plant_keeps_every_routine_day_and_both_cvs_agree():
    m = fit_baseline(data_of(plant(seed=3)))
    assert not [e for e in m.excluded_days if e.reason == "outlier"]
    assert m.cv_rmse_routine == pytest.approx(m.cv_rmse)



def skewed_household(seed: int, sigma: float = 0.7):
    """A heating meter whose routine days scatter like a household's: multiplicative lognormal noise of mean
    1, so the residuals have a long upper tail (routine high days), and one planted 12x event."""
    rng = np.random.default_rng(seed)
    n = 365
    day = np.datetime64("2024-01-01") + np.arange(n)
    T = 10 + 9 * np.sin(2 * np.pi * (np.arange(n) - 110) / 365) + rng.normal(0, 2.5, n)
    mean = 10 + 0.5 * np.maximum(15 - T, 0)
    E = mean * rng.lognormal(-sigma ** 2 / 2, sigma, n)
    E[200] = 12 * mean[200]
    return day, T, mean, E


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_skewed_routine_noise_keeps_its_upper_tail(seed):
    """A fence symmetric about the median cut 3-15 routine high days of such a meter besides the event (the
    model's sum over the routine days then 2.2-13.9 % short of theirs, once 25 % over); the fence widened on
    the long side by the part of the medcouple beyond its noise (adjusted boxplot) cuts 2-5 (1.3-7.8 % short)
    and still leaves the planted event out."""
    day, T, mean, E = skewed_household(seed)
    m = fit_baseline(DailyData(day=day, energy_kwh=E, temp_mean_c=T))
    outliers = {e.date for e in m.excluded_days if e.reason == "outlier"}
    assert day[200].astype(dt.date) in outliers
    assert len(outliers) <= 6, sorted(outliers)
    expected = m.predict_many(DailyData(day=day, energy_kwh=E, temp_mean_c=T)).expected_kwh
    routine = np.arange(day.size) != 200
    assert abs(expected[routine].sum() / E[routine].sum() - 1.0) < 0.08


def test_symmetric_noise_gets_no_skew_allowance():
    """On symmetric residuals the medcouple is 0 up to its sampling noise (0.07 at 260 days); widened by that
    noise, a random side's fence moved out ~1.2x and 3 of these 40 planted 7-sigma events (both signs, 10
    seeds) went unflagged. Only the part of the medcouple beyond its noise at 1 % widens the fence: 39 of 40,
    as with the symmetric fence."""
    found = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        n = 365
        day = np.datetime64("2024-01-01") + np.arange(n)
        weekday = (day.astype("datetime64[D]").view("int64") + 3) % 7
        cal = np.where(weekday >= 5, CAL_CLOSED, CAL_WORKING)
        T = 10 + 9 * np.sin(2 * np.pi * (np.arange(n) - 110) / 365) + rng.normal(0, 2.5, n)
        E = np.where(cal == CAL_WORKING, 1000.0, 300.0) + 20 * np.maximum(15 - T, 0) + rng.normal(0, 30, n)
        events = rng.choice(np.flatnonzero(cal == CAL_WORKING), 4, replace=False)
        E[events] += np.array([1, -1, 1, -1]) * 7 * 30.0
        m = fit_baseline(DailyData(day=day, energy_kwh=E, temp_mean_c=T, calendar=cal))
        outliers = {e.date for e in m.excluded_days if e.reason == "outlier"}
        found += sum(day[i].astype(dt.date) in outliers for i in events)
    assert found >= 39, found

# --- multiplicative noise: per-class outlier fence and per-class residual scale ----------------------------
def multiplicative_plant(seed: int, n: int, start: str = "2024-01-01", noise: float = 0.03):
    """Working days (Mon-Fri) ~1000 kWh driven by production, closed days (Sat, Sun) ~100 kWh; the noise
    is a share of the day's energy, so a working day's residuals are ~10x a closed day's in kWh."""
    rng = np.random.default_rng(seed)
    day = np.datetime64(start) + np.arange(n)
    weekday = (day.astype("datetime64[D]").view("int64") + 3) % 7          # 0 = Monday
    cal = np.where(weekday >= 5, CAL_CLOSED, CAL_WORKING)
    P = np.where(cal == CAL_WORKING, rng.uniform(800, 1200, n), 0.0)
    mean = np.where(cal == CAL_WORKING, 200.0 + 0.8 * P, 100.0)
    E = mean * (1.0 + noise * rng.normal(0, 1, n))
    return dict(day=day, energy_kwh=E, production=P, calendar=cal)


@pytest.mark.parametrize("seed", [40, 41, 42, 43, 44])
def test_multiplicative_noise_keeps_routine_days(seed):
    # a fence pooled over the classes cut 3-33 of these 365 routine days (closed days' residuals are tiny)
    m = fit_baseline(data_of(multiplicative_plant(seed=seed, n=365)))
    assert m.drivers == ("production", "calendar")
    outliers = [e for e in m.excluded_days if e.reason == "outlier"]
    assert len(outliers) <= 0.02 * 365, len(outliers)
    # the reported statistics stay the pooled OLS ones; the per-class scales are ~10x apart
    assert m.cv_rmse == pytest.approx(m.s_kwh / m.mean_energy_kwh, rel=1e-12)
    assert set(m.class_s_kwh) == {CAL_WORKING, CAL_CLOSED} and m.class_scale_p_value < 0.01
    assert m.class_s_kwh[CAL_WORKING] == pytest.approx(30.0, rel=0.20)
    assert m.class_s_kwh[CAL_CLOSED] == pytest.approx(3.0, rel=0.20)


def test_multiplicative_noise_interval_coverage_per_class():
    m = fit_baseline(data_of(multiplicative_plant(seed=42, n=365)), confidence=0.90)
    fresh = data_of(multiplicative_plant(seed=43, n=2000, start="2025-01-01"))
    many = m.predict_many(fresh)
    for c in (CAL_WORKING, CAL_CLOSED):
        cls = fresh.calendar == c
        share = float(many.significant[cls].mean())
        assert 0.05 <= share <= 0.15, (c, share)
    # predict() uses the same per-class scale as predict_many()
    i = int(np.flatnonzero(fresh.calendar == CAL_CLOSED)[0])
    one = m.predict(DayDrivers(fresh.production[i], None, CAL_CLOSED))
    assert one.se_kwh == pytest.approx(many.se_kwh[i], rel=1e-12)
    assert many.standardised_residual[i] == pytest.approx(
        (fresh.energy_kwh[i] - one.expected_kwh) / one.se_kwh, rel=1e-9)
    # the closed days' own s has the closed days' own degrees of freedom (~103), not the pooled n - p
    dof_closed = m.class_dof[CAL_CLOSED]
    assert 90 < dof_closed < 0.5 * (m.n - m.p) and one.dof == int(dof_closed)
    assert one.half_width_kwh == pytest.approx(
        stats.t.ppf(0.95, dof_closed) * m.class_s_kwh[CAL_CLOSED]
        * math.sqrt(1 + np.array([1.0, 0.0, 1.0]) @ np.array(m.xtx_inv) @ np.array([1.0, 0.0, 1.0])), rel=1e-9)
    assert sum(m.class_dof.values()) == pytest.approx(m.n - m.p, abs=1e-6)


def test_multiplicative_noise_spike_on_working_day_is_excluded_and_flagged():
    d = multiplicative_plant(seed=44, n=365)
    E = d["energy_kwh"].copy()
    i = int(np.flatnonzero(d["calendar"] == CAL_WORKING)[100])
    E[i] *= 1.30
    data = data_of(d, energy_kwh=E)
    m = fit_baseline(data)
    reasons = {e.date: e.reason for e in m.excluded_days}
    assert reasons.get(d["day"][i].astype(dt.date)) == "outlier"
    assert len(reasons) <= 1 + 0.02 * 365
    many = m.predict_many(data)
    assert many.significant[i] and many.standardised_residual[i] > 5


def test_class_scales_in_json_and_old_dicts_load():
    m = fit_baseline(data_of(multiplicative_plant(seed=45, n=365)))
    blob = m.to_dict()
    assert blob["class_s_kwh"] == {str(k): v for k, v in sorted(m.class_s_kwh.items())}
    back = BaselineModel.from_dict(json.loads(json.dumps(blob, allow_nan=False)))
    assert back == m and back.class_s_kwh == m.class_s_kwh and back.class_dof == m.class_dof
    x = DayDrivers(0.0, None, CAL_CLOSED)
    assert back.predict(x) == m.predict(x)
    old = {k: v for k, v in blob.items() if k not in ("class_s_kwh", "class_scale_p_value", "class_dof")}
    legacy = BaselineModel.from_dict(old)
    assert legacy.class_s_kwh == {} and legacy.class_scale_p_value == 1.0
    assert legacy.predict(x).se_kwh == pytest.approx(
        m.s_kwh * math.sqrt(1 + np.array([1.0, 0.0, 1.0]) @ np.array(m.xtx_inv) @ np.array([1.0, 0.0, 1.0])))


def test_homoscedastic_classes_keep_the_pooled_scale():
    m = fit_baseline(data_of(plant(seed=11, noise=40.0)))
    assert m.class_s_kwh == {} and m.class_scale_p_value >= 0.01
    assert m.residual_scale([CAL_WORKING, CAL_PARTIAL, CAL_CLOSED]).tolist() == [m.s_kwh] * 3


def test_degree_days_of_a_sinusoidal_day_are_its_mean_degree_hours():
    t = (np.arange(2400) + 0.5) / 2400 * 2 * np.pi
    for mean, swing, base in ((10.0, 5.0, 12.0), (10.0, 5.0, 16.0), (10.0, 5.0, 4.0), (20.0, 0.5, 20.2)):
        hours = mean + swing * np.sin(t)
        assert degree_days(base, mean, swing) == pytest.approx(np.maximum(base - hours, 0).mean(), abs=1e-3)
        assert degree_days(base, mean, swing, heating=False) == pytest.approx(np.maximum(hours - base, 0).mean(),
                                                                             abs=1e-3)
    assert degree_days(15.0, np.array([10.0, 20.0])).tolist() == [5.0, 0.0]     # no swing: the daily mean's


def test_cooling_of_hot_afternoons_is_not_left_to_the_intercept():
    """Cooling driven by the hours above the balance point: with the days' minimum and maximum the model takes
    degree days of a sinusoidal day and finds the base load; from the daily mean alone the hot afternoons of
    mild days inflate the intercept."""
    rng = np.random.default_rng(7)
    n = 365
    doy = np.arange(n)
    mean_t = 12.0 - 10.0 * np.cos(2 * np.pi * doy / 365.0) + rng.normal(0, 2.0, n)
    swing = rng.uniform(3.0, 7.0, n)
    t = (np.arange(96) + 0.5) / 96 * 2 * np.pi
    hours = mean_t[:, None] + swing[:, None] * np.sin(t)[None, :]
    energy = 100.0 + 8.0 * np.maximum(hours - 18.0, 0).mean(axis=1) + rng.normal(0, 2.0, n)
    days = np.datetime64("2025-01-01") + doy
    with_extremes = fit_baseline(DailyData(day=days, energy_kwh=energy, temp_mean_c=mean_t,
                                           temp_min_c=mean_t - swing, temp_max_c=mean_t + swing))
    mean_only = fit_baseline(DailyData(day=days, energy_kwh=energy, temp_mean_c=mean_t))
    assert with_extremes.temp_swing_c > 3.0 and mean_only.temp_swing_c == 0.0
    assert with_extremes.coefficients["intercept_kwh"] == pytest.approx(100.0, abs=1.5)
    assert with_extremes.cv_rmse < mean_only.cv_rmse
    assert BaselineModel.from_dict(json.loads(json.dumps(with_extremes.to_dict()))).temp_swing_c == \
        with_extremes.temp_swing_c
