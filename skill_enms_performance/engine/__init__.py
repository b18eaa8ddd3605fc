"""The ISO 50001 energy-performance engine (no OVOS imports in this package).

``Engine`` owns the store (asyncpg pool) and answers the questions the skill, the bus API and
the command line ask. Every public result is a dataclass with ``to_dict()``; every failure is
an ``EnmsError`` with a code and the facts a sentence needs.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import re
import time
from typing import Callable

from ..store import DB_ERRORS, SeuRow, Store, redact_dsn
from . import analysis
from .errors import (AmbiguousSeuError, DatabaseUnavailableError, EnmsError, FutureDateError,
                     InsufficientHistoryError, InvalidRequestError, NoDataError, UnknownEnergySourceError,
                     UnknownSeuError)
from .models import PerformanceAnalysis
from .settings import EngineSettings
from .timeutil import day_bounds_utc, local_midnight_utc, local_time_of_day, local_today

#: everyday and database words for energy sources -> the ``energy_sources.name`` they mean
SOURCE_ALIASES: dict[str, str] = {
    "energy": "electricity", "electrical": "electricity", "electricity": "electricity", "electric": "electricity",
    "power": "electricity", "natural_gas": "natural_gas", "natural gas": "natural_gas", "gas": "natural_gas",
    "steam": "steam", "compressed_air": "compressed_air", "compressed air": "compressed_air", "air": "compressed_air",
}


def canonical_source(name: str | None) -> str | None:
    if name is None or not str(name).strip():
        return None
    key = str(name).strip().lower().replace("-", "_")
    return SOURCE_ALIASES.get(key, SOURCE_ALIASES.get(key.replace("_", " "), key))


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


class Engine:
    """Answers energy-performance questions from an EnMS PostgreSQL database."""

    def __init__(self, dsn: str, settings: EngineSettings | None = None,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.store = Store(dsn, min_size=self.settings.pool_min_size, max_size=self.settings.pool_max_size,
                           connect_timeout_s=self.settings.connect_timeout_s,
                           statement_timeout_s=self.settings.statement_timeout_s)
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._seus: list[SeuRow] = []
        self._seus_loaded_at = 0.0
        self._seus_lock = asyncio.Lock()

    def now(self) -> dt.datetime:
        value = self._clock()
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)

    async def close(self) -> None:
        await self.store.close()

    # --- catalogue --------------------------------------------------------------------
    async def seus(self, refresh: bool = False) -> list[SeuRow]:
        """Active SEUs with their machines, factory, time zone and energy source."""
        fresh = time.monotonic() - self._seus_loaded_at < self.settings.catalogue_ttl_s
        if self._seus and fresh and not refresh:
            return self._seus
        async with self._seus_lock:
            if refresh or not self._seus or time.monotonic() - self._seus_loaded_at >= self.settings.catalogue_ttl_s:
                self._seus = await self._guard(self.store.list_seus())
                self._seus_loaded_at = time.monotonic()
        return self._seus

    async def find_seu(self, seu_name: str, energy_source: str | None = None) -> SeuRow:
        """The SEU of that name (case and punctuation insensitive) and energy source."""
        if not isinstance(seu_name, str) or not seu_name.strip():
            raise InvalidRequestError("seu_name is required")
        if len(seu_name) > 200:
            raise InvalidRequestError("seu_name is too long")
        seus = await self.seus()
        key = _norm(seu_name)
        matches = [s for s in seus if _norm(s.name) == key]
        if not matches:
            seus = await self.seus(refresh=True)  # a newly added SEU is found without a restart
            matches = [s for s in seus if _norm(s.name) == key]
        if not matches:
            names = sorted({s.name for s in seus})
            by_norm = {_norm(n): n for n in names}
            close = difflib.get_close_matches(key, list(by_norm), n=3, cutoff=0.6)
            raise UnknownSeuError(seu_name, [by_norm[c] for c in close])
        source = canonical_source(energy_source)
        if source is None:
            if len(matches) > 1:
                raise AmbiguousSeuError(matches[0].name, [m.energy_source for m in matches])
            return matches[0]
        for m in matches:
            if m.energy_source == source:
                return m
        raise UnknownEnergySourceError(matches[0].name, source, [m.energy_source for m in matches])

    def price_per_kwh(self, seu: SeuRow) -> float:
        """The SEU's energy price per kWh-equivalent, from ``energy_sources.cost_per_unit``."""
        if seu.cost_per_unit is None:
            return 0.0
        kwh_per_unit = self.settings.unit_kwh.get((seu.unit or "kwh").strip().lower(), 1.0)
        return seu.cost_per_unit / kwh_per_unit if kwh_per_unit > 0 else 0.0

    # --- analysis ---------------------------------------------------------------------
    async def analyze_seu_performance(self, seu_name: str, energy_source: str | None = None,
                                      analysis_date: dt.date | str | None = None) -> PerformanceAnalysis:
        """Energy performance of one SEU on one local day (today: the part that has passed)."""
        seu = await self.find_seu(seu_name, energy_source)
        now = self.now()
        today = local_today(now, seu.timezone)
        day = _parse_day(analysis_date) or today
        if day > today:
            raise FutureDateError(day, today)
        partial = day == today
        cutoff = local_time_of_day(now, seu.timezone) if partial else None
        start = local_midnight_utc(day, seu.timezone)
        end = now if partial else day_bounds_utc(day, day, seu.timezone)[1]
        first_base = day - dt.timedelta(days=self.settings.baseline_days)
        base_start, _ = day_bounds_utc(first_base, first_base, seu.timezone)

        rows = await self._guard(self.store.daily_energy(seu, base_start, end, cutoff))
        actual = next((r for r in rows if r.day == day), None)
        if actual is None or actual.readings == 0:
            first, last = await self._guard(self.store.data_range(seu))
            raise NoDataError(seu.name, day, _local_date(first, seu.timezone), _local_date(last, seu.timezone))
        history = [r for r in rows if r.day < day]
        usable = [r for r in history if r.coverage >= self.settings.min_coverage]
        if len(usable) < 3:
            raise InsufficientHistoryError(seu.name, day, len(usable))
        return analysis.build_analysis(
            seu=seu, day=day, actual=actual, history=history, usable=usable,
            window=(start, end, partial), price_per_kwh=self.price_per_kwh(seu),
            settings=self.settings, now=now,
        )

    async def health(self) -> dict[str, object]:
        """Is the database reachable, and what does it hold."""
        try:
            version = await self._guard(self.store.ping())
            seus = await self.seus(refresh=True)
        except EnmsError as err:
            return {"database_reachable": False, "error": err.to_dict(), "dsn": self.store.dsn_redacted}
        return {"database_reachable": True, "server_version": version, "seu_count": len(seus),
                "dsn": self.store.dsn_redacted}

    async def _guard(self, awaitable):
        """Turn connection failures into ``DatabaseUnavailableError`` (password-free)."""
        try:
            return await awaitable
        except EnmsError:
            raise
        except (asyncio.TimeoutError, *DB_ERRORS) as err:
            await self.store.close()  # next question builds a fresh pool: the database may be back
            raise DatabaseUnavailableError(redact_dsn(type(err).__name__ + ": " + str(err))) from None


def _parse_day(value: dt.date | str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise InvalidRequestError(f"analysis_date must be YYYY-MM-DD, got {value[:40]!r}") from None
    raise InvalidRequestError("analysis_date must be a YYYY-MM-DD string")


def _local_date(value: dt.datetime | None, tz: str) -> dt.date | None:
    return local_today(value, tz) if value is not None else None


__all__ = ["Engine", "EngineSettings", "EnmsError", "canonical_source"]
