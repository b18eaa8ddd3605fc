"""Savings: cumulative savings against the normalised baseline (CUSUM) with their uncertainty (ASHRAE
Guideline 14 fractional savings uncertainty), per SEU and in total.

The bodies are those the engine had before the split (a mixin of the facade), so that changes to the
savings computation made elsewhere apply here unchanged.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import math

import numpy as np

from ..store import SeuRow
from .baseline import cusum, fractional_savings_uncertainty
from .errors import InvalidRequestError
from .errors import per_seu as _per_seu
from .models import SavingsReport, SeuSavings
from .timeutil import local_today


class SavingsQuestions:
    """``Engine.savings``; uses the facade's ``seus``, ``find_seu_any_source``, ``period_days``, ``now``,
    ``settings``, ``_reporting`` and ``_price``."""

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
        results = await asyncio.gather(*(self._savings_of(s, start, end) for s in targets), return_exceptions=True)
        items, errors = _per_seu(targets, results)
        return SavingsReport(
            period={"start": start.isoformat(), "end": end.isoformat()}, seu_name=seu,
            currency=self.settings.currency, items=items,
            total_savings_kwh=round(sum(i.savings_kwh for i in items), 1),
            total_savings_cost=round(sum(i.savings_cost for i in items), 2),
            total_uncertainty_kwh=round(math.sqrt(sum(i.uncertainty_kwh ** 2 for i in items)), 1),
            errors=errors, voice_summary="", timestamp=self.now())

    async def _savings_of(self, seu: SeuRow, start: dt.date, end: dt.date) -> SeuSavings:
        model, report, predicted = await self._reporting(seu, start, end)
        expected = np.maximum(predicted.expected_kwh, 0.0)
        curve = cusum(expected, report.energy_kwh)
        saved = float(curve[-1])
        total_expected = float(np.sum(expected))
        fraction = saved / total_expected if total_expected > 0 else 0.0
        m = len(report)
        fsu = None
        if fraction != 0 and model.n_effective > 0 and model.n > 1:
            fsu = fractional_savings_uncertainty(model.cv_rmse, model.n, model.n_effective, m, fraction,
                                                 confidence=0.68, p=model.p)
        uncertainty = abs(saved) * fsu if fsu is not None else 0.0
        price = await self._price(seu, start, end)
        return SeuSavings(
            seu_name=seu.name, energy_source=seu.energy_source, expected_energy_kwh=round(total_expected, 1),
            actual_energy_kwh=round(float(np.sum(report.energy_kwh)), 1), savings_kwh=round(saved, 1),
            savings_percent=round(100 * fraction, 2), savings_cost=round(saved * price, 2),
            uncertainty_kwh=round(uncertainty, 1),
            fractional_savings_uncertainty=round(fsu, 4) if fsu is not None else None,
            verified=bool(model.valid and saved > 0 and fsu is not None and fsu < 0.5),
            days=m, cusum_kwh=[{"date": str(d), "cumulative_kwh": round(float(c), 1)}
                               for d, c in zip(report.day, curve, strict=True)],
            baseline_method=model.method)
