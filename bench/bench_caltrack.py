"""CalTRACK daily model (eemeter) against this engine's daily baseline on eemeter's own sample meters.

eemeter is a bench-only dependency: it never enters the runtime or the tests. Its sample data ship inside the
package (nothing is downloaded). Set up the bench environment once, then run:

    python3 -m venv .venv-bench && .venv-bench/bin/pip install eemeter==4.1.1 "pandas<3" pytz holidays
    .venv-bench/bin/python bench/bench_caltrack.py

(``.venv-bench`` is git-ignored.) The engine's model is loaded from the ``engine/baseline/`` package and
``engine/calendar.py`` by path (numpy, scipy and holidays only), so the bench environment needs neither
the skill's OVOS stack nor a database.

Meters: the hourly samples with temperature, 4 simulated Illinois meters (electricity heating + cooling,
electricity cooling only, gas heating only, gas intercept only) and 4 real UK households (3 electricity,
1 gas), each rolled up to UTC days (a day with under half its hours is missing, as CalTRACK and the engine
treat it). Per meter: both models are fitted on the first 365 days that have temperature and predict the
following days (at most 365) without an intervention: the simulated Illinois meters carry a planted saving
from their ``blackout_start_date``, so their prediction stops the day before it; the UK households have no
intervention (their blackout dates are placeholders). Printed side by side: out-of-sample CV(RMSE) =
sqrt(mean(e^2)) / mean(actual) and NMBE = sum(e) / (m * mean(actual)) over the predicted days, the fit time,
and the medians over the meters with the speed ratio (CalTRACK's fit time / ours, measured in this run).
Each side gets what it is built for: CalTRACK its daily data in Fahrenheit with its own data sufficiency
(a disqualified baseline is fitted anyway and marked), the engine its DailyData in Celsius with the calendar
classes the engine gives that country (weekends, public holidays) and each day's minimum and maximum of the
hourly temperatures (what the engine's daily rollups keep), from which it may take degree days of a sinusoidal
day (``baseline.degree_days``). ``--shifted 30`` adds the windows whose baseline starts 30, 60, ... days later
on the meters with data enough (the UK households), so that a change is judged on more than 8 windows.
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "skill_enms_performance" / "engine"

METERS = (
    ("il-electricity-cdd-hdd-hourly", "US"),
    ("il-electricity-cdd-only-hourly", "US"),
    ("il-gas-hdd-only-hourly", "US"),
    ("il-gas-intercept-only-hourly", "US"),
    ("uk-electricity-hdd-only-hourly-sample-0", "GB"),
    ("uk-electricity-hdd-only-hourly-sample-1", "GB"),
    ("uk-electricity-hdd-only-hourly-sample-2", "GB"),
    ("uk-gas-hdd-only-hourly-sample-0", "GB"),
)


def _engine_module(name: str):
    """engine/<name>.py (or the package engine/<name>/) imported as a module of a bare package over engine/ (its __init__, which needs the
    store and the skill's dependencies, is not run; the model modules import numpy, scipy, holidays and
    each other only)."""
    if "enms_bench_engine" not in sys.modules:
        package = types.ModuleType("enms_bench_engine")
        package.__path__ = [str(ENGINE)]
        sys.modules["enms_bench_engine"] = package
    return importlib.import_module(f"enms_bench_engine.{name}")


def daily_frame(name: str):
    """(days as UTC dates, daily energy with NaN for days under half their hours, daily mean temperature in
    Fahrenheit, metadata) of one eemeter sample."""
    import pandas as pd
    from eemeter.eemeter.samples.load import load_sample

    fahrenheit = not name.startswith("uk-")        # the UK samples ship Celsius only
    meter, temp, meta = load_sample(name, tempF=fahrenheit)
    if not fahrenheit:
        temp = temp * 1.8 + 32.0
    value = meter.iloc[:, 0].astype(float)
    hours = value.resample("D").count()
    energy = value.resample("D").sum(min_count=1)
    energy[hours < 12] = np.nan
    hourly_f = temp.astype(float)
    if isinstance(hourly_f, pd.DataFrame):
        hourly_f = hourly_f.iloc[:, 0]
    temp_f = hourly_f.resample("D").mean()
    frame = pd.concat({"energy": energy, "temp_f": temp_f, "temp_min_f": hourly_f.resample("D").min(),
                       "temp_max_f": hourly_f.resample("D").max()}, axis=1)
    return frame, meta


def windows(frame, meta, name: str, shift: int = 0):
    """Baseline = the first 365 days with temperature (``shift`` days later with ``--shifted``); prediction =
    the following days (at most 365), up to the day before a simulated meter's planted intervention."""
    import pandas as pd

    has_temp = frame["temp_f"].notna()
    first = frame.index[has_temp.argmax()] + pd.Timedelta(days=shift)
    base_end = first + pd.Timedelta(days=364)
    pred_end = min(base_end + pd.Timedelta(days=365), frame.index[-1])
    if name.startswith("il-"):
        blackout = pd.Timestamp(meta["blackout_start_date"]).tz_convert(frame.index.tz)
        if blackout > base_end:
            pred_end = min(pred_end, blackout - pd.Timedelta(days=1))
    base = frame.loc[first:base_end]
    pred = frame.loc[base_end + pd.Timedelta(days=1):pred_end]
    return base, pred


def scores(actual: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(actual) & np.isfinite(predicted)
    a, p = actual[ok], predicted[ok]
    mean = float(a.mean())
    e = a - p
    return float(np.sqrt(np.mean(e * e)) / mean), float(e.sum() / (a.size * mean))


def run_caltrack(base, pred, electricity: bool):
    from eemeter.eemeter.models.daily.data import DailyBaselineData, DailyReportingData
    from eemeter.eemeter.models.daily.model import DailyModel

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = DailyBaselineData.from_series(base["energy"], base["temp_f"], is_electricity_data=electricity)
        model = DailyModel().fit(data, ignore_disqualification=True)
    fit_s = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = DailyReportingData.from_series(pred["energy"], pred["temp_f"],
                                                is_electricity_data=electricity)
        out = model.predict(report, ignore_disqualification=True)
    predicted = out["predicted"].reindex(pred.index).to_numpy(dtype=float)
    return predicted, fit_s, bool(data.disqualification)


def run_ours(baseline, calendar, base, pred, country: str, mean_only: bool = False, **fit_kw):
    def data_of(frame):
        days = [d.date() for d in frame.index]
        energy = frame["energy"].to_numpy(dtype=float)
        def celsius(column):
            return (frame[column].to_numpy(dtype=float) - 32.0) / 1.8

        extremes = {} if mean_only else {"temp_min_c": celsius("temp_min_f"), "temp_max_c": celsius("temp_max_f")}
        return baseline.DailyData(day=np.array(days, dtype="datetime64[D]"), energy_kwh=energy,
                                  temp_mean_c=celsius("temp_f"), calendar=calendar.classes(days, country, None),
                                  coverage=np.where(np.isfinite(energy), 1.0, 0.0), **extremes)

    b, p = data_of(base), data_of(pred)
    t0 = time.perf_counter()
    model = baseline.fit_baseline(b, **fit_kw)
    fit_s = time.perf_counter() - t0
    return model.predict_many(p).expected_kwh, fit_s, model


def shifted(baseline, calendar, step: int) -> None:
    """More windows of the same meters: the baseline starts ``step``, 2*``step``, ... days later (up to 390),
    as long as at least 300 baseline days and 60 predicted days have energy and the baseline ends before a
    simulated meter's planted intervention (which leaves those meters none). Printed per window, then the mean
    difference ours - CalTRACK."""
    import pandas as pd

    print(f"\nshifted windows (baseline start + k*{step} days): ours - CalTRACK, CV(RMSE) and |NMBE| in points")
    diffs = []
    for name, country in METERS:
        frame, meta = daily_frame(name)
        for shift in range(step, 391, step):
            base, pred = windows(frame, meta, name, shift)
            if base["energy"].notna().sum() < 300 or pred["energy"].notna().sum() < 60:
                continue
            if name.startswith("il-") and base.index[-1] >= pd.Timestamp(meta["blackout_start_date"]):
                continue      # the baseline would hold the planted saving
            actual = pred["energy"].to_numpy(dtype=float)
            ct_pred, _, _ = run_caltrack(base, pred, "electricity" in name)
            our_pred, _, _ = run_ours(baseline, calendar, base, pred, country)
            (ct_cv, ct_nmbe), (our_cv, our_nmbe) = scores(actual, ct_pred), scores(actual, our_pred)
            diffs.append((our_cv - ct_cv, abs(our_nmbe) - abs(ct_nmbe)))
            print(f"{name:42s} +{shift:3d} d | CalTRACK {100 * ct_cv:5.1f}% {100 * ct_nmbe:+6.1f}% | "
                  f"ours {100 * our_cv:5.1f}% {100 * our_nmbe:+6.1f}%")
    if diffs:
        cv = [d[0] for d in diffs]
        nmbe = [d[1] for d in diffs]
        print(f"{len(diffs)} shifted windows: mean CV(RMSE) difference {100 * statistics.mean(cv):+.2f} points "
              f"(ours lower in {sum(d < 0 for d in cv)}), mean |NMBE| difference {100 * statistics.mean(nmbe):+.2f} "
              f"points (ours lower in {sum(d < 0 for d in nmbe)})")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="fits per meter and model; the fastest counts")
    parser.add_argument("--diagnose", action="store_true",
                        help="also fit ours with no outlier exclusion (how much the outlier rule costs per meter) and "
                             "with degree days of the daily mean only (no daily minimum/maximum)")
    parser.add_argument("--shifted", type=int, default=0, metavar="DAYS",
                        help="also fit windows whose baseline starts DAYS, 2*DAYS, ... (up to 390) days later, on the "
                             "meters with data enough for them, and print the mean differences (e.g. 30)")
    args = parser.parse_args()
    try:
        import eemeter  # noqa: F401
    except ImportError:
        print("eemeter is not installed here: run this bench with .venv-bench (see the module docstring)")
        return 2
    baseline = _engine_module("baseline")
    calendar = _engine_module("calendar")

    rows = []
    print(f"{'meter':42s} {'days':>9s} | {'CalTRACK CV':>11s} {'NMBE':>7s} {'fit s':>7s} | "
          f"{'ours CV':>8s} {'NMBE':>7s} {'fit ms':>7s}  model")
    for name, country in METERS:
        frame, meta = daily_frame(name)
        base, pred = windows(frame, meta, name)
        actual = pred["energy"].to_numpy(dtype=float)
        electricity = "electricity" in name
        ct_times, our_times = [], []
        for _ in range(max(args.repeat, 1)):
            ct_pred, ct_s, disq = run_caltrack(base, pred, electricity)
            our_pred, our_s, model = run_ours(baseline, calendar, base, pred, country)
            ct_times.append(ct_s)
            our_times.append(our_s)
        ct_cv, ct_nmbe = scores(actual, ct_pred)
        our_cv, our_nmbe = scores(actual, our_pred)
        ct_fit, our_fit = min(ct_times), min(our_times)
        rows.append((ct_cv, abs(ct_nmbe), ct_fit, our_cv, abs(our_nmbe), our_fit))
        described = f"{model.method} {'+'.join(model.drivers) or 'mean'}"
        outliers = sum(e.reason == "outlier" for e in model.excluded_days)
        described += f", {outliers} outlier days"
        if args.diagnose:
            rule = baseline.fit._OUTLIER_ROBUST_Z   # the residual rule's threshold, lifted for this fit only
            baseline.fit._OUTLIER_ROBUST_Z = float("inf")
            try:
                open_pred, _, _ = run_ours(baseline, calendar, base, pred, country, outlier_iqr=1e9)
            finally:
                baseline.fit._OUTLIER_ROBUST_Z = rule
            mean_pred, _, _ = run_ours(baseline, calendar, base, pred, country, mean_only=True)
            cv, nmbe = scores(actual, mean_pred)
            described += f"; degree days of the daily mean only {100 * cv:.1f}% {100 * nmbe:+.1f}%"
            cv, nmbe = scores(actual, open_pred)
            described += f"; without outlier exclusion {100 * cv:.1f}% {100 * nmbe:+.1f}%"
        print(f"{name:42s} {len(base):4d}/{len(pred):4d} | {100 * ct_cv:10.1f}% {100 * ct_nmbe:+6.1f}% "
              f"{ct_fit:7.2f}{'*' if disq else ' '}| {100 * our_cv:7.1f}% {100 * our_nmbe:+6.1f}% "
              f"{1000 * our_fit:7.1f}  {described}")
    if args.shifted:
        shifted(baseline, calendar, args.shifted)
    med = [statistics.median(r[i] for r in rows) for i in range(6)]
    ratio = sum(r[2] for r in rows) / sum(r[5] for r in rows)
    print()
    print(f"{'median':42s} {'':9s} | {100 * med[0]:10.1f}% {100 * med[1]:6.1f}% {med[2]:7.2f} | "
          f"{100 * med[3]:7.1f}% {100 * med[4]:6.1f}% {1000 * med[5]:7.1f}")
    print(f"medians: out-of-sample CV(RMSE) CalTRACK {100 * med[0]:.1f} % vs ours {100 * med[3]:.1f} %; "
          f"|NMBE| CalTRACK {100 * med[1]:.1f} % vs ours {100 * med[4]:.1f} %; fit {ratio:.0f}x faster "
          f"(total fit time CalTRACK {sum(r[2] for r in rows):.2f} s, ours {1000 * sum(r[5] for r in rows):.0f} ms)")
    print("(* CalTRACK's own data sufficiency disqualified the baseline; it was fitted anyway)")
    ahead = med[3] <= med[0] and med[4] <= med[1] and ratio >= 100
    print(f"goal (ahead on both medians, fit >= 100x faster): {'met' if ahead else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
