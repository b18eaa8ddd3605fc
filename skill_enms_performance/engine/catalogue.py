"""The SEU catalogue: which SEUs exist, and the one way a spoken or typed name finds one.

One matcher (``norm``: case and punctuation insensitive) and one table of everyday words for
energy sources (``SOURCE_ALIASES``); prices per kWh-equivalent come from the catalogue row.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import re
import time
from typing import Awaitable, Callable

from ..store import SeuRow, Store
from .errors import AmbiguousSeuError, InvalidRequestError, UnknownEnergySourceError, UnknownSeuError
from .settings import EngineSettings
from .timeutil import local_today

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


def norm(name: str) -> str:
    """The form names are matched in: lower-case letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def by_name(seus: list[SeuRow]) -> dict[str, list[SeuRow]]:
    """The SEUs by the matched form of their name (any energy source), in catalogue order."""
    index: dict[str, list[SeuRow]] = {}
    for s in seus:
        index.setdefault(norm(s.name), []).append(s)
    return index


def select_seus(seus: list[SeuRow], machine_type: str | None, factory: str | None) -> list[SeuRow]:
    """SEUs of one machine type (by type or by name, e.g. 'conveyor') and/or one factory
    (by name or location words, e.g. 'Munich')."""
    out = seus
    if machine_type:
        kind = machine_type.strip().lower().replace(" ", "_")
        out = [s for s in out if kind in s.machine_types or kind.replace("_", "") in norm(s.name)]
    if factory:
        words = factory.strip().lower()
        out = [s for s in out if words in (s.factory or "").lower() or words in (s.location or "").lower()]
    return out


def parts(seus: list[SeuRow]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(name, energy source) of each listed SEU -> those of the listed SEUs of the same source whose machines all
    belong to it (the compressors of a compressed-air station that is an SEU itself), at any depth."""
    machines = {(s.name, s.energy_source): frozenset(s.machine_ids) for s in seus}
    return {key: [k for k, m in machines.items() if k[1] == key[1] and m and m < own]
            for key, own in machines.items()}


def parts_of_listed(seus: list[SeuRow]) -> set[tuple[str, str]]:
    """(name, energy source) of the SEUs inside another listed SEU (``parts``): their energy is in that SEU's
    already, so a total over the list counts it once by leaving them out."""
    return {k for inside in parts(seus).values() for k in inside}


def price_per_kwh(seu: SeuRow, settings: EngineSettings) -> float:
    """The SEU's energy price per kWh-equivalent, from ``energy_sources.cost_per_unit``."""
    if seu.cost_per_unit is None:
        return 0.0
    kwh_per_unit = settings.unit_kwh.get((seu.unit or "kwh").strip().lower(), 1.0)
    return seu.cost_per_unit / kwh_per_unit if kwh_per_unit > 0 else 0.0


class Catalogue:
    """Active SEUs with their machines, factory, time zone and energy source, re-read after ``catalogue_ttl_s``."""

    def __init__(self, store: Store, settings: EngineSettings, guard: Callable[[Awaitable], Awaitable],
                 on_load: Callable[[list[SeuRow]], None] | None = None) -> None:
        self.store, self.settings, self._guard = store, settings, guard
        self.on_load = on_load  # told the SEUs each time they are read (the caches size themselves to them)
        self.rows: list[SeuRow] = []
        self._by_name: dict[str, list[SeuRow]] = {}  # of ``rows``, made when they are read
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def seus(self, refresh: bool = False) -> list[SeuRow]:
        fresh = time.monotonic() - self._loaded_at < self.settings.catalogue_ttl_s
        if self.rows and fresh and not refresh:
            return self.rows
        async with self._lock:
            if refresh or not self.rows or time.monotonic() - self._loaded_at >= self.settings.catalogue_ttl_s:
                self.rows = await self._guard(self.store.list_seus())
                self._by_name = by_name(self.rows)
                self._loaded_at = time.monotonic()
                if self.on_load is not None:
                    self.on_load(self.rows)
        return self.rows

    async def find_seu(self, seu_name: str, energy_source: str | None = None) -> SeuRow:
        """The SEU of that name (case and punctuation insensitive) and energy source."""
        if not isinstance(seu_name, str) or not seu_name.strip():
            raise InvalidRequestError("seu_name is required")
        if len(seu_name) > 200:
            raise InvalidRequestError("seu_name is too long")
        seus = await self.seus()
        key = norm(seu_name)
        matches = self._named(seu_name)
        if not matches:
            seus = await self.seus(refresh=True)  # a newly added SEU is found without a restart
            matches = self._named(seu_name)
        if not matches:
            names = sorted({s.name for s in seus})
            by_norm = {norm(n): n for n in names}
            close = difflib.get_close_matches(key, list(by_norm), n=3, cutoff=0.6)
            raise UnknownSeuError(seu_name, [by_norm[c] for c in close])
        if energy_source is not None and (not isinstance(energy_source, str) or len(energy_source) > 50):
            raise InvalidRequestError("energy_source must be a short string (e.g. electricity, natural_gas, steam)")
        source = canonical_source(energy_source)
        if source is None:
            if len(matches) > 1:
                raise AmbiguousSeuError(matches[0].name, [m.energy_source for m in matches])
            return matches[0]
        for m in matches:
            if m.energy_source == source:
                return m
        raise UnknownEnergySourceError(matches[0].name, source, [m.energy_source for m in matches])

    def _named(self, seu_name: str | None) -> list[SeuRow]:
        """The read SEUs of that name (any energy source)."""
        return list(self._by_name.get(norm(seu_name), ())) if seu_name else []

    async def find_seu_any_source(self, seu_name: str) -> SeuRow:
        """The SEU of that name; of several energy sources, the first."""
        try:
            return await self.find_seu(seu_name)
        except AmbiguousSeuError:
            await self.seus()
            return self._named(seu_name)[0]

    async def named_or_all(self, seu_name: str | None) -> list[SeuRow]:
        """Every energy source of the named SEU, or every SEU."""
        all_seus = await self.seus()
        if seu_name:
            first = await self.find_seu_any_source(seu_name)
            return [s for s in all_seus if s.name == first.name]
        return list(all_seus)

    async def today(self, seu_name: str | None, now: dt.datetime) -> dt.date:
        """Today's local date of an SEU's factory (default: the first SEU's)."""
        seus = await self.seus()
        match = self._named(seu_name) or seus
        return local_today(now, match[0].timezone if match else "UTC")
