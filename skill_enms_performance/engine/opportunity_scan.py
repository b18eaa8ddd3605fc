"""Opportunities of a period: the scan reads an SEU's days and hours and runs the detectors of
``opportunities``; the assembly (``opportunity``) prices a finding and words its evidence, and is pure.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Callable

import numpy as np

from ..store import SeriesDay, SeuRow
from . import analysis, calendar
from . import opportunities as opp
from .baseline import BaselineModel
from .catalogue import Catalogue, parts, select_seus
from .errors import InsufficientHistoryError, InvalidRequestError, ReadOnlyDatabaseError, per_seu
from .models import ImplementationEffort, ImprovementType, Opportunity, OpportunityReport, Priority
from .periods import period_days
from .series import Baseline, Series
from .settings import EngineSettings
from .timeutil import day_bounds_utc, local_today


async def report(catalogue: Catalogue, series: Series, now: Callable[[], dt.datetime], period: str | dict | None,
                 factory: str | None, seu: str | None, machine_type: str | None = None) -> OpportunityReport:
    """Savings opportunities of every SEU (or one factory, machine type or SEU) in a period, ranked by value."""
    settings = series.settings
    if seu is not None and not isinstance(seu, str):
        raise InvalidRequestError("seu must be a string")
    if seu:
        targets = await catalogue.named_or_all(seu)
    else:
        targets = select_seus(await catalogue.seus(), machine_type, factory)
    if not targets and machine_type:
        raise InvalidRequestError(f"no SEU matches machine type {machine_type!r} and factory {factory!r}",
                                  machine_type=machine_type, factory=factory)
    if not targets:
        raise InvalidRequestError(f"no SEU in factory {factory!r}", factory=factory)
    today = local_today(now(), targets[0].timezone)
    start, end = period_days(period, today)
    if end < start:
        raise InvalidRequestError("the period has no complete day yet")
    await series.mode()
    results = await asyncio.gather(*(scan(series, s, start, end) for s in targets), return_exceptions=True)
    found_per_seu, errors = per_seu(targets, results)
    found = count_once(targets, [o for opportunities in found_per_seu for o in opportunities])
    found.sort(key=lambda o: (o.ongoing, o.estimated_savings_per_year), reverse=True)
    return OpportunityReport(
        period={"start": start.isoformat(), "end": end.isoformat()}, factory=factory, seu_name=seu,
        machine_type=machine_type,
        currency=settings.currency, opportunities=found,
        total_savings_kwh_per_week=round(sum(o.estimated_savings_kwh_per_week for o in found if o.ongoing), 1),
        total_savings_per_year=round(sum(o.estimated_savings_per_year for o in found if o.ongoing), 2),
        total_co2_kg_per_year=round(sum(o.co2_kg_per_year for o in found if o.ongoing), 1),
        errors=errors, voice_summary="", timestamp=now())


async def scan(series: Series, seu: SeuRow, start: dt.date, end: dt.date) -> list[Opportunity]:
    """Run the detectors on one SEU: idle running, residual episodes (drift, faults), off-hours; kept like the
    series it reads (until the rollups change), so that a plant of hundreds of SEUs is scanned once, not per
    question."""
    key = series.key(seu, "scan", start, end)
    found = series.scans.get(key)
    if found is None:
        found = series.scans.put(key, await _scan(series, seu, start, end))
    return list(found)


async def _scan(series: Series, seu: SeuRow, start: dt.date, end: dt.date) -> list[Opportunity]:
    settings = series.settings
    mode = await series.mode()
    if mode != "rollup":
        raise ReadOnlyDatabaseError("savings opportunities")
    window_start = min(start, end - dt.timedelta(days=settings.opportunity_window_days - 1))
    first, last = window_start - dt.timedelta(days=settings.baseline_days), window_start - dt.timedelta(days=1)
    fit = await series.history(seu, (first, last), (first, end), mode)
    window = [r for r in fit.rows if window_start <= r.day <= end]
    if len(fit.history) < 30 or len(window) < 7:
        raise InsufficientHistoryError(seu.name, window_start, len(fit.history))
    await fit.fit()  # model input and fit in a compute thread
    # hours: idle running and off-pattern energy of machines that report production, out-of-hours running of
    # those that do not
    utc_start, utc_end = day_bounds_utc(window_start, end, seu.timezone)
    hourly = await series.hourly(seu, window_start, end, utc_start, utc_end)
    price = await series.price(seu, start, end)
    # the detectors walk every hour of the window in Python: a compute thread, not the event loop
    return await series.compute(detect, series, seu, start, window_start, fit, window, hourly, price)


def detect(series: Series, seu: SeuRow, start: dt.date, window_start: dt.date, fit: Baseline,
           window: list[SeriesDay], hourly: list | None, price: float) -> list[Opportunity]:
    """The detectors on an SEU's window of days (and hours, where it reports production), priced (pure but
    for the cache of model input)."""
    settings = series.settings
    model = fit.model
    report_data = fit.report_data(window)
    predicted = model.predict_many(report_data)
    days = [dt.date.fromisoformat(str(d)) for d in report_data.day]
    findings = [f for f in opp.residual_episodes(days, predicted.residual_kwh, predicted.se_kwh,
                                                 model.mean_energy_kwh, model.residual_autocorrelation)
                if f.end is None or f.end >= start] if model.valid else []
    working = [c == calendar.WORKING for c in report_data.calendar]
    has_production = bool(np.isfinite(fit.data.production).any())
    if hourly:
        h_days, h_hours, h_kwh, h_made = zip(*hourly, strict=True)  # columns of the (day, hour, kWh, production) rows
    if hourly and not has_production:
        running = opp.out_of_hours_running(h_days, h_hours, np.array(h_kwh, dtype=float),
                                           dict(zip(days, (int(c) for c in report_data.calendar), strict=True)),
                                           start, model.mean_energy_kwh)
        if running is not None and model.valid and not beyond_baseline(running, days, predicted.residual_kwh):
            running = None  # night cooling in a heat wave: the weather explains the energy of those hours
        if running is not None:
            # the baseline's residual rise is the same energy, dated by the daily CUSUM (often days early)
            findings = [f for f in findings if not explained_by(f, running, near_days=14)]
            findings.append(running)
    elif hourly:
        energy = np.array(h_kwh, dtype=float)
        production = np.array(h_made, dtype=float)  # None -> NaN
        production = np.where(np.isfinite(production), production, 0.0)
        day_work = dict(zip(days, working, strict=True))
        idle = opp.idle_running(h_days, np.array(h_hours), energy, production,
                                [day_work.get(d, False) for d in sorted(set(h_days))], start)
        if idle is not None:
            # the residual rise the idle running causes is the same energy: keep one finding
            findings = [f for f in findings if not explained_by(f, idle)]
            findings.append(idle)
        if not findings:
            slot_busy = working_slots(h_days, h_hours, production)
            off = np.array([not slot_busy.get((d.isoweekday(), h[1]), False) for d, h in zip(h_days, hourly,
                                                                                              strict=True)])
            in_period = np.array([d >= start for d in h_days])
            extra = opp.off_hours(energy, production, off, in_period)
            if extra is not None:
                findings.append(extra)
    return [opportunity(settings, seu, f, price, model) for f in findings]


def _overlap(a: Opportunity, b: Opportunity) -> bool:
    first = max(a.start_date or dt.date.min, b.start_date or dt.date.min)
    last = min(a.end_date or dt.date.max, b.end_date or dt.date.max)
    return first <= last


def count_once(seus: list[SeuRow], found: list[Opportunity]) -> list[Opportunity]:
    """One excess counted once across the SEU hierarchy: an SEU whose machines include other SEUs'
    (``catalogue.parts``: a compressed-air station over its compressors) keeps of a finding only what its parts'
    findings of the same time do not already claim; a finding they claim (nearly) all of is left out. Parts are
    settled first, smallest first, so each part's kept finding is its own excess net of its own parts, and a
    container subtracts those of all its parts at any depth: each excess once."""
    inside = parts(seus)
    mine: dict[tuple[str, str], list[Opportunity]] = {}
    for o in found:
        mine.setdefault((o.seu_name, o.energy_source), []).append(o)
    for key in sorted(mine, key=lambda k: len(inside.get(k, ()))):
        below = [k for k in inside.get(key, ()) if k in mine]
        if not below:
            continue
        kept = []
        for o in mine[key]:
            claimed = [p for k in below for p in mine[k] if p.ongoing == o.ongoing and _overlap(o, p)]
            part_kwh = sum(p.estimated_savings_kwh_per_week for p in claimed)
            left = o.estimated_savings_kwh_per_week - part_kwh
            if not claimed:
                kept.append(o)
            elif left > 0.25 * o.estimated_savings_kwh_per_week:
                share = left / o.estimated_savings_kwh_per_week
                kept.append(dataclasses.replace(
                    o, estimated_savings_kwh_per_week=round(left, 1),
                    estimated_savings_per_year=round(o.estimated_savings_per_year * share, 2),
                    co2_kg_per_year=round(o.co2_kg_per_year * share, 1),
                    expected_roi_months=(round(o.expected_roi_months / share, 1)
                                         if o.expected_roi_months is not None else None),
                    evidence=f"{o.evidence}; of that, about {part_kwh:.0f} kWh a week is counted at "
                             f"{', '.join(sorted({p.seu_name for p in claimed}))}",
                    details={**o.details, "kwh_per_week_counted_in_parts": round(part_kwh, 1),
                             "parts": sorted({p.seu_name for p in claimed})}))
        mine[key] = kept
    return [o for key in mine for o in mine[key]]


def beyond_baseline(running: opp.Finding, days: list[dt.date], residual_kwh: np.ndarray) -> bool:
    """Out-of-hours running is a finding only where the days it covers used more than their normalised baseline
    expects, by at least half its energy: hours a weather-dependent load runs in because of the weather are
    routine, and the daily model already expects their energy."""
    last = running.end or days[-1]
    mine = np.array([running.start <= d <= last for d in days])
    if not mine.any():
        return False
    return float(np.mean(residual_kwh[mine])) >= 0.5 * running.evidence["excess_kwh_per_day"]


def explained_by(episode: opp.Finding, cause: opp.Finding, near_days: int = 7) -> bool:
    """A residual rise that starts with the idle (or out-of-hours) running and is mostly its energy is the same
    finding."""
    if episode.kind != "drift":
        return False
    near = cause.start is None or episode.start is None or abs((episode.start - cause.start).days) <= near_days
    return near and cause.kwh_per_week >= 0.5 * episode.kwh_per_week


def working_slots(days: list[dt.date], hours: list[int], production: np.ndarray) -> dict[tuple[int, int], bool]:
    """The working pattern: (ISO weekday, hour) slots in which the machine produces on most weeks."""
    counts: dict[tuple[int, int], list[int]] = {}
    for d, h, p in zip(days, hours, production, strict=True):
        counts.setdefault((d.isoweekday(), h), [0, 0])
        counts[(d.isoweekday(), h)][0] += int(p > 0)
        counts[(d.isoweekday(), h)][1] += 1
    return {k: v[0] >= 0.5 * v[1] for k, v in counts.items()}


def opportunity(settings: EngineSettings, seu: SeuRow, f: opp.Finding, price: float, model: BaselineModel) -> Opportunity:
    """A finding priced at the SEU's tariff, with CO2, effort, priority, ROI and its evidence in words."""
    kind = seu.machine_types[0] if seu.machine_types else ""
    kwh_year = f.kwh_per_week * 52.18
    money = kwh_year * price
    carbon = (seu.carbon_factor or 0.0) / settings.unit_kwh.get((seu.unit or "kwh").lower(), 1.0)
    if f.kind == "idle_running":
        improvement, effort = ImprovementType.EXCESSIVE_IDLE, ImplementationEffort.LOW
        hours = ", ".join(f"{h:02d}:00" for h in f.evidence["typical_hours"])
        since = f" since {f.start.isoformat()}" if f.start else ""
        title = f"{seu.name} runs unloaded without production"
        evidence = (f"{seu.name} runs about {f.evidence['idle_hours_per_working_day']:.1f} hours a working day "
                    f"without production{since} (mostly around {hours}), drawing "
                    f"{f.evidence['idle_power_kw']:.0f} kW against {f.evidence['standby_power_kw']:.1f} kW standby: "
                    f"about {f.kwh_per_week:.0f} kWh a week")
    elif f.kind == "drift":
        improvement, effort = ImprovementType.EQUIPMENT_DEGRADATION, ImplementationEffort.MEDIUM
        check = {"compressor": "compressed-air leaks", "hvac": "dampers, valves and set-points",
                 "boiler": "burner tuning and steam traps"}.get(kind, "worn or faulty parts")
        span = (f"from {f.start.isoformat()} to {f.end.isoformat()}" if f.end else f"since {f.start.isoformat()}")
        title = f"{seu.name} uses more than its baseline {span}"
        evidence = (f"{seu.name} has used about {f.evidence['excess_kwh_per_day']:.0f} kWh a day more than its "
                    f"normalised baseline {span} ({f.evidence['days']} days); check {check}")
    elif f.kind == "off_hours" and f.start is not None:
        improvement, effort = ImprovementType.INEFFICIENT_SCHEDULING, ImplementationEffort.LOW
        hours = ", ".join(f"{h:02d}:00" for h in f.evidence["typical_hours"])
        span = (f"from {f.start.isoformat()} to {f.end.isoformat()}" if f.end else f"since {f.start.isoformat()}")
        title = f"{seu.name} runs outside its usual hours {span}"
        evidence = (f"{seu.name} has run about {f.evidence['hours_per_day']:.1f} hours a day in hours it is usually "
                    f"off {span} (mostly around {hours}), about {f.evidence['excess_kwh_per_day']:.0f} kWh a day "
                    f"above its usual level in those hours ({f.evidence['days']} days)")
    else:
        improvement, effort = ImprovementType.INEFFICIENT_SCHEDULING, ImplementationEffort.LOW
        title = f"{seu.name} draws power outside working hours"
        evidence = (f"{seu.name} used {f.evidence['off_hours_kwh_above_standby']:.0f} kWh above its standby level "
                    f"outside the working pattern in the period ({100 * f.evidence['share_of_energy']:.0f}% of its "
                    f"energy): about {f.kwh_per_week:.0f} kWh a week")
    ongoing = f.end is None
    extra: dict = {}
    if not ongoing:
        # an episode that has ended is priced as what it cost, not as if it went on all year
        kwh_year = f.evidence["excess_kwh_per_day"] * f.evidence["days"]
        money = kwh_year * price
        extra = {"episode_energy_kwh": round(kwh_year, 1), "episode_cost": round(money, 2)}
    cost = settings.investment.get(effort.value, 0.0)
    roi = round(cost / (money / 12.0), 1) if money > 0 and ongoing else None
    if not ongoing:
        priority = Priority.LOW
    elif money >= 10000:
        priority = Priority.CRITICAL
    elif money >= 2000:
        priority = Priority.HIGH
    elif money >= 500:
        priority = Priority.MEDIUM
    else:
        priority = Priority.LOW
    return Opportunity(
        seu_name=seu.name, energy_source=seu.energy_source, improvement_type=improvement, title=title,
        evidence=evidence, details={"kind": f.kind, **f.evidence, **extra, "price_per_kwh": round(price, 5),
                                    "baseline_method": model.method},
        start_date=f.start, end_date=f.end, ongoing=ongoing,
        estimated_savings_kwh_per_week=round(f.kwh_per_week, 1), estimated_savings_per_year=round(money, 2),
        currency=settings.currency, co2_kg_per_year=round(kwh_year * carbon, 1),
        implementation_effort=effort, priority=priority, expected_roi_months=roi,
        confidence=round(f.confidence * analysis.model_weight(model), 3), p_value=f.p_value)
