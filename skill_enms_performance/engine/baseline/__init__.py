"""Daily energy baseline (EnB) of one SEU and energy source: ISO 50006 / ASHRAE Guideline 14 style.

A package in four parts, each importing only those before it: ``data`` (model input, method names and
exclusion reasons, degree days, the design matrix), ``statistics`` (OLS statistics and tests, robust scales,
CUSUMs, savings uncertainty), ``model`` (``BaselineModel`` and its validity verdict) and ``fit``
(``fit_baseline``: candidates, selection, the non-routine-day rule). The M&V arithmetic over reporting periods
is ``engine/mv.py``. Everything public is importable from here.

Data -> model -> predict -> metrics: ``fit_baseline(DailyData)`` returns a ``BaselineModel`` value that
predicts a day (``predict``, ``predict_many``), splits a difference between two days into driver effects
(``decompose``), carries its statistics and validity verdict, and round-trips through JSON
(``to_dict`` / ``from_dict``). Pure numpy/scipy: no database, no OVOS.

Model (one day d)::

    E_d = b0 + bP*P_d + bH*HDD(Th, T_d) + bC*CDD(Tc, T_d) + sum_k g_k*[calendar_d == k] + e_d

with HDD = max(Th - T_d, 0), CDD = max(T_d - Tc, 0) (degree days of the daily mean T_d), or, when the days'
minimum and maximum temperatures are known, the mean degree-hours of a sinusoidal day T_d + A*sin(t) with A
half the baseline's median daily swing (``degree_days``): a day whose mean is below the cooling balance
point but whose afternoon is above it has cooling. Both definitions are candidates (same parameters); the
selection criterion chooses, and the model keeps A as ``temp_swing_c`` (0 = daily mean).

Decisions a reader must know (ISO 50006 and ASHRAE Guideline 14, as the README states them):

* Non-routine days. A day is left out of the fit, with a reason code, when its coverage is below 0.5
  (``low_coverage``), its energy is missing (``missing_energy``) or negative (``negative_energy``), its
  calendar class has fewer than ``min_calendar_days`` usable days (``rare_calendar_class``: a few Saturday
  shifts cannot be modelled), a driver the chosen model needs is missing (``missing_driver``), or it is an
  ``outlier``. Only days that are clearly non-routine leave the fit: a residual farther than 5 robust
  standard deviations (1.4826 * MAD of the residuals) from the median residual of the days of the same
  calendar class under the model being fitted (both sides: a shut-down working day is as non-routine as a
  spike). A 3*IQR fence on the residuals of a possibly misfitted model removed whole seasons of routine
  days and hid the misfit. Per class because noise grows with the day's energy: a closed day's residuals
  are a fraction of a working day's, and one fence over all classes cut ordinary working days. Within a
  class, the median and scale are those of the fitted days of a similar predicted energy (bins of at least
  60 days, at most 4): a winter gas day is not judged by the small residuals of summer days. Where the
  residuals are skewed (a household's heavy right tail of routine high days), the fence of the long side
  lies exp(3*|MC|) times farther out, MC the medcouple of the standardised residuals of all routine days
  (the adjusted boxplot of Hubert & Vandervieren 2008; the short side is not narrowed), counting only the
  part of |MC| beyond its noise at 1 % (2.576 * sqrt(1.25/n), soft thresholding): a symmetric fence cuts
  the routine upper tail of a skewed meter and biases its mean low. A class
  with fewer than 8 fitted days uses the scale of all residuals; a class's scale is never taken below
  0.1 % of the mean daily energy. At most 5 % of the routine days are left out as outliers (the most
  extreme ones): more than that is not an event but a model that does not fit, and shows in the
  statistics. The first fit is made robust by screening per calendar class energy beyond median +/- 3*IQR
  (the baselines.md rule, under the same cap), then fit -> residual rule -> refit is iterated (at most 3
  selections) until the outlier set is stable; a day screened at first but within the rule of the clean
  model is readmitted. ``cv_rmse_routine`` is the CV(RMSE) of the chosen model over all routine days,
  the outliers included (``cv_rmse`` is over the fitted days only).
* Candidates: every subset of {production, HDD, CDD, calendar} plus intercept only, on one common sample
  (days with every available driver). Production is available when it is finite on >= 50 % of the usable
  days (and >= 14 days) and not constant; temperature likewise. Change points by an exhaustive, vectorised
  grid (default Th 5..22 C, Tc 12..30 C, 1 C steps, Tc >= Th): all grid points of all 16 candidates are
  solved as batched normal equations on standardised columns. A degree-day column counts only with
  >= 10 days of non-zero degree days and >= 20 degree days per 365 days of fitting sample (CalTRACK's
  per-year rule; never below 10 days / 20 degree days for shorter baselines). CalTRACK's 20 degree days
  are Fahrenheit degree days: 20/1.8 = 11.1 Celsius degree days here. Grid points where a
  production, HDD or CDD slope is negative are dropped (physical signs).
* Selection by BIC = n*ln(SSE/n) + (p + number of change points)*ln(n) (a balance point is a fitted
  parameter too), or by adjusted R2 (``criterion="adj_r2"``). Walking the candidates in that order, the
  first one passing the DOE EnPI Lite gates (F-test p < 0.10; each driver p < 0.20, at least one < 0.10;
  signs; full rank) is taken; the walk stops at intercept-only (a model that does not beat the mean on
  the criterion is not used even if a test happens to pass). A calendar with several dummies is one
  driver, tested with a partial F-test. p-values are conditional on the chosen change points (as in
  EnPI Lite and Guideline 14). Method names: ``regression`` (any other driver set), ``production_only``,
  ``calendar_mean`` (calendar dummies only = day-type means). No valid driver model -> ``calendar_mean``
  when the baseline has >= 2 calendar classes, else ``mean_30d`` (mean of the last 30 routine days, like
  the level-1 engine). Fewer than 14 usable days -> ``mean_30d`` of what there is; no usable day ->
  ``insufficient_data`` (expected 0, invalid). ``fallback_reason`` says why a fallback was used.
* Drivers are re-fitted on the largest sample the chosen model allows: a day missing only a driver the
  chosen model does not use is readmitted.
* NMBE in-sample is ~0 by construction; ``nmbe_out_of_sample`` (and ``cv_rmse_out_of_sample``) come from a
  blocked k-fold (k = 10 contiguous blocks in day order, same driver set and change points, refitted on
  the other blocks). Contiguous blocks keep autocorrelated neighbours out of the training set, but their
  held-out residuals cancel: the statistic is ~0 even after a step in the last months. The gate that can
  fail is ``forward_bias`` (goal): the model fitted on the first nine tenths predicts the last tenth
  (``forward_nmbe``); it fails when that bias exceeds the NMBE goal and its p-value against the exact
  period band (engine/mv.py) is below 0.01.
* Prediction interval of a day of calendar class c: t(1-a/2, dof_c) * s_c * sqrt(1 + x0'(X'X)^-1 x0) (dof_c
  = the class's own degrees of freedom where s_c is the class's own, else n - p: ``residual_dof``), and
  ``se_kwh`` / standardised residuals with the same s_c. s_c = sqrt(SSres_c / dof_c) with dof_c = the sum
  of (1 - leverage) over the class's fitted days (the classes' dof add up to n - p). It is used
  (``class_s_kwh``) for classes with >= 8 fitted days when a Brown-Forsythe test rejects equal residual
  variance across those classes at 1 %; otherwise, and for smaller classes, s_c is the pooled s
  (``s_kwh``). Coefficients and every reported statistic (R2, CV(RMSE), F, p-values, NMBE) stay the
  ordinary pooled OLS ones.
* n_effective = n(1-rho)/(1+rho), rho = lag-1 autocorrelation of the residuals over pairs of consecutive
  calendar days in the fit; rho <= 0 gives n' = n; n' is never below 2 (or n).
* Validity gates (``validity.gates``): ``min_days`` and ``cv_rmse_ashrae`` are required (ASHRAE Guideline
  14 limit by the length of the REPORTING period the model serves, not of the baseline: 20 % with less
  than 12 months of reporting data, 25 % for 12-60 months, 30 % beyond, months = round(days / 30.4375);
  a fitted model carries the under-a-year limit (a day's verdict), ``validity_for_reporting`` re-judges it
  for a longer savings or summary period; ``ashrae_cv_limit`` overrides); ``cv_rmse_goal`` (15 %) and
  ``nmbe_out_of_sample`` (0.5 %) are goals; ``r2`` >= 0.5, ``baseline_length`` >= 365 days,
  ``missing_days`` <= 10 % are advisory. ``energy_varies`` is required: a baseline of constant energy
  has s = 0 and a zero-width interval that would call any difference significant. Verdict: ``valid``, ``valid_with_warnings``, ``invalid``,
  ``insufficient_data``.
* "Typical day" (``typical_day()``): mean production of the baseline's reference-class (working) days, mean
  daily temperature of the baseline, the reference (working-day) calendar class. Weather effect relative
  to it is zero on a day of average temperature.
  Attribution uses ``decompose_class`` instead: the mean design row of the fitted days of the day's own
  class (``class_mean_design``), whose weather columns are the mean degree days, not the degree days of
  the mean temperature (by convexity the latter are smaller, so a normal year showed a weather effect).
* No NaN or infinity in any result: undefined statistics are 0 (R2 of constant energy), 1 (p-value of an
  intercept-only F-test), capped at +/-1e12 (t and F of a perfect fit).
"""
from __future__ import annotations

from .data import (CAL_CLOSED, CAL_PARTIAL, CAL_WORKING, CALENDAR_MEAN, CDD_COEF, DEFAULT_CALENDAR_LABELS, DRIVERS,
                   HDD_COEF, INSUFFICIENT_DATA, INTERCEPT, LOW_COVERAGE, MEAN_30D, MISSING_DRIVER, MISSING_ENERGY,
                   NEGATIVE_ENERGY, OUTLIER, PRODUCTION_COEF, PRODUCTION_ONLY, RARE_CALENDAR_CLASS, REGRESSION,
                   SIGNED_DRIVERS, DailyData, DayDrivers, DriverRange, ExcludedDay, degree_days)
from .fit import fit_baseline
from .model import BaselineModel, Gate, Prediction, Predictions, Validity, ashrae_cv_limit, validity_for_reporting
from .statistics import (PageCusumResult, _lag1, cusum, fractional_savings_uncertainty, page_cusum,  # noqa: F401
                         prewhiten)

__all__ = [
    "BaselineModel", "DailyData", "DayDrivers", "DriverRange", "ExcludedDay", "Gate", "PageCusumResult",
    "Prediction", "Predictions", "Validity", "cusum", "fit_baseline", "fractional_savings_uncertainty",
    "page_cusum", "prewhiten", "ashrae_cv_limit", "validity_for_reporting", "degree_days", "CAL_WORKING",
    "CAL_PARTIAL", "CAL_CLOSED", "DEFAULT_CALENDAR_LABELS", "REGRESSION", "PRODUCTION_ONLY", "CALENDAR_MEAN",
    "MEAN_30D", "INSUFFICIENT_DATA", "LOW_COVERAGE", "MISSING_ENERGY", "NEGATIVE_ENERGY", "RARE_CALENDAR_CLASS",
    "MISSING_DRIVER", "OUTLIER", "DRIVERS", "SIGNED_DRIVERS", "INTERCEPT", "PRODUCTION_COEF", "HDD_COEF", "CDD_COEF",
]
