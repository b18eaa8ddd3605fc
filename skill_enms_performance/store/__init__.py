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
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import asyncpg

from ..timeutil import day_bounds_utc
from . import queries as Q
from .errors import StoreRejectedError, StoreError, StoreTimeoutError, StoreUnavailableError

#: energy_type values that mean the same energy in real deployments
ENERGY_TYPE_ALIASES: dict[str, tuple[str, ...]] = {
    "electricity": ("electricity", "energy", "electrical"),
    "natural_gas": ("natural_gas", "gas"),
    "steam": ("steam",),
    "compressed_air": ("compressed_air",),
}

#: version of rollup.sql; rollups of another version are dropped and rebuilt
ROLLUP_VERSION = 5  # 5: an hour with a single reading covers that reading's interval

# The driver's errors, by what they mean to a caller (``Store.guard`` turns them into ``store.errors``; the engine
# maps those to its codes and imports no driver):
#: the database cannot be reached or the connection broke (a stop during a burst leaves a connection in a state
#: the driver refuses to switch from: InternalClientError; a connection opened while the server stops is ended with
#: AdminShutdownError or CrashShutdownError)
DB_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
             asyncpg.exceptions.CannotConnectNowError, asyncpg.InternalClientError, ConnectionError,
             asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.CrashShutdownError)
#: a statement ran out of time
DB_TIMEOUTS = (asyncio.TimeoutError, asyncpg.QueryCanceledError)
#: the database refused a value (a constraint, a type or range)
DB_REJECTED = (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError)


def energy_types_for(source: str) -> list[str]:
    """The ``energy_readings.energy_type`` values counted for an energy source."""
    return list(ENERGY_TYPE_ALIASES.get(source, (source,)))


#: every statement is planned for its own parameters. asyncpg keeps each statement prepared per connection, and from
#: its sixth run PostgreSQL may switch to a generic plan that guesses one row per aggregate: the running day's
#: same-hours series (``SEU_PARTIAL_SERIES``) then joins its three daily aggregates by nested loops, 1.4-2.1 s instead
#: of 20-40 ms (PostgreSQL 18, 15-minute plant); a plant-wide "today" of 100 SEUs took minutes of database time.
#: Planning each run costs about a millisecond.
PLAN_CACHE_MODE = "force_custom_plan"

_SECRETS: set[str] = set()


def register_dsn(dsn: str) -> None:
    """Remember the password of a DSN so that ``redact_dsn`` removes it wherever it appears."""
    password = None
    try:
        if "://" in dsn:
            parts = urlsplit(dsn)
            password = parts.password or (parse_qs(parts.query).get("password") or [None])[0]
        else:
            match = re.search(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn, flags=re.IGNORECASE)
            password = match.group(1).strip("'") if match else None
    except ValueError:
        password = None
    if password and len(password) >= 4:  # shorter ones would blank out ordinary words; URL forms still go
        _SECRETS.update({password, quote(password, safe=""), quote(password)})


def redact_dsn(text: str) -> str:
    """Remove passwords from anything that may contain a DSN (logs, errors, speech, JSON)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    # Linear on any input: the scheme is anchored after a non-word character and bounded, so a long run of
    # letters is not re-scanned from every position (that made a 100 KB message take minutes).
    if "://" in text:
        text = _URL_SECRET.sub(r"\1***@", text)
    if "password" in text.lower():
        text = _KEYWORD_SECRET.sub(r"\1***", text)
    return text


_URL_SECRET = re.compile(r"(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}://[^:/@\s]{0,256}:)[^/\s@]{0,1024}@", re.IGNORECASE)
_KEYWORD_SECRET = re.compile(r"(password\s{0,8}=\s{0,8})('(?:[^'\\]|\\.){0,1024}'|[^\s&]{1,1024})", re.IGNORECASE)


def rollup_sql() -> str:
    """The idempotent DDL of the engine's own rollup schema."""
    return resources.files(__package__).joinpath("rollup.sql").read_text(encoding="utf-8")


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
    location: str | None = None


@dataclasses.dataclass(frozen=True)
class SeriesDay:
    """One local day of an SEU with its drivers (NULL drivers are ``None``)."""

    day: dt.date
    energy_kwh: float
    readings: int
    coverage: float
    production: float | None
    temp_mean_c: float | None
    idle_kwh: float | None = None
    running_kwh: float | None = None
    peak_kw: float | None = None
    temp_min_c: float | None = None
    temp_max_c: float | None = None


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _partial_day(r: asyncpg.Record, window_s: float) -> SeriesDay:
    return SeriesDay(day=r["day"], energy_kwh=float(r["energy_kwh"] or 0.0), readings=int(r["readings"]),
                     coverage=min(1.0, float(r["covered_s"] or 0.0) / window_s), production=_f(r["production"]),
                     temp_mean_c=_f(r["temp_mean_c"]))


@dataclasses.dataclass(frozen=True)
class DayEnergy:
    day: dt.date
    energy_kwh: float
    readings: int
    coverage: float


async def _no_session_reset(conn: asyncpg.Connection) -> None:
    """What the pool does to a connection given back, besides rolling back an open transaction (which asyncpg
    always does): nothing. The default sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` and
    waits for it, a round trip on the event loop for every query (a quarter of the loop's time in the bus fuzz,
    issue 14); this store leaves no session state behind: its settings are ``SET LOCAL``/``set_config(..., true)``
    and its advisory locks ``pg_advisory_xact_lock``, all ending with their transaction, and it never listens or
    opens cursors outside one."""


class Store:
    """The asyncpg pool and the queries the engine needs."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 8,
                 connect_timeout_s: float = 3.0, statement_timeout_s: float = 10.0,
                 rollup_timeout_s: float = 3600.0) -> None:
        self._dsn = dsn
        register_dsn(dsn)
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout_s = connect_timeout_s
        self._statement_timeout_s = statement_timeout_s
        self._rollup_timeout_s = rollup_timeout_s
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._has_tariffs: bool | None = None
        self._tariffs_lock = asyncio.Lock()

    @property
    def dsn_redacted(self) -> str:
        return redact_dsn(self._dsn)

    async def pool(self) -> asyncpg.Pool:
        """The pool, created on first use and again after the database came back."""
        if self._pool is not None and not self._pool._closed:  # noqa: SLF001 - asyncpg has no public flag
            return self._pool
        async with self._pool_lock:
            if self._pool is None or self._pool._closed:  # noqa: SLF001
                self._pool = await self._create_pool()
        return self._pool

    async def _create_pool(self) -> asyncpg.Pool:
        try:
            return await asyncpg.create_pool(
                self._dsn, min_size=self._min_size, max_size=self._max_size,
                timeout=self._connect_timeout_s, command_timeout=self._statement_timeout_s,
                server_settings={"application_name": "skill-enms-performance", "TimeZone": "UTC",
                                 "plan_cache_mode": PLAN_CACHE_MODE},
                reset=_no_session_reset,
            )
        except asyncio.TimeoutError:  # a host that does not answer is unreachable, not a slow statement
            raise ConnectionError("connection timed out") from None
        except ValueError as err:  # a malformed connection string (a port that is not a number, ...)
            raise ConnectionError(f"the connection string is not valid ({redact_dsn(str(err))[:120]})") from None

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=1.5)
            except (asyncio.TimeoutError, *DB_ERRORS):
                pool.terminate()

    async def guard(self, awaitable):
        """Await a store call, turning driver failures into the store's own errors: unreachable (the pool is
        closed, so that the next call builds a fresh one: the database may be back), out of time, or a refused
        value. Other database errors are bugs and pass unchanged."""
        try:
            return await awaitable
        except StoreError:
            raise
        except DB_TIMEOUTS:
            raise StoreTimeoutError(f"statement ran longer than {self._statement_timeout_s:g} s") from None
        except DB_REJECTED as err:
            raise StoreRejectedError(type(err).__name__) from None
        except DB_ERRORS as err:
            await self.close()
            raise StoreUnavailableError(redact_dsn(type(err).__name__ + ": " + str(err))) from None

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
                timezone=r["timezone"] or "UTC", location=r["location"],
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

    async def running_day_many(self, seus: list[SeuRow], start_utc: dt.datetime, end_utc: dt.datetime,
                               timezone: str, cutoff: dt.time) -> list[list[DayEnergy]]:
        """``daily_energy(seu, start_utc, end_utc, cutoff)`` of many SEUs of one time zone in one statement, in the
        order of ``seus``."""
        groups: dict[tuple[str, ...], int] = {}
        machines: list[tuple[int, str, int]] = []
        for i, seu in enumerate(seus):
            group = groups.setdefault(tuple(energy_types_for(seu.energy_source)), len(groups))
            machines += [(i, m, group) for m in seu.machine_ids]
        types = [(g, t) for kinds, g in groups.items() for t in kinds]
        rows = await self.fetch(Q.DAILY_ENERGY_RAW_MANY, [i for i, _, _ in machines], [m for _, m, _ in machines],
                                [g for _, _, g in machines], [g for g, _ in types], [t for _, t in types],
                                start_utc, end_utc, timezone, cutoff)
        out: list[list[DayEnergy]] = [[] for _ in seus]
        for r in rows:
            out[r["seu"]].append(DayEnergy(r["day"], float(r["energy_kwh"] or 0.0), int(r["readings"]),
                                           float(r["coverage"] or 0.0)))
        return out

    async def left_out_readings(self, seu: SeuRow, start_utc: dt.datetime,
                                end_utc: dt.datetime) -> tuple[int, int, int]:
        """(missing, implausible, duplicated) readings of the SEU in [start_utc, end_utc): what its figures leave
        out."""
        row = await self.fetchrow(Q.LEFT_OUT_READINGS, list(seu.machine_ids), energy_types_for(seu.energy_source),
                                  start_utc, end_utc)
        if not row:
            return 0, 0, 0
        return int(row["missing"] or 0), int(row["implausible"] or 0), int(row["duplicated"] or 0)

    # --- rollups ----------------------------------------------------------------------
    async def rollup_mode(self, create: bool = True) -> str:
        """'rollup' when the engine's schema exists (created here if allowed) and is writable,
        'raw' when the role may not write: aggregates are then computed on the fly."""
        try:
            return await self._rollup_mode(create)
        except asyncpg.InsufficientPrivilegeError:  # e.g. enms_perf belongs to another role
            return "raw"

    async def _rollup_mode(self, create: bool) -> str:
        pool = await self.pool()
        async with pool.acquire() as conn:
            if await conn.fetchval(Q.ROLLUP_SCHEMA_PRESENT) and not await conn.fetchval(Q.ROLLUP_SCHEMA_USABLE):
                return "raw"
            present = await conn.fetchval(Q.ROLLUP_SCHEMA_EXISTS)
            stale = present and await conn.fetchval(Q.ROLLUP_VERSION) != ROLLUP_VERSION
            stale = stale or (not present and await conn.fetchval(Q.LEGACY_ROLLUPS))
            if stale and create:
                try:  # derived data of an older engine: rebuild it
                    await conn.execute(Q.DROP_ROLLUPS)
                    present = False
                except asyncpg.PostgresError:
                    return "raw"
            if not present:
                if not (create and await conn.fetchval(Q.CAN_CREATE_SCHEMA)):
                    return "raw"
                try:
                    await conn.execute(rollup_sql())
                except asyncpg.InsufficientPrivilegeError:
                    return "raw"
            return "rollup" if await conn.fetchval(Q.CAN_WRITE_ROLLUPS) else "raw"

    async def refresh_rollups(self, now: dt.datetime, recheck: dt.timedelta = dt.timedelta(hours=48)) -> dict[str, Any]:
        """Re-aggregate everything from (last refresh - ``recheck``) up to the current hour.

        One transaction, guarded by an advisory lock so that several engines on one database
        never refresh at the same time (the loser simply skips). Returns what was done, and whether
        the re-aggregated window now holds anything else than before (``changed``)."""
        pool = await self.pool()
        until = now.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
        to = until + dt.timedelta(hours=1)
        async with pool.acquire() as conn:
            async with conn.transaction():
                # maintenance, not a question: the first build of years of 1-second data takes minutes
                await conn.execute(Q.SET_LOCAL_STATEMENT_TIMEOUT, str(int(self._rollup_timeout_s * 1000)))
                if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(50001, 1)"):
                    return {"skipped": True}
                state = {r["source"]: r["refreshed_to"] for r in await conn.fetch(Q.REFRESH_STATE)}
                if "all" in state:
                    since = state["all"] - recheck
                else:
                    first = await conn.fetchval(Q.OLDEST_READING)
                    if first is None:
                        return {"skipped": True, "reason": "no readings"}
                    since = first.replace(minute=0, second=0, microsecond=0)
                incremental = "all" in state
                before = await conn.fetchval(Q.HOURLY_DIGEST, since, to) if incremental else None
                for statement in (Q.DELETE_HOURLY, Q.INSERT_HOURLY, Q.DELETE_HOURLY_PRODUCTION,
                                  Q.INSERT_HOURLY_PRODUCTION, Q.DELETE_HOURLY_WEATHER, Q.INSERT_HOURLY_WEATHER):
                    await conn.execute(statement, since, to, timeout=self._rollup_timeout_s)
                aliases = [(t, kind) for kind, names in ENERGY_TYPE_ALIASES.items() for t in names]
                await conn.execute(Q.MERGE_HOURLY_ALIASES, since, to, [t for t, _ in aliases],
                                   [k for _, k in aliases], timeout=self._rollup_timeout_s)
                await conn.execute(Q.SET_READING_INTERVALS, since, to, timeout=self._rollup_timeout_s)
                changed = not incremental or before != await conn.fetchval(Q.HOURLY_DIGEST, since, to)
                for statement in (Q.DELETE_DAILY, Q.INSERT_DAILY, Q.DELETE_DAILY_PRODUCTION,
                                  Q.INSERT_DAILY_PRODUCTION, Q.DELETE_DAILY_WEATHER, Q.INSERT_DAILY_WEATHER):
                    await conn.execute(statement, since, timeout=self._rollup_timeout_s)
                await conn.execute(Q.SET_REFRESH_STATE, "all", until)
            if until - since > dt.timedelta(days=7):
                # a large (first) build: give the planner statistics before the first question
                try:
                    await conn.execute(Q.ANALYZE_ROLLUPS, timeout=self._rollup_timeout_s)
                except asyncpg.PostgresError:
                    pass  # not the owner: autovacuum will analyse them later
        return {"skipped": False, "since": since, "until": until, "changed": changed}

    async def rollup_freshness(self) -> dict[str, Any]:
        row = await self.fetchrow(Q.ROLLUP_FRESHNESS)
        return dict(row) if row else {}

    async def seu_daily_series(self, seu: SeuRow, first: dt.date, last: dt.date, mode: str) -> list[SeriesDay]:
        """Daily energy, production and weather of an SEU over local days [first, last]."""
        types = energy_types_for(seu.energy_source)
        if mode == "rollup":
            rows = await self.fetch(Q.SEU_DAILY_SERIES, list(seu.machine_ids), types, seu.factory_id, first, last)
        else:
            start, end = day_bounds_utc(first, last, seu.timezone)
            rows = await self.fetch(Q.SEU_DAILY_SERIES_RAW, list(seu.machine_ids), types, seu.factory_id,
                                    first, last, seu.timezone, start, end)
        return [SeriesDay(day=r["day"], energy_kwh=float(r["energy_kwh"]), readings=int(r["readings"]),
                          coverage=float(r["coverage"] or 0.0), production=_f(r["production"]),
                          temp_mean_c=_f(r["temp_mean_c"]), idle_kwh=_f(r["idle_kwh"]),
                          running_kwh=_f(r["running_kwh"]), peak_kw=_f(r["peak_kw"]),
                          temp_min_c=_f(r["temp_min_c"]), temp_max_c=_f(r["temp_max_c"])) for r in rows]

    async def seu_partial_series(self, seu: SeuRow, first: dt.date, last: dt.date, cutoff: dt.time) -> list[SeriesDay]:
        """Per local day, the same hours as a running day (midnight to ``cutoff``), from hourly rollups."""
        fraction = (cutoff.minute * 60 + cutoff.second) / 3600.0
        hours_before = cutoff.hour + fraction
        rows = await self.fetch(Q.SEU_PARTIAL_SERIES, list(seu.machine_ids), energy_types_for(seu.energy_source),
                                seu.factory_id, first, last, cutoff.hour, fraction)
        window_s = max(hours_before * 3600.0, 1.0)
        return [_partial_day(r, window_s) for r in rows]

    async def partial_series_many(self, seus: list[SeuRow], first: dt.date, last: dt.date, cutoff: dt.time
                                  ) -> list[list[SeriesDay]]:
        """``seu_partial_series`` of many SEUs in one statement (a plant-wide question about a running day), in the
        order of ``seus``; each SEU's days are those ``seu_partial_series`` reads."""
        fraction = (cutoff.minute * 60 + cutoff.second) / 3600.0
        window_s = max((cutoff.hour + fraction) * 3600.0, 1.0)
        machines = [(i, m) for i, seu in enumerate(seus) for m in seu.machine_ids]
        types = [(i, t) for i, seu in enumerate(seus) for t in energy_types_for(seu.energy_source)]
        rows = await self.fetch(Q.SEU_PARTIAL_SERIES_MANY, [i for i, _ in machines], [m for _, m in machines],
                                [i for i, _ in types], [t for _, t in types], list(range(len(seus))),
                                [seu.factory_id for seu in seus], first, last, cutoff.hour, fraction)
        out: list[list[SeriesDay]] = [[] for _ in seus]
        for r in rows:
            out[r["seu"]].append(_partial_day(r, window_s))
        return out

    async def hourly_profile(self, seu: SeuRow, start_utc: dt.datetime, end_utc: dt.datetime
                             ) -> list[tuple[dt.date, int, float, float | None]]:
        """(local day, local hour, kWh, production or None) of an SEU, from hourly rollups."""
        rows = await self.fetch(Q.SEU_HOURLY_PROFILE, list(seu.machine_ids), energy_types_for(seu.energy_source),
                                start_utc, end_utc)
        return [(r["local_day"], int(r["local_hour"]), float(r["energy_kwh"]), _f(r["production"])) for r in rows]

    async def today_drivers(self, seu: SeuRow, start: dt.datetime, now: dt.datetime) -> dict[str, Any]:
        row = await self.fetchrow(Q.TODAY_DRIVERS_RAW, list(seu.machine_ids), seu.factory_id, start, now)
        return dict(row) if row else {}

    async def today_drivers_many(self, seus: list[SeuRow], start: dt.datetime, now: dt.datetime
                                 ) -> list[dict[str, Any]]:
        """``today_drivers`` of many SEUs in one statement, in the order of ``seus``."""
        machines = [(i, m) for i, seu in enumerate(seus) for m in seu.machine_ids]
        rows = await self.fetch(Q.TODAY_DRIVERS_RAW_MANY, [i for i, _ in machines], [m for _, m in machines],
                                list(range(len(seus))), [seu.factory_id for seu in seus], start, now)
        out: list[dict[str, Any]] = [{"production": None, "temp_mean_c": None} for _ in seus]
        for r in rows:
            out[r["seu"]] = {"production": r["production"], "temp_mean_c": r["temp_mean_c"]}
        return out

    async def tou_rate(self, seu: SeuRow, first: dt.date, last: dt.date) -> float | None:
        """Energy-weighted time-of-use rate of the SEU over local days [first, last], if tariffs exist."""
        if self._has_tariffs is None:
            async with self._tariffs_lock:  # asked once: a plant-wide question prices every SEU at once
                if self._has_tariffs is None:
                    self._has_tariffs = bool(await self.fetchval(Q.HAS_TARIFFS))
        if not self._has_tariffs or not seu.factory_id:
            return None
        row = await self.fetchrow(Q.TOU_RATE, list(seu.machine_ids), energy_types_for(seu.energy_source),
                                  seu.factory_id, first, last)
        return float(row["rate"]) if row and row["rate"] is not None else None

    async def save_action_plan(self, plan_id: str, seu_name: str, energy_source: str, issue_type: str,
                               status: str | None, plan_json: str) -> tuple[str, str, bool]:
        """Save a plan as the open plan of its SEU and issue: (id, status, created). A repeated save updates the
        open plan (its id and, when ``status`` is None, its status stay)."""
        pool = await self.pool()
        async with pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute(Q.SAVE_ACTION_PLAN_LOCK, f"{seu_name}|{energy_source}|{issue_type}")
                row = await conn.fetchrow(Q.SAVE_ACTION_PLAN, plan_id, seu_name, energy_source, issue_type,
                                          status, plan_json)
        return str(row["id"]), row["status"], bool(row["created"])

    async def list_action_plans(self, status: str | None, seu_name: str | None, limit: int, offset: int
                                ) -> tuple[list[dict[str, Any]], int]:
        """One page of plans (most recently updated first) and how many match in all."""
        rows = [dict(r) for r in await self.fetch(Q.LIST_ACTION_PLANS, status, seu_name, limit, offset)]
        total = rows[0]["total"] if rows else await self.fetchval(Q.COUNT_MATCHING_ACTION_PLANS, status, seu_name)
        return rows, int(total)

    async def update_action_plan_status(self, plan_id: str, status: str) -> bool:
        return await self.fetchval(Q.UPDATE_ACTION_PLAN_STATUS, plan_id, status) is not None

    async def count_action_plans(self) -> dict[str, int]:
        return {r["status"]: r["plans"] for r in await self.fetch(Q.COUNT_ACTION_PLANS)}

    async def newest_readings(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.fetch(Q.NEWEST_READING_PER_MACHINE)]

    async def fetchval(self, sql: str, *args: Any) -> Any:
        pool = await self.pool()
        return await pool.fetchval(sql, *args)

    async def reading_interval_s(self, seu: SeuRow) -> float | None:
        """The typical interval between the SEU's readings in seconds (the longest of its machines)."""
        value = await self.fetchval(Q.READING_INTERVAL_S, list(seu.machine_ids), energy_types_for(seu.energy_source))
        return float(value) if value is not None else None

    async def data_range(self, seu: SeuRow) -> tuple[dt.datetime | None, dt.datetime | None]:
        row = await self.fetchrow(Q.DATA_RANGE, list(seu.machine_ids), energy_types_for(seu.energy_source))
        return (row["first"], row["last"]) if row else (None, None)


__all__ = ["register_dsn", "Store", "SeuRow", "DayEnergy", "SeriesDay", "rollup_sql", "energy_types_for", "redact_dsn", "schema_sql",
           "ENERGY_TYPE_ALIASES", "DB_ERRORS", "DB_TIMEOUTS", "DB_REJECTED",
           "StoreError", "StoreUnavailableError", "StoreTimeoutError", "StoreRejectedError"]
