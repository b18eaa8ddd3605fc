"""The fitted baseline as a value: ``BaselineModel`` (predict, decompose, JSON), its predictions, and its
validity verdict with the ASHRAE Guideline 14 gates."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from typing import Any, Mapping

import numpy as np
from scipy import special

from .data import (CALENDAR_MEAN, CDD_COEF, DailyData, DayDrivers, DriverRange, ExcludedDay, HDD_COEF, MEAN_30D,
                   PRODUCTION_COEF, PRODUCTION_ONLY, REGRESSION, _DAYS_PER_MONTH, _contains, _design, _finite, _num)


@dataclasses.dataclass(frozen=True)
class Gate:
    """One validity check: ``value`` compared with ``threshold`` by ``comparison``.

    ``level``: ``required`` (fails the model), ``goal`` or ``advisory`` (warnings).
    """

    name: str
    value: float
    threshold: float
    comparison: str
    passed: bool
    level: str
    reason: str          # the code reported in ``Validity.reasons`` when the gate fails


@dataclasses.dataclass(frozen=True)
class Validity:
    valid: bool
    verdict: str                      # valid | valid_with_warnings | invalid | insufficient_data
    reasons: tuple[str, ...]          # codes of the failed gates (all levels)
    gates: tuple[Gate, ...]


@dataclasses.dataclass(frozen=True)
class Prediction:
    """Expected energy of one day with its prediction interval at ``confidence`` (two-sided)."""

    expected_kwh: float
    lower_kwh: float
    upper_kwh: float
    half_width_kwh: float
    se_kwh: float                     # standard error of prediction: s_c * sqrt(1 + x0'(X'X)^-1 x0)
    dof: int
    confidence: float
    in_range: dict[str, bool]         # per model driver: within the baseline's range (or 3 sigma)
    imputed_drivers: tuple[str, ...] = ()   # drivers missing in the input, replaced by the typical day's

    @property
    def all_in_range(self) -> bool:
        return all(self.in_range.values())

    @property
    def reliable(self) -> bool:
        """Every driver known and inside the model's range."""
        return self.all_in_range and not self.imputed_drivers

    def is_significant(self, actual_kwh: float) -> bool:
        """The actual value lies outside the prediction interval."""
        return bool(actual_kwh < self.lower_kwh or actual_kwh > self.upper_kwh)


@dataclasses.dataclass(frozen=True, eq=False)
class Predictions:
    """``predict_many`` result: one entry per day of the input (input order after sorting by day).

    ``residual_kwh`` = actual - expected and ``standardised_residual`` = residual / se_kwh are 0.0 where
    the input energy is missing (``has_actual`` False), so they never hold NaN.
    """

    day: np.ndarray
    expected_kwh: np.ndarray
    lower_kwh: np.ndarray
    upper_kwh: np.ndarray
    se_kwh: np.ndarray
    in_range: np.ndarray              # bool: every model driver of that day within range
    imputed: np.ndarray               # bool: a needed driver was missing and replaced by the typical value
    has_actual: np.ndarray
    residual_kwh: np.ndarray
    standardised_residual: np.ndarray
    confidence: float

    @property
    def significant(self) -> np.ndarray:
        """Days whose actual energy lies outside the prediction interval."""
        return self.has_actual & ((self.residual_kwh > self.upper_kwh - self.expected_kwh)
                                  | (self.residual_kwh < self.lower_kwh - self.expected_kwh))


# ============================================================================================
# The model
# ============================================================================================
@dataclasses.dataclass(frozen=True)
class BaselineModel:
    """A fitted daily energy baseline. Coefficients are in design order: intercept, production, HDD,
    CDD, calendar dummies (``calendar_<label>_kwh``, relative to ``calendar_reference``)."""

    method: str
    drivers: tuple[str, ...]
    coefficients: dict[str, float]
    std_errors: dict[str, float]
    t_stats: dict[str, float]
    p_values: dict[str, float]
    driver_p_values: dict[str, float]
    heating_balance_c: float | None
    cooling_balance_c: float | None
    calendar_labels: dict[int, str]
    calendar_reference: int
    calendar_classes: tuple[int, ...]
    calendar_seen: tuple[int, ...]        # calendar classes present among the fitted days
    n: int
    n_effective: float
    p: int
    residual_autocorrelation: float
    r2: float
    adj_r2: float
    cv_rmse: float
    nmbe: float
    nmbe_out_of_sample: float
    cv_rmse_out_of_sample: float
    f_stat: float
    f_p_value: float
    s_kwh: float
    mean_energy_kwh: float
    bic: float
    confidence: float
    xtx_inv: tuple[tuple[float, ...], ...]
    driver_ranges: dict[str, DriverRange]
    typical: DayDrivers
    excluded_days: tuple[ExcludedDay, ...]
    baseline_start: dt.date | None
    baseline_end: dt.date | None
    days_in_period: int
    days_missing: int
    validity: Validity
    fallback_reason: str | None = None
    candidates: tuple[dict[str, Any], ...] = ()
    #: residual scale (kWh) per calendar class where it differs from the pooled ``s_kwh``; a class not
    #: listed uses ``s_kwh`` (see ``residual_scale``)
    class_s_kwh: dict[int, float] = dataclasses.field(default_factory=dict)
    #: Brown-Forsythe test of equal residual variance across the calendar classes (1.0 = not tested)
    class_scale_p_value: float = 1.0
    #: degrees of freedom of each ``class_s_kwh`` (the sum of 1 - leverage over the class's fitted days): a
    #: day judged with its class's s takes its t quantile with these, not with the pooled n - p
    class_dof: dict[int, float] = dataclasses.field(default_factory=dict)
    #: (day numbers, residuals kWh) of the fitted days, in memory only (not in ``to_dict``, not compared): the
    #: plant's uncertainty estimates the correlation of SEUs' residuals from them (``mv.plant_uncertainty``)
    fitted_residuals: tuple = dataclasses.field(default=(), compare=False, repr=False)
    #: forward holdout: the model fitted on all but the last tenth of the fitted days predicts that tenth
    #: (NMBE of the holdout, and the two-sided p-value of its bias against the period band; 1.0 = not run)
    forward_nmbe: float = 0.0
    forward_bias_p_value: float = 1.0
    #: mean design row of the fitted days of each calendar class: the typical day of that class, with the
    #: mean of its degree days (not the degree days of the mean temperature)
    class_mean_design: dict[int, tuple[float, ...]] = dataclasses.field(default_factory=dict)
    #: CV(RMSE) of the model over all routine days, the days left out as outliers included (``cv_rmse`` is
    #: over the fitted days): a model that only fits after leaving days out shows it here
    cv_rmse_routine: float = 0.0
    #: half the typical daily temperature swing (C) the degree days are computed with (0 = degree days of
    #: the daily mean): see ``degree_days``
    temp_swing_c: float = 0.0

    # --- derived ----------------------------------------------------------------------------
    @property
    def valid(self) -> bool:
        return self.validity.valid

    @property
    def dof(self) -> int:
        return max(self.n - self.p, 1)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.coefficients)

    @functools.cached_property
    def _beta(self) -> np.ndarray:
        return np.array(list(self.coefficients.values()), dtype=float)

    @functools.cached_property
    def _cinv(self) -> np.ndarray:
        return np.array(self.xtx_inv, dtype=float).reshape(len(self.coefficients), len(self.coefficients))

    def t_value(self, confidence: float | None = None) -> float:
        conf = self.confidence if confidence is None else confidence
        return float(special.stdtrit(self.dof, 0.5 + conf / 2.0))

    def residual_dof(self, calendar: Any) -> np.ndarray:
        """Degrees of freedom of ``residual_scale`` for days of class(es) ``calendar``: the class's own
        (``class_dof``) where it has its own s, else the pooled n - p."""
        c = np.asarray(calendar).astype(np.int64).reshape(-1)
        d = np.full(c.size, float(self.dof))
        for code in self.class_s_kwh:
            if code in self.class_dof:
                d[c == code] = max(float(self.class_dof[code]), 1.0)
        return d

    def residual_scale(self, calendar: Any) -> np.ndarray:
        """Residual standard deviation (kWh) of days of calendar class(es) ``calendar``: the class's own
        ``class_s_kwh`` where the model has one, else the pooled ``s_kwh``."""
        c = np.asarray(calendar).astype(np.int64).reshape(-1)
        s = np.full(c.size, float(self.s_kwh))
        for code, value in self.class_s_kwh.items():
            s[c == code] = value
        return s

    def typical_day(self) -> DayDrivers:
        """Mean production of the baseline's working (reference-class) days, mean baseline temperature,
        working-day calendar."""
        return self.typical

    def design_matrix(self, production: Any, temp_mean_c: Any, calendar: Any) -> np.ndarray:
        """The model's design rows for arrays of drivers (no imputation: NaN in, NaN out)."""
        p = np.asarray(production, dtype=float).reshape(-1)
        t = np.asarray(temp_mean_c, dtype=float).reshape(-1)
        c = np.asarray(calendar).astype(np.int64).reshape(-1)
        return _design(self.drivers, self.heating_balance_c, self.cooling_balance_c, self.calendar_classes,
                       p, t, c, self.temp_swing_c)

    # --- prediction ---------------------------------------------------------------------------
    def _prepare(self, production: np.ndarray, temp: np.ndarray, calendar: np.ndarray):
        """Impute missing needed drivers with the typical day's and flag ranges (vectorised)."""
        n = calendar.size
        imputed = np.zeros(n, dtype=bool)
        in_range: dict[str, np.ndarray] = {}
        if "production" in self.drivers:
            miss = ~np.isfinite(production)
            fill = _num(self.typical.production)
            production = np.where(miss, fill if math.isfinite(fill) else 0.0, production)
            imputed |= miss
            in_range["production"] = _contains(self.driver_ranges.get("production"), production) | miss
        if "hdd" in self.drivers or "cdd" in self.drivers:
            miss = ~np.isfinite(temp)
            fill = _num(self.typical.temp_mean_c)
            temp = np.where(miss, fill if math.isfinite(fill) else 0.0, temp)
            imputed |= miss
            in_range["temp_mean_c"] = _contains(self.driver_ranges.get("temp_mean_c"), temp) | miss
        if self.calendar_seen:
            in_range["calendar"] = np.isin(calendar, self.calendar_seen)
        return production, temp, calendar, imputed, in_range

    def _interval(self, X: np.ndarray, confidence: float | None, calendar: np.ndarray):
        expected = X @ self._beta
        lev = np.einsum("ij,jk,ik->i", X, self._cinv, X)
        se = self.residual_scale(calendar) * np.sqrt(np.maximum(1.0 + lev, 0.0))
        conf = self.confidence if confidence is None else confidence
        # t with the degrees of freedom of the s used: a class's own s has its own (smaller) dof
        half = special.stdtrit(self.residual_dof(calendar), 0.5 + conf / 2.0) * se
        return expected, se, half

    def predict(self, x: DayDrivers, confidence: float | None = None) -> Prediction:
        """Expected kWh of a day with drivers ``x`` and its prediction interval."""
        production, temp, calendar, imputed, in_range = self._prepare(
            np.array([_num(x.production)]), np.array([_num(x.temp_mean_c)]), np.array([int(x.calendar)]))
        X = self.design_matrix(production, temp, calendar)
        expected, se, half = self._interval(X, confidence, calendar)
        e, h = float(expected[0]), float(half[0])
        names = []
        if imputed[0]:
            names = [d for d, v in (("production", x.production), ("temp_mean_c", x.temp_mean_c))
                     if (d in in_range) and not math.isfinite(_num(v))]
        return Prediction(expected_kwh=e, lower_kwh=e - h, upper_kwh=e + h, half_width_kwh=h,
                          se_kwh=float(se[0]), dof=int(self.residual_dof(calendar)[0]),
                          confidence=float(self.confidence if confidence is None else confidence),
                          in_range={k: bool(v[0]) for k, v in in_range.items()}, imputed_drivers=tuple(names))

    def predict_many(self, data: DailyData, confidence: float | None = None) -> Predictions:
        """Vectorised ``predict`` over the days of ``data`` (sorted by day)."""
        production, temp, calendar, imputed, in_range = self._prepare(
            data.production.copy(), data.temp_mean_c.copy(), data.calendar.copy())
        X = self.design_matrix(production, temp, calendar)
        expected, se, half = self._interval(X, confidence, calendar)
        ok = np.ones(calendar.size, dtype=bool)
        for v in in_range.values():
            ok &= v
        has = np.isfinite(data.energy_kwh)
        resid = np.where(has, data.energy_kwh - expected, 0.0)
        z = np.where(has & (se > 0), resid / np.where(se > 0, se, 1.0), 0.0)
        return Predictions(day=data.day.copy(), expected_kwh=expected, lower_kwh=expected - half,
                           upper_kwh=expected + half, se_kwh=se, in_range=ok, imputed=imputed, has_actual=has,
                           residual_kwh=resid, standardised_residual=z,
                           confidence=float(self.confidence if confidence is None else confidence))

    # --- attribution --------------------------------------------------------------------------
    def decompose(self, x: DayDrivers, reference: DayDrivers | None = None,
                  actual_kwh: float | None = None) -> dict[str, float]:
        """Split model(x) - model(reference) into production, weather (HDD + CDD) and calendar effects.

        Exact and additive (linear model): ``expected_kwh - reference_kwh == production_effect_kwh +
        weather_effect_kwh + calendar_effect_kwh``. ``reference`` defaults to ``typical_day()``. A driver
        missing in either day is taken from the typical day (its effect is then zero for that side). With
        ``actual_kwh``: ``unexplained_kwh = actual_kwh - expected_kwh``.
        """
        reference = self.typical if reference is None else reference
        return self._decompose_rows(self._row(x), self._row(reference), actual_kwh)

    def decompose_class(self, x: DayDrivers, actual_kwh: float | None = None) -> dict[str, float]:
        """``decompose`` against the typical day of x's own calendar class: the mean design row of the
        baseline's days of that class (mean production, mean degree days), so that an ordinary Saturday
        is not "reduced production" and a normal year shows no weather effect on average. A class the
        baseline has not seen falls back to ``typical_day()``. Adds ``reference_production``."""
        row = self.class_mean_design.get(int(x.calendar))
        ref = np.array(row, dtype=float) if row is not None and len(row) == len(self.coefficients) \
            else self._row(self.typical)
        out = self._decompose_rows(self._row(x), ref, actual_kwh)
        if PRODUCTION_COEF in self.coefficients:
            out["reference_production"] = float(ref[self.columns.index(PRODUCTION_COEF)])
        return out

    def _row(self, day: DayDrivers) -> np.ndarray:
        production, temp, calendar, _, _ = self._prepare(
            np.array([_num(day.production)]), np.array([_num(day.temp_mean_c)]), np.array([int(day.calendar)]))
        return self.design_matrix(production, temp, calendar)[0]

    def _decompose_rows(self, row_x: np.ndarray, row_ref: np.ndarray, actual_kwh: float | None) -> dict[str, float]:
        rows = [row_x, row_ref]
        diff = (rows[0] - rows[1]) * self._beta
        effects = {"production": 0.0, "weather": 0.0, "calendar": 0.0}
        for name, value in zip(self.columns, diff, strict=True):
            if name == PRODUCTION_COEF:
                effects["production"] += value
            elif name in (HDD_COEF, CDD_COEF):
                effects["weather"] += value
            elif name.startswith("calendar_"):
                effects["calendar"] += value
        expected = float(rows[0] @ self._beta)
        ref = float(rows[1] @ self._beta)
        out = {"expected_kwh": expected, "reference_kwh": ref, "difference_kwh": expected - ref,
               "production_effect_kwh": float(effects["production"]),
               "weather_effect_kwh": float(effects["weather"]),
               "calendar_effect_kwh": float(effects["calendar"])}
        if actual_kwh is not None and math.isfinite(actual_kwh):
            out["actual_kwh"] = float(actual_kwh)
            out["unexplained_kwh"] = float(actual_kwh) - expected
        return out

    # --- JSON --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (dates as ISO strings, int keys as strings)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "fitted_residuals":
                continue
            v = getattr(self, f.name)
            if f.name == "calendar_labels":
                v = {str(k): s for k, s in v.items()}
            elif f.name == "driver_ranges":
                v = {k: dataclasses.asdict(r) for k, r in v.items()}
            elif f.name == "typical":
                v = v.to_dict()
            elif f.name == "excluded_days":
                v = [{"date": e.date.isoformat(), "reason": e.reason, "energy_kwh": e.energy_kwh,
                      "detail": e.detail} for e in v]
            elif f.name == "validity":
                v = {"valid": v.valid, "verdict": v.verdict, "reasons": list(v.reasons),
                     "gates": [dataclasses.asdict(g) for g in v.gates]}
            elif isinstance(v, dt.date):
                v = v.isoformat()
            elif f.name == "xtx_inv":
                v = [list(r) for r in v]
            elif f.name == "candidates":
                v = [dict(c) for c in v]
            elif f.name in ("class_s_kwh", "class_dof"):
                v = {str(k): float(x) for k, x in sorted(v.items())}
            elif f.name == "class_mean_design":
                v = {str(k): [float(x) for x in r] for k, r in sorted(v.items())}
            elif isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, dict):
                v = dict(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "BaselineModel":
        kw = dict(d)
        kw["drivers"] = tuple(kw["drivers"])
        kw["calendar_labels"] = {int(k): str(s) for k, s in kw["calendar_labels"].items()}
        kw["calendar_classes"] = tuple(int(c) for c in kw["calendar_classes"])
        kw["calendar_seen"] = tuple(int(c) for c in kw.get("calendar_seen", ()))
        kw["xtx_inv"] = tuple(tuple(float(x) for x in r) for r in kw["xtx_inv"])
        kw["driver_ranges"] = {k: DriverRange(**r) for k, r in kw["driver_ranges"].items()}
        kw["typical"] = DayDrivers.from_dict(kw["typical"])
        kw["excluded_days"] = tuple(ExcludedDay(date=dt.date.fromisoformat(e["date"]), reason=e["reason"],
                                                energy_kwh=e.get("energy_kwh"), detail=e.get("detail", ""))
                                    for e in kw["excluded_days"])
        v = kw["validity"]
        kw["validity"] = Validity(valid=bool(v["valid"]), verdict=v["verdict"], reasons=tuple(v["reasons"]),
                                  gates=tuple(Gate(**g) for g in v["gates"]))
        for k in ("baseline_start", "baseline_end"):
            kw[k] = dt.date.fromisoformat(kw[k]) if kw.get(k) else None
        kw["candidates"] = tuple(dict(c) for c in kw.get("candidates", ()))
        kw["class_s_kwh"] = {int(k): float(x) for k, x in (kw.get("class_s_kwh") or {}).items()}
        kw["class_scale_p_value"] = float(kw.get("class_scale_p_value", 1.0))
        kw["class_dof"] = {int(k): float(x) for k, x in (kw.get("class_dof") or {}).items()}
        kw["class_mean_design"] = {int(k): tuple(float(x) for x in r)
                                   for k, r in (kw.get("class_mean_design") or {}).items()}
        known = {f.name for f in dataclasses.fields(cls)} - {"fitted_residuals"}
        return cls(**{k: v for k, v in kw.items() if k in known})


def ashrae_cv_limit(reporting_days: int | None = None, override: float | None = None) -> float:
    """ASHRAE Guideline 14 whole-facility regression limit on the baseline's CV(RMSE) for energy use, by the
    length of the REPORTING (post-retrofit) period the baseline is used for: 20 % with less than 12 months of
    reporting data, 25 % with 12 to 60 months, 30 % beyond (months = round(days / 30.4375)). The limit is
    relaxed as reporting data accumulate because the noise of a longer sum averages out; the baseline's
    own length plays no part. ``None`` (a day's verdict, any period under a year) gives 20 %; ``override``
    wins when given."""
    if override is not None:
        return float(override)
    if reporting_days is None:
        return 0.20
    months = round(int(reporting_days) / _DAYS_PER_MONTH)
    return 0.20 if months < 12 else 0.25 if months <= 60 else 0.30


_limit_of_reporting = ashrae_cv_limit     # fit_baseline's argument of the same name shadows it there


def validity_for_reporting(validity: Validity, reporting_days: int | None,
                           override: float | None = None) -> Validity:
    """``validity`` with its ``cv_rmse_ashrae`` gate judged against the limit of a reporting period of
    ``reporting_days`` days (``ashrae_cv_limit``) and the verdict recomputed; every other gate unchanged."""
    limit = ashrae_cv_limit(reporting_days, override)
    gates = tuple(dataclasses.replace(g, threshold=limit, passed=g.value <= limit) if g.name == "cv_rmse_ashrae"
                  else g for g in validity.gates)
    if gates == validity.gates:
        return validity
    return _verdict(gates)


def _validity(*, method, n, cv, nmbe_oos, r2, fwd=(0.0, 1.0), f_p, group_p, days_in_period, days_missing, min_days, cv_goal,
              ashrae, nmbe_goal, constant) -> Validity:
    gates = [Gate("min_days", float(n), float(min_days), ">=", n >= min_days, "required", "too_few_days"),
             Gate("cv_rmse_ashrae", cv, ashrae, "<=", cv <= ashrae, "required", "cv_rmse_above_ashrae_limit")]
    significant = bool(group_p) and f_p < 0.10 and all(v < 0.20 for v in group_p.values()) \
        and min(group_p.values()) < 0.10
    if method in (REGRESSION, PRODUCTION_ONLY, CALENDAR_MEAN) and group_p:
        gates.append(Gate("significance", f_p, 0.10, "<", significant,
                          "advisory" if method == CALENDAR_MEAN else "required", "model_not_significant"))
    gates += [Gate("cv_rmse_goal", cv, cv_goal, "<=", cv <= cv_goal, "goal", "cv_rmse_above_goal"),
              Gate("nmbe_out_of_sample", abs(nmbe_oos), nmbe_goal, "<=", abs(nmbe_oos) <= nmbe_goal, "goal",
                   "nmbe_out_of_sample_above_goal"),
              # the blocked folds' NMBE cannot fail (held-out residuals cancel); the forward holdout can
              Gate("forward_bias", abs(fwd[0]), nmbe_goal, "<=", not (fwd[1] < 0.01 and abs(fwd[0]) > nmbe_goal),
                   "goal", "forward_holdout_biased"),
              Gate("r2", r2, 0.5, ">=", r2 >= 0.5, "advisory", "r2_below_0_5"),
              Gate("baseline_length", float(days_in_period), 365.0, ">=", days_in_period >= 365, "advisory",
                   "baseline_shorter_than_365_days"),
              Gate("missing_days", days_missing / max(days_in_period, 1), 0.10, "<=",
                   days_missing <= 0.10 * days_in_period, "advisory", "more_than_10pct_days_missing")]
    if method in (CALENDAR_MEAN, MEAN_30D):
        # a day-type or 30-day mean explains nothing: say so
        gates.append(Gate("driver_model", float(significant), 1.0, ">=", method == CALENDAR_MEAN and significant,
                          "advisory", "fallback_model"))
    if constant:
        # a baseline that never varied has s = 0: a zero-width interval would call any difference significant
        gates.append(Gate("energy_varies", 0.0, 0.0, ">", False, "required", "constant_energy"))
    return _verdict(tuple(dataclasses.replace(g, value=_finite(g.value)) for g in gates))


def _verdict(gates: tuple[Gate, ...]) -> Validity:
    """The verdict of a set of gates: a failed ``min_days`` gate is ``insufficient_data``, any other failed
    required gate ``invalid``, failed goals or advisories ``valid_with_warnings``."""
    failed = [g for g in gates if not g.passed]
    reasons = tuple(g.reason for g in failed)
    if any(g.name == "min_days" for g in failed):
        verdict = "insufficient_data"
    elif any(g.level == "required" for g in failed):
        verdict = "invalid"
    elif failed:
        verdict = "valid_with_warnings"
    else:
        verdict = "valid"
    return Validity(valid=verdict in ("valid", "valid_with_warnings"), verdict=verdict, reasons=reasons,
                    gates=tuple(gates))
