"""Detectors of savings opportunities: pure functions of rollup data and a fitted baseline.

Each detector returns findings with the evidence a person can check; the engine prices them
at the SEU's tariff, adds CO2, effort and ROI, ranks them by value and removes double counts
(an idle-running finding explains the residual rise it causes).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any, Sequence

import numpy as np
from scipy import special

from .baseline import page_cusum, prewhiten


@dataclasses.dataclass
class Finding:
    kind: str                       # idle_running | drift | off_hours
    start: dt.date | None
    end: dt.date | None             # None: still going on
    kwh_per_week: float
    confidence: float               # evidence score 0..1, not a probability (see ``Opportunity.confidence``)
    evidence: dict[str, Any]
    p_value: float | None = None    # one-sided p-value of the finding's test, None where there is none


def _median(values: np.ndarray, default: float = 0.0) -> float:
    return float(np.median(values)) if values.size else default


def idle_running(days: Sequence[dt.date], hours: np.ndarray, energy: np.ndarray, production: np.ndarray,
                 working: Sequence[bool], period_start: dt.date) -> Finding | None:
    """Hours the machine draws idle power but produces nothing.

    The idle level is learned from the machine's own hours: the intercept of hourly energy
    regressed on hourly production over producing hours (what it draws running unloaded); the
    standby level is the lower quartile of non-producing hours. A non-producing hour counts as
    idle running above the midpoint of the two. The start date is the change point of the daily
    idle hours (CUSUM); savings = idle hours x (idle - standby) energy, per week.
    """
    producing = production > 0
    quiet = ~producing & np.isfinite(energy)
    if producing.sum() < 48 or quiet.sum() < 48:
        return None
    x, y = production[producing], energy[producing]
    slope, intercept = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.mean(y)))
    standby = float(np.percentile(energy[quiet], 25))
    idle_level = float(intercept)
    if idle_level <= standby * 1.5 + 0.1:
        return None
    threshold = standby + 0.5 * (idle_level - standby)
    idle = quiet & (energy > threshold)
    day_index = {d: i for i, d in enumerate(sorted(set(days)))}
    ordered = sorted(day_index)
    per_day_hours = np.zeros(len(ordered))
    per_day_kwh = np.zeros(len(ordered))
    hour_counts = np.zeros(24)
    for d, h, e, flag in zip(days, hours, energy, idle, strict=True):
        if flag:
            per_day_hours[day_index[d]] += 1
            per_day_kwh[day_index[d]] += e - standby
            hour_counts[int(h)] += 1
    work = np.array([working[i] for i in range(len(ordered))], dtype=bool) if len(working) == len(ordered) \
        else np.ones(len(ordered), dtype=bool)
    if not work.any():
        return None
    z = (per_day_hours - np.mean(per_day_hours[work][: max(7, work.sum() // 4)])) / max(np.std(per_day_hours), 0.25)
    z = np.where(work, z, 0.0)
    alarm, start_i = page_cusum(z, k=0.5, h=4.0, side="upper")
    start = ordered[start_i] if alarm is not None and start_i is not None else None
    since = np.array([d >= (start or ordered[0]) for d in ordered]) & np.array([d >= period_start for d in ordered])
    window = since & work
    if window.sum() < 3:
        return None
    hours_per_day = float(np.mean(per_day_hours[window]))
    if hours_per_day < 0.5:
        return None
    kwh_per_working_day = float(np.mean(per_day_kwh[window]))
    working_share = float(np.mean(work))
    kwh_per_week = kwh_per_working_day * 7.0 * working_share
    top_hours = [int(h) for h in np.argsort(hour_counts)[::-1][:3] if hour_counts[h] > 0]
    spread = float(np.std(per_day_hours[window]) / math.sqrt(window.sum()))
    confidence = float(min(1.0, max(0.0, 1.0 - math.exp(-hours_per_day / max(spread, 0.05)))))
    # mean idle hours against their standard error (normal): probability of this many by chance
    p_value = float(special.ndtr(-hours_per_day / max(spread, 1e-9)))
    return Finding("idle_running", start, None, kwh_per_week, round(confidence, 3), p_value=float(f"{p_value:.4g}"),
                   evidence={
        "idle_hours_per_working_day": round(hours_per_day, 2),
        "idle_kwh_per_working_day": round(kwh_per_working_day, 2),
        "typical_hours": sorted(top_hours),
        "idle_power_kw": round(idle_level, 2), "standby_power_kw": round(standby, 2),
        "threshold_kw": round(threshold, 2), "days": int(window.sum()),
    })


def residual_episodes(days: Sequence[dt.date], residual_kwh: np.ndarray, se_kwh: np.ndarray,
                      mean_energy_kwh: float, rho: float = 0.0) -> list[Finding]:
    """Persistent rises of the normalised residual (actual - baseline) with start and end dates.

    Page CUSUM (k = 0.5, h = 5) on standardised residuals finds the start; the episode lasts
    until the 7-day mean of standardised residuals falls below 0.5 (a week back to normal),
    and its first and last days are those with z >= 1. An episode must be worth at least 2 % of
    a mean day, shift the residual by at least 2 standard errors on average, and be significant
    (mean z times the square root of its effective length above 4.5).

    ``rho``: lag-1 autocorrelation of the baseline residuals. The CUSUM runs on residuals prewhitened
    with it, and the effective length is length * (1 - rho)/(1 + rho): autocorrelated days are not
    independent evidence (without this an event-free SEU raised a finding in a sizeable share of
    120-day windows at rho 0.5-0.7; see tests/test_mv.py).
    """
    z = np.where(se_kwh > 0, residual_kwh / np.where(se_kwh > 0, se_kwh, 1.0), 0.0)
    r = min(max(float(rho), 0.0), 0.95)
    w = prewhiten(z, r)
    shrink = (1.0 - r) / (1.0 + r)
    out: list[Finding] = []
    offset = 0
    n = len(days)
    while offset < n - 3:
        alarm, start_i = page_cusum(w[offset:], k=0.5, h=5.0, side="upper")
        if alarm is None or start_i is None:
            break
        start = offset + start_i
        end = n - 1
        for i in range(start + 7, n):
            if float(np.mean(z[i - 6:i + 1])) < 0.5:
                end = i - 6
                break
        scan_end = end
        while start < end and z[start] < 1.0:  # the CUSUM run may begin a little early or end late
            start += 1
        while end > start and z[end] < 1.0:
            end -= 1
        seg = slice(start, end + 1)
        length = end - start + 1
        mean_kwh = float(np.mean(residual_kwh[seg]))
        mean_z = float(np.mean(z[seg]))
        if mean_kwh >= 0.02 * mean_energy_kwh and mean_z >= 2.0 and mean_z * math.sqrt(length * shrink) > 4.5:
            ongoing = scan_end == n - 1
            out.append(Finding("drift", days[start], None if ongoing else days[end], mean_kwh * 7.0,
                               round(float(1.0 - math.exp(-mean_z * math.sqrt(length) / 3.0)), 3),
                               p_value=float(f"{float(special.ndtr(-mean_z * math.sqrt(length * shrink))):.4g}"),
                               evidence={
                                   "excess_kwh_per_day": round(mean_kwh, 2), "days": length,
                                   "mean_standardised_residual": round(mean_z, 2), "ongoing": ongoing}))
        offset = scan_end + 1
    return out


def off_hours(energy: np.ndarray, production: np.ndarray, off_pattern: np.ndarray, in_period: np.ndarray
              ) -> Finding | None:
    """Energy outside the factory's working pattern above the machine's own standby level.

    Standby = the 10th percentile of off-pattern hours over the window; an opportunity when the
    off-pattern energy above standby in the period is more than 10 % of the period's energy."""
    mask = off_pattern & np.isfinite(energy) & ~(production > 0)
    if mask.sum() < 48:
        return None
    standby = float(np.percentile(energy[mask], 10))
    period_mask = mask & in_period
    excess = float(np.sum(np.maximum(energy[period_mask] - standby, 0.0)))
    total = float(np.nansum(energy[in_period]))
    weeks = max(in_period.sum() / 168.0, 1e-9)
    if total <= 0 or excess < 0.10 * total:
        return None
    # evidence score (formerly a fixed 0.7): the share of the period's weeks that show the excess themselves
    idx = np.flatnonzero(in_period)
    week_of = (idx - idx[0]) // 168 if idx.size else idx
    shows = []
    for w in np.unique(week_of):
        hours = idx[week_of == w]
        week_total = float(np.nansum(energy[hours]))
        week_excess = float(np.sum(np.maximum(energy[hours][mask[hours]] - standby, 0.0)))
        shows.append(week_total > 0 and week_excess >= 0.10 * week_total)
    score = float(np.mean(shows)) if shows else 0.0
    return Finding("off_hours", None, None, excess / weeks, round(score, 3), evidence={
        "off_hours_kwh_above_standby": round(excess, 1), "share_of_energy": round(excess / total, 3),
        "standby_power_kw": round(standby, 2)})


def _lower_quartile(part: np.ndarray) -> np.ndarray:
    """Per column, the 25th percentile of the finite values (linear interpolation, as ``np.nanpercentile``, which
    is ten times slower on a grid with a few missing hours); NaN where a column has none."""
    ordered = np.sort(part, axis=0)  # NaN sorts last
    valid = np.isfinite(part).sum(axis=0)
    pos = 0.25 * np.maximum(valid - 1, 0)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, np.maximum(valid - 1, 0))
    cols = np.arange(part.shape[1])
    low, high = ordered[lo, cols], ordered[hi, cols]
    out = low + (pos - lo) * np.where(hi > lo, high - low, 0.0)
    return np.where(valid > 0, out, np.nan)


def out_of_hours_running(days: Sequence[dt.date], hours: Sequence[int], energy: np.ndarray,
                         day_class: dict[dt.date, int], period_start: dt.date, mean_energy_kwh: float
                         ) -> Finding | None:
    """A machine without production data that starts running in hours it is normally off (a ventilation left on
    through the night, a heater on over weekends), with the start date, the hours and the energy.

    The machine's own pattern says which hours are off: per calendar class and local hour, the lower quartile of
    the window's days (robust to a change that covers up to three quarters of the window) is the hour's usual
    level, and an hour is off where that level stays in the lowest quarter of the machine's range (10th to 90th
    percentile of all hours). An off hour runs when it is a quarter of that range above its usual level; each
    day's out-of-hours excess is the energy of its running off hours above their usual level. A Page CUSUM on the excess, standardised against the window's first quarter (level) and first half
    (day-to-day spread), finds the start; the episode ends when a week is back to normal. It must be worth 2 % of
    a mean day and be significant (mean z times the square root of its length above 4.5)."""
    e = np.asarray(energy, dtype=float)
    ok = np.isfinite(e)
    if ok.sum() < 14 * 24:
        return None
    floor, top = float(np.percentile(e[ok], 10)), float(np.percentile(e[ok], 90))
    if top - floor <= 1e-9:
        return None
    ordinals, row = np.unique(np.fromiter((d.toordinal() for d in days), dtype=np.int64, count=len(days)),
                              return_inverse=True)
    ordered = [dt.date.fromordinal(int(o)) for o in ordinals]
    col = np.asarray(hours, dtype=np.int64) % 24
    grid = np.zeros((len(ordered), 24))
    seen = np.zeros((len(ordered), 24), dtype=bool)
    np.add.at(grid, (row[ok], col[ok]), e[ok])  # the repeated hour of a DST day adds to its hour
    seen[row[ok], col[ok]] = True
    grid[~seen] = np.nan
    cls = np.array([day_class.get(d, -1) for d in ordered])
    usual = np.full((len(ordered), 24), np.nan)
    off = np.zeros((len(ordered), 24), dtype=bool)
    for c in np.unique(cls):
        rows = cls == c
        if rows.sum() < 4:
            continue
        level = _lower_quartile(grid[rows])
        usual[rows] = level
        off[rows] = level < floor + 0.25 * (top - floor)
    # an off hour runs when it is a quarter of the machine's range above its usual level: the slow rise of a
    # heating or cooling load with the season stays below that and is the baseline's business, not this one's
    rise = np.where(off & np.isfinite(grid), grid - usual, 0.0)
    on = rise > 0.25 * (top - floor)
    above = np.where(on, rise, 0.0)
    excess = above.sum(axis=1)
    running = on.sum(axis=1)
    n = len(ordered)
    if n < 28 or not off.any():
        return None
    level0 = float(np.median(excess[: max(7, n // 4)]))
    half = excess[: max(14, n // 2)]
    scale = max(1.4826 * float(np.median(np.abs(half - np.median(half)))), 0.005 * max(mean_energy_kwh, 1e-9), 1e-6)
    z = (excess - level0) / scale
    alarm, start_i = page_cusum(z, k=0.5, h=5.0, side="upper")
    if alarm is None or start_i is None:
        return None
    start = int(start_i)
    while start < n - 1 and not (z[start] >= 1.0 and running[start] > 0):
        start += 1
    end = n - 1
    for i in range(start + 7, n):
        if float(np.mean(z[i - 6:i + 1])) < 0.5:
            end = i - 6
            break
    ongoing = end == n - 1
    while end > start and z[end] < 1.0:
        end -= 1
    seg = slice(start, end + 1)
    length = end - start + 1
    if ordered[end] < period_start or length < 3:
        return None
    kwh_per_day = float(np.mean(excess[seg])) - level0
    mean_z = float(np.mean(z[seg]))
    if kwh_per_day < 0.02 * mean_energy_kwh or mean_z * math.sqrt(length) <= 4.5:
        return None
    counts = on[seg].sum(axis=0)
    top_hours = sorted(int(h) for h in np.argsort(counts)[::-1][:3] if counts[h] > 0)
    p_value = float(special.ndtr(-mean_z * math.sqrt(length)))
    return Finding("off_hours", ordered[start], None if ongoing else ordered[end], kwh_per_day * 7.0,
                   round(float(1.0 - math.exp(-mean_z * math.sqrt(length) / 3.0)), 3),
                   p_value=float(f"{p_value:.4g}"), evidence={
                       "excess_kwh_per_day": round(kwh_per_day, 2), "days": length,
                       "hours_per_day": round(float(np.mean(running[seg])), 1), "typical_hours": top_hours,
                       "usual_off_hours_kwh_per_day": round(level0, 2), "ongoing": ongoing})
