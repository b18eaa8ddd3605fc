"""Savings: cumulative savings against the normalised baseline (CUSUM) with their uncertainty (ASHRAE
Guideline 14 fractional savings uncertainty), per SEU and in total.

The bodies are those the engine had before the split (a mixin of the facade), so that changes to the
savings computation made elsewhere apply here unchanged.
"""
from __future__ import annotations

import asyncio
import datetime as dt

from ..store import SeuRow
from . import mv
from .baseline import BaselineModel, DailyData, Predictions, cusum
from .catalogue import parts_of_listed
from .errors import InsufficientHistoryError, InvalidRequestError
from .errors import per_seu as _per_seu
from .models import SavingsReport, SeuSavings
from .timeutil import local_today


class SavingsQuestions:
    """``Engine.savings``; uses the facade's ``seus``, ``find_seu_any_source``, ``period_days``, ``now``,
    ``settings``, ``mode``, ``store``, ``_guard``, ``_baseline_period``, ``_reporting`` and ``_price``."""

    async def savings(self, seu: str | None = None, period: str | dict | None = "month") -> SavingsReport:
        """Cumulative savings against the normalised baseline (CUSUM) with their uncertainty."""
        all_seus = await self.seus()
        if seu:
            first_match = await self.find_seu_any_source(seu)
            targets = [s for s in all_seus if s.name == first_match.name]
        else:
            targets = list(all_seus)
        today = local_today(self.now(), targets[0].timezone)
        start, end = self.period_days(period, today)
        if end < start:
            raise InvalidRequestError("the period has no complete day yet")
        measures = await self._measure_starts()
        results = await asyncio.gather(*(self._savings_line(s, start, end, measures.get(s.name)) for s in targets),
                                       return_exceptions=True)
        lines, errors = _per_seu(targets, results)
        parts = parts_of_listed(targets)
        for item, _ in lines:  # an SEU inside another listed one: its savings are counted there
            if (item.seu_name, item.energy_source) in parts:
                item.included_in_total = False
        items = [item for item, _ in lines]
        counted = [(item, residuals) for item, residuals in lines if item.included_in_total]
        uncertainty = await self.series.compute(mv.plant_uncertainty, [i.uncertainty_kwh for i, _ in counted],
                                                [r for _, r in counted])  # a correlation matrix: not on the loop
        return SavingsReport(
            period={"start": start.isoformat(), "end": end.isoformat()}, seu_name=seu,
            currency=self.settings.currency, items=items,
            # SEUs whose baseline does not decide (invalid, fallback) are listed but not added up
            total_savings_kwh=round(sum(i.savings_kwh for i in items if i.included_in_total), 1),
            total_savings_cost=round(sum(i.savings_cost for i in items if i.included_in_total), 2),
            # the SEUs share weather, production and calendar: their errors are correlated, not independent
            total_uncertainty_kwh=round(uncertainty, 1),
            errors=errors, voice_summary="", timestamp=self.now())

    async def _measure_starts(self) -> dict[str, dt.date]:
        """SEU name -> the local day the earliest action plan in progress or completed was saved (the
        measure's start); empty on a read-only database (plans cannot be stored there)."""
        if await self.mode() != "rollup":
            return {}
        out: dict[str, dt.date] = {}
        for status in ("in_progress", "completed"):
            offset, total = 0, 1
            while offset < total:
                rows, total = await self._guard(self.store.list_action_plans(status, None, 200, offset))
                if not rows:
                    break
                offset += len(rows)
                for r in rows:
                    created = r["created_at"].date()
                    name = r["seu_name"]
                    out[name] = min(out.get(name, created), created)
        return out

    async def _savings_of(self, seu: SeuRow, start: dt.date, end: dt.date,
                          measure_start: dt.date | None = None) -> SeuSavings:
        return (await self._savings_line(seu, start, end, measure_start))[0]

    async def _savings_line(self, seu: SeuRow, start: dt.date, end: dt.date,
                            measure_start: dt.date | None = None) -> tuple[SeuSavings, tuple]:
        """The SEU's savings and its baseline's fitted residuals (for the plant total's correlation)."""
        fixed = None
        if self.settings.baseline_start and self.settings.baseline_end:
            fixed = self._baseline_period(start)
        first, last, basis = mv.savings_baseline(start, measure_start, fixed, self.settings.baseline_days)
        model, report, predicted = await self._reporting(seu, start, end, (first, last))
        if model.method == "insufficient_data":
            # no baseline: "savings" would be minus all the energy used; the SEU is an error, not a number
            raise InsufficientHistoryError(seu.name, start, model.n)
        price = await self._price(seu, start, end)
        # the period arithmetic and the CUSUM are CPU work: a compute thread, not the event loop
        return await self.series.compute(seu_savings, self.settings.min_coverage, seu, start, end, model, report,
                                         predicted, price, (first, last, basis))


def seu_savings(min_coverage: float, seu: SeuRow, start: dt.date, end: dt.date, model: BaselineModel,
                report: DailyData, predicted: Predictions, price: float, baseline: tuple[dt.date, dt.date, str]
                ) -> tuple[SeuSavings, tuple]:
    """One SEU's savings over its reporting days and its baseline's fitted residuals (pure)."""
    first, last, basis = baseline
    # incomplete days leave both sides; one period method (mv) at 68 %, as Guideline 14 asks
    period = mv.compare_period(model, report, predicted.expected_kwh, 0.68, min_coverage)
    curve = cusum(period.expected_daily_kwh, period.actual_daily_kwh)
    saved = -period.deviation_kwh
    total_expected = period.expected_kwh
    fraction = saved / total_expected if total_expected > 0 else 0.0
    m = period.days
    uncertainty = period.band.half_width_kwh
    fsu = uncertainty / abs(saved) if saved != 0 and m > 0 else None
    # Guideline 14's CV(RMSE) limit is that of the reporting period (20 % under a year, 25 % to 5 years)
    reporting_days = (end - start).days + 1
    decides = mv.decides(model, reporting_days)
    return SeuSavings(
        seu_name=seu.name, energy_source=seu.energy_source, expected_energy_kwh=round(total_expected, 1),
        actual_energy_kwh=round(period.actual_kwh, 1), savings_kwh=round(saved, 1),
        savings_percent=round(100 * fraction, 2), savings_cost=round(saved * price, 2),
        uncertainty_kwh=round(uncertainty, 1),
        fractional_savings_uncertainty=round(fsu, 4) if fsu is not None else None,
        verified=bool(decides and saved > 0 and fsu is not None and fsu < 0.5),
        days=m, cusum_kwh=curve_points(report.day, curve),
        baseline_method=model.method, days_excluded=period.days_excluded, included_in_total=decides,
        baseline_verdict=mv.reporting_validity(model, reporting_days).verdict,
        baseline_period={"start": first.isoformat(), "end": last.isoformat(), "basis": basis}
    ), model.fitted_residuals


#: periods up to this many days carry their CUSUM day by day; longer ones week by week
DAILY_CURVE_MAX_DAYS = 92


def curve_points(days, curve) -> list[dict[str, object]]:
    """The CUSUM curve of a period as {date, cumulative_kwh}: daily up to a quarter, then the last day of each
    week and the period's last day (a year of ten SEUs was a 280 kB bus reply day by day; week by week 40 kB)."""
    points = list(zip((str(d) for d in days), (round(float(c), 1) for c in curve), strict=True))
    if len(points) > DAILY_CURVE_MAX_DAYS:
        weekly = [i for i, d in enumerate(days) if dt.date.fromisoformat(str(d)[:10]).weekday() == 6]
        keep = sorted(set(weekly) | {len(points) - 1})
        points = [points[i] for i in keep]
    return [{"date": d, "cumulative_kwh": c} for d, c in points]
