"""Every SQL statement of the project lives in this package.

``Store`` owns the asyncpg pool. Parameters are always bound; identifiers never come from
input. Times are passed as UTC instants computed from the factory's local calendar days by
the caller (``timeutil``), so that range predicates on ``energy_readings.time`` can use its
index and nothing depends on TimescaleDB or Citus features.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
from importlib import resources
from typing import Any, Sequence

import asyncpg

from . import queries as Q

#: energy_type values that mean the same energy in real deployments
ENERGY_TYPE_ALIASES: dict[str, tuple[str, ...]] = {
    "electricity": ("electricity", "energy", "electrical"),
    "natural_gas": ("natural_gas", "gas"),
    "steam": ("steam",),
    "compressed_air": ("compressed_air",),
}

DB_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
             asyncpg.exceptions.CannotConnectNowError, ConnectionError)


def energy_types_for(source: str) -> list[str]:
    """The ``energy_readings.energy_type`` values counted for an energy source."""
    return list(ENERGY_TYPE_ALIASES.get(source, (source,)))


def redact_dsn(text: str) -> str:
    """Remove passwords from anything that may contain a DSN (logs, errors, speech)."""
    text = re.sub(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)
    return re.sub(r"(password\s*=\s*)(\S+)", r"\1***", text, flags=re.IGNORECASE)


def schema_sql() -> str:
    """The idempotent DDL of the EnMS subset the engine reads."""
    return resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


@dataclasses.dataclass(frozen=True)
class SeuRow:
    id: str
    name: str
    energy_source: str
    unit: str
    cost_per_unit: float | None
    carbon_factor: float | None
    machine_ids: tuple[str, ...]
    machine_names: tuple[str, ...]
    machine_types: tuple[str, ...]
    factory: str | None
    factory_id: str | None
    timezone: str


@dataclasses.dataclass(frozen=True)
class DayEnergy:
    day: dt.date
    energy_kwh: float
    readings: int
    coverage: float


class Store:
    """The asyncpg pool and the queries the engine needs."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 8,
                 connect_timeout_s: float = 3.0, statement_timeout_s: float = 10.0) -> None:
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout_s = connect_timeout_s
        self._statement_timeout_s = statement_timeout_s
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    @property
    def dsn_redacted(self) -> str:
        return redact_dsn(self._dsn)

    async def pool(self) -> asyncpg.Pool:
        """The pool, created on first use and again after the database came back."""
        if self._pool is not None and not self._pool._closed:  # noqa: SLF001 - asyncpg has no public flag
            return self._pool
        async with self._pool_lock:
            if self._pool is None or self._pool._closed:  # noqa: SLF001
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=self._min_size, max_size=self._max_size,
                    timeout=self._connect_timeout_s,
                    command_timeout=self._statement_timeout_s,
                    server_settings={"application_name": "skill-enms-performance"},
                )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=1.5)
            except (asyncio.TimeoutError, *DB_ERRORS):
                pool.terminate()

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        pool = await self.pool()
        return await pool.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        pool = await self.pool()
        return await pool.fetchrow(sql, *args)

    # --- schema -----------------------------------------------------------------------
    async def apply_enms_schema(self) -> None:
        pool = await self.pool()
        async with pool.acquire() as conn:
            await conn.execute(schema_sql())

    async def ping(self) -> str:
        row = await self.fetchrow(Q.SERVER_VERSION)
        return str(row["version"]) if row else ""

    # --- catalogue --------------------------------------------------------------------
    async def list_seus(self) -> list[SeuRow]:
        rows = await self.fetch(Q.LIST_SEUS)
        return [
            SeuRow(
                id=str(r["id"]), name=r["name"], energy_source=r["energy_source"], unit=r["unit"] or "kWh",
                cost_per_unit=float(r["cost_per_unit"]) if r["cost_per_unit"] is not None else None,
                carbon_factor=float(r["carbon_factor"]) if r["carbon_factor"] is not None else None,
                machine_ids=tuple(str(m) for m in r["machine_ids"]),
                machine_names=tuple(n for n in r["machine_names"] if n is not None),
                machine_types=tuple(t for t in r["machine_types"] if t is not None),
                factory=r["factory"], factory_id=str(r["factory_id"]) if r["factory_id"] else None,
                timezone=r["timezone"] or "UTC",
            )
            for r in rows
        ]

    # --- readings ---------------------------------------------------------------------
    async def daily_energy(self, seu: SeuRow, start_utc: dt.datetime, end_utc: dt.datetime,
                           cutoff: dt.time | None = None) -> list[DayEnergy]:
        """Energy per local day of the SEU's factory in [start_utc, end_utc).

        With ``cutoff``, only readings before that local wall-clock time of each day count
        (the same hours as a partial "today").
        """
        rows = await self.fetch(
            Q.DAILY_ENERGY_RAW, list(seu.machine_ids), energy_types_for(seu.energy_source),
            start_utc, end_utc, seu.timezone, cutoff or dt.time(23, 59, 59, 999999), cutoff is not None,
        )
        return [DayEnergy(r["day"], float(r["energy_kwh"] or 0.0), int(r["readings"]),
                          float(r["coverage"] or 0.0)) for r in rows]

    async def data_range(self, seu: SeuRow) -> tuple[dt.datetime | None, dt.datetime | None]:
        row = await self.fetchrow(Q.DATA_RANGE, list(seu.machine_ids), energy_types_for(seu.energy_source))
        return (row["first"], row["last"]) if row else (None, None)


__all__ = ["Store", "SeuRow", "DayEnergy", "energy_types_for", "redact_dsn", "schema_sql",
           "ENERGY_TYPE_ALIASES", "DB_ERRORS"]
