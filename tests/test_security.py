"""Least privilege and secrets.

* a role that may only SELECT the EnMS tables (and CREATE in the database, for the engine's own schema
  ``enms_perf``) runs the skill normally and cannot change EnMS data; a role with SELECT only (no
  CREATE) still gets answers, computed from raw readings (mode 'raw');
* nothing the skill does writes EnMS tables, even as their owner: statement-level audit triggers on
  every EnMS table stay silent and a checksum of every table is the same before and after a run of
  spoken questions, bus requests and a rollup refresh (there is no pg_stat_statements here);
* a password in the DSN never appears in logs (caplog, every Python logger incl. OVOS's own, log
  files), stdout/stderr, bus messages or spoken text.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from ovos_bus_client.message import Message

from skill_enms_performance.voice import speech

from .conftest import _SANDBOX, REF_NOW, run

pytestmark = pytest.mark.e2e

#: every EnMS table the engine reads (store/schema.sql)
ENMS_TABLES = ("factories", "machines", "energy_sources", "seus", "energy_readings", "production_data",
               "environmental_data", "energy_tariffs")
SMALL_TABLES = ("factories", "machines", "energy_sources", "seus", "energy_tariffs")
YESTERDAY = "2025-11-05"


# --- helpers -------------------------------------------------------------------------------
@contextlib.contextmanager
def skill_session(dsn: str, lang: str = "en-us") -> Iterator[Any]:
    """The skill on MiniCroft, connected with ``dsn`` (ENMS_DSN) at the pinned clock."""
    from skill_enms_performance.harness import AskSession

    saved = {k: os.environ.get(k) for k in ("ENMS_DSN", "ENMS_NOW")}
    os.environ["ENMS_DSN"] = dsn
    os.environ["ENMS_NOW"] = REF_NOW.isoformat()
    session = AskSession(lang)
    try:
        yield session
    finally:
        session.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def bus_call(session: Any, kind: str, data: dict, timeout: float = 15.0) -> dict:
    answer: dict = {}
    got = threading.Event()
    fid = uuid.uuid4().hex

    def on_response(message: Message) -> None:
        if (message.context or {}).get("security_id") == fid:
            answer.update(message.data)
            got.set()

    session.croft.bus.on(f"{kind}.response", on_response)
    try:
        session.croft.bus.emit(Message(kind, data, {"security_id": fid}))
        assert got.wait(timeout), f"no reply to {kind}"
    finally:
        session.croft.bus.remove(f"{kind}.response", on_response)
    return answer


def role_dsn(admin_dsn: str, role: str) -> str:
    parts = urlsplit(admin_dsn)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


async def _public_tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
    return {r["table_name"] for r in rows}


async def _grant_reader(admin_dsn: str, role: str, *, may_create: bool) -> None:
    """A login role that may SELECT the EnMS tables and nothing else (plus CREATE on the database,
    i.e. make schemas of its own, when ``may_create``). PUBLIC loses its default rights here."""
    db = urlsplit(admin_dsn).path.lstrip("/")
    conn = await asyncpg.connect(admin_dsn)
    try:
        assert await _public_tables(conn) == set(ENMS_TABLES)
        await conn.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT')
        await conn.execute(f'REVOKE ALL ON DATABASE "{db}" FROM PUBLIC')
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        await conn.execute(f'GRANT CONNECT ON DATABASE "{db}" TO "{role}"')
        if may_create:
            await conn.execute(f'GRANT CREATE ON DATABASE "{db}" TO "{role}"')
        await conn.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        for table in ENMS_TABLES:
            await conn.execute(f'GRANT SELECT ON TABLE public.{table} TO "{role}"')
    finally:
        await conn.close()


async def _drop_role(admin_dsn: str, role: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
        await conn.execute(f'DROP OWNED BY "{role}" CASCADE')
        await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await conn.close()


@pytest.fixture
def make_role(plant_copy):
    """Creates reader roles on the private plant copy; dropped (with what they own) afterwards."""
    made: list[str] = []

    def make(*, may_create: bool) -> tuple[str, str]:
        role = f"enms_reader_{uuid.uuid4().hex[:8]}"
        run(_grant_reader(plant_copy, role, may_create=may_create))
        made.append(role)
        return role, role_dsn(plant_copy, role)

    yield make
    for role in made:
        run(_drop_role(plant_copy, role))


async def enms_checksums(dsn: str) -> dict[str, Any]:
    """Row count and an order-independent hash over every row of every EnMS table, the md5 of the
    sorted rows of the small tables, the energy total, and the shape of the public schema."""
    conn = await asyncpg.connect(dsn)
    try:
        out: dict[str, Any] = {}
        for table in ENMS_TABLES:
            row = await conn.fetchrow(f"SELECT count(*) AS n, coalesce(sum(hashtext(x::text)::numeric), 0) AS h "
                                      f"FROM public.{table} x")
            out[table] = (row["n"], row["h"])
        for table in SMALL_TABLES:
            out[f"{table}.md5"] = await conn.fetchval(
                f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM public.{table} x")
        out["energy_readings.kwh"] = await conn.fetchval("SELECT sum(energy_kwh) FROM public.energy_readings")
        out["schema"] = await conn.fetchval(
            "SELECT md5(string_agg(table_name || '.' || column_name || ':' || data_type, ',' "
            "ORDER BY table_name, ordinal_position)) FROM information_schema.columns WHERE table_schema = 'public'")
        return out
    finally:
        await conn.close()


def _assert_normal_answer(record: dict) -> None:
    said = f"dialogs={record['dialogs']} spoken={record['spoken']} request={record['request']}"
    assert (record["intent"], record["op"]) == ("request", "analyze"), said
    assert record["request"] == {"op": "analyze", "seu_name": "Compressor-1", "energy_source": "electricity",
                                 "analysis_date": YESTERDAY}, said
    assert record["dialogs"] and record["dialogs"][0] in speech.VERDICT_DIALOGS, said
    assert record["dialogs"][0].endswith(".past"), said  # yesterday
    spoken = record["spoken"][0]
    assert "Compressor-1" in spoken and "yesterday" in spoken and "kilowatt hours" in spoken, said


async def _cannot_write_enms(dsn: str) -> dict[str, list[str]]:
    """Every write to every EnMS table, as the role of ``dsn``: which ones were refused."""
    refused: dict[str, list[str]] = {}
    conn = await asyncpg.connect(dsn)
    try:
        for table in ENMS_TABLES:
            column = await conn.fetchval(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = $1 ORDER BY ordinal_position LIMIT 1", table)
            statements = {
                "INSERT": f"INSERT INTO public.{table} DEFAULT VALUES",
                "INSERT SELECT": f"INSERT INTO public.{table} SELECT * FROM public.{table} LIMIT 1",
                "UPDATE": f"UPDATE public.{table} SET {column} = {column}",
                "DELETE": f"DELETE FROM public.{table}",
                "TRUNCATE": f"TRUNCATE public.{table}",
                "ALTER": f"ALTER TABLE public.{table} ADD COLUMN sneaky int",
                "DROP": f"DROP TABLE public.{table}",
            }
            for op, sql in statements.items():
                tx = conn.transaction()
                await tx.start()
                try:
                    await conn.execute(sql)
                except asyncpg.InsufficientPrivilegeError:
                    refused.setdefault(table, []).append(op)
                finally:
                    await tx.rollback()  # should a write ever pass, the data stays as it was
        # no new tables in the EnMS schema either
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.sneaky (id int)")
    finally:
        await conn.close()
    return refused


# --- least privilege -----------------------------------------------------------------------
def test_select_and_create_role_runs_the_skill_and_cannot_change_enms_data(plant_copy, make_role):
    role, dsn = make_role(may_create=True)
    before = run(enms_checksums(plant_copy))
    with skill_session(dsn) as session:
        _assert_normal_answer(session.ask("How did Compressor-1 perform yesterday?"))
        health = bus_call(session, "enms.performance.health", {})
        assert health["database_reachable"] and health["mode"] == "rollup", health
        reply = bus_call(session, "enms.performance.analyze", {"seu_name": "Compressor-1", "analysis_date": YESTERDAY})
        assert reply.get("seu_name") == "Compressor-1" and "error" not in reply, reply
    assert run(enms_checksums(plant_copy)) == before

    refused = run(_cannot_write_enms(dsn))
    every = ["INSERT", "INSERT SELECT", "UPDATE", "DELETE", "TRUNCATE", "ALTER", "DROP"]
    assert refused == {table: every for table in ENMS_TABLES}

    async def own_schema() -> tuple[str | None, bool]:
        conn = await asyncpg.connect(dsn)
        try:
            owner = await conn.fetchval("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'enms_perf'")
            await conn.execute("DELETE FROM enms_perf.refresh_state WHERE false")  # its own data: allowed
            return owner, await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        finally:
            await conn.close()

    owner, superuser = run(own_schema())
    assert owner == role and superuser is False


def test_select_only_role_answers_from_raw_readings(plant_copy, make_role):
    role, dsn = make_role(may_create=False)
    before = run(enms_checksums(plant_copy))
    with skill_session(dsn) as session:
        _assert_normal_answer(session.ask("How did Compressor-1 perform yesterday?"))
        health = bus_call(session, "enms.performance.health", {})
        assert health["database_reachable"] and health["mode"] == "raw", health
        reply = bus_call(session, "enms.performance.analyze", {"seu_name": "Compressor-1", "analysis_date": YESTERDAY})
        assert reply.get("seu_name") == "Compressor-1" and "error" not in reply, reply
        # saving an action plan needs the engine's own schema: a read-only role gets a reason, not a crash
        reply = bus_call(session, "enms.performance.action_plan", {"seu_name": "Compressor-1", "save": True})
        assert reply.get("error", {}).get("code") != "internal_error", reply
    assert run(enms_checksums(plant_copy)) == before
    refused = run(_cannot_write_enms(dsn))
    assert all(len(ops) == 7 for ops in refused.values()) and set(refused) == set(ENMS_TABLES)

    async def nothing_created() -> bool:
        conn = await asyncpg.connect(plant_copy)
        try:
            return await conn.fetchval("SELECT to_regnamespace('enms_perf') IS NULL")
        finally:
            await conn.close()

    assert run(nothing_created())


def test_select_only_role_where_another_role_keeps_the_rollups(plant_copy, make_role):
    """A reader next to a writer: ``enms_perf`` exists (made by another role, e.g. an earlier
    deployment) and the reader may not even look into it. It must still answer, in raw mode."""
    from skill_enms_performance.store import rollup_sql

    async def rollups_by_owner() -> None:
        conn = await asyncpg.connect(plant_copy)
        try:
            await conn.execute(rollup_sql())
        finally:
            await conn.close()

    run(rollups_by_owner())
    _role, dsn = make_role(may_create=False)
    with skill_session(dsn) as session:
        _assert_normal_answer(session.ask("How did Compressor-1 perform yesterday?"))
        health = bus_call(session, "enms.performance.health", {})
        assert health["database_reachable"] and health["mode"] == "raw", health


AUDIT_SQL = """
CREATE SCHEMA enms_audit;
CREATE TABLE enms_audit.writes (at timestamptz NOT NULL DEFAULT clock_timestamp(), tbl text, op text, app text);
CREATE FUNCTION enms_audit.record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO enms_audit.writes (tbl, op, app) VALUES (TG_TABLE_NAME, TG_OP, current_setting('application_name'));
    RETURN NULL;
END $$;
"""


async def _install_audit(dsn: str) -> None:
    """Statement-level triggers: they fire for every INSERT/UPDATE/DELETE/TRUNCATE statement on an
    EnMS table, even one that touches no row."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(AUDIT_SQL)
        for table in ENMS_TABLES:
            await conn.execute(f"CREATE TRIGGER enms_audit_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                               f"ON public.{table} FOR EACH STATEMENT EXECUTE FUNCTION enms_audit.record()")
        # the trap works: a no-op write is recorded (and then forgotten)
        await conn.execute("UPDATE public.factories SET name = name WHERE false")
        assert await conn.fetchval("SELECT count(*) FROM enms_audit.writes") == 1
        await conn.execute("DELETE FROM enms_audit.writes")
    finally:
        await conn.close()


async def _audited_writes(dsn: str) -> list[dict]:
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch("SELECT tbl, op, app FROM enms_audit.writes ORDER BY at")]
    finally:
        await conn.close()


def test_nothing_the_skill_does_writes_enms_tables_even_as_their_owner(plant_copy):
    run(_install_audit(plant_copy))
    before = run(enms_checksums(plant_copy))
    with skill_session(plant_copy) as session:
        for utterance in ("How did Compressor-1 perform today?", "how did hvac main perform yesterday",
                          "why did hvac main use so much energy on october 20th",
                          "give me a summary of all compressors", "give me a summary of the munich plant for last week",
                          "is the energy database ok"):
            record = session.ask(utterance)
            assert record["spoken"], record
        assert session.ask("how did boiler one perform yesterday")["dialogs"] == ["ask.energy_source"]
        assert "Boiler-1" in session.ask("natural gas")["spoken"][-1]
        assert "error" not in bus_call(session, "enms.performance.analyze",
                                       {"seu_name": "Injection-Molding-1", "analysis_date": "2025-10-29"})
        assert "items" in bus_call(session, "enms.performance.summary",
                                   {"period": {"start": "2025-10-01", "end": "2025-10-31"}})
        assert bus_call(session, "enms.performance.health", {})["mode"] == "rollup"
        for kind, data in (("enms.performance.opportunities", {"period": "month"}),
                           ("enms.performance.action_plan", {"seu_name": "Compressor-1", "save": True}),
                           ("enms.performance.action_plan", {"list": True}),
                           ("enms.performance.savings", {"seu_name": "Compressor-1"})):
            reply = bus_call(session, kind, data)
            assert reply.get("error", {}).get("code") != "internal_error", (kind, reply)
        skill = session.skill
        skill._loop.run(skill._engine.refresh_rollups(), timeout=60)  # what keep_fresh() does every minute
    assert run(_audited_writes(plant_copy)) == []
    assert run(enms_checksums(plant_copy)) == before


# --- passwords -----------------------------------------------------------------------------
SECRET = "Sup3rS3cret"


class _Sink(logging.Handler):
    """Every log record of every logger (OVOS's loggers do not propagate to the root)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception as err:  # noqa: BLE001 - a record that cannot be formatted is kept raw
            self.lines.append(f"{record.name} {record.msg!r} {record.args!r} ({type(err).__name__})")


def _files_containing(root: Path, needle: bytes) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and needle in path.read_bytes():
                hits.append(str(path))
        except OSError:
            continue
    return hits


@pytest.mark.parametrize("dsn", [
    f"postgresql://enms:{SECRET}@127.0.0.1:1/enms",
    f"PostgreSQL://enms:{SECRET}@127.0.0.1:1/enms",          # asyncpg accepts any case of the scheme
    f"postgresql://enms@127.0.0.1:1/enms?password={SECRET}",  # libpq/asyncpg query parameter
], ids=["userinfo", "mixed-case-scheme", "query-parameter"])
def test_password_never_appears_in_logs_errors_bus_or_speech(dsn, caplog, capfd, monkeypatch):
    from ovos_utils.log import LOG

    from skill_enms_performance import cli

    sink = _Sink()
    original_handle = logging.Logger.handle

    def handle(logger: logging.Logger, record: logging.LogRecord) -> None:
        sink.handle(record)
        original_handle(logger, record)

    monkeypatch.setattr(logging.Logger, "handle", handle)
    monkeypatch.setattr(logging.Logger, "isEnabledFor", lambda _logger, _level: True)  # DEBUG everywhere
    caplog.set_level(logging.DEBUG)
    bus_lines: list[str] = []

    with skill_session(dsn) as session:
        session.croft.bus.on("message", lambda raw: bus_lines.append(raw if isinstance(raw, str) else repr(raw)))
        record = session.ask("How did Compressor-1 perform yesterday?")
        analyze = bus_call(session, "enms.performance.analyze", {"seu_name": "Compressor-1"})
        summary = bus_call(session, "enms.performance.summary", {})
        health = bus_call(session, "enms.performance.health", {})
        spoken_health = session.ask("is the energy database ok")
    cli_codes = [cli.main(["analyze", "Compressor-1", "--dsn", dsn, "--now", REF_NOW.isoformat(), "--json"]),
                 cli.main(["analyze", "Compressor-1", "--dsn", dsn, "--now", REF_NOW.isoformat()]),
                 cli.main(["health", "--dsn", dsn, "--json"]),
                 cli.main(["summary", "--dsn", dsn, "--now", REF_NOW.isoformat()])]
    out, err = capfd.readouterr()

    # the skill says what is wrong, in its own words
    unreachable = set(speech.phrases("error.database_unavailable", "en-us"))
    assert record["dialogs"] == ["error.database_unavailable"] and record["spoken"][0] in unreachable, record
    assert any("can't reach the energy database" in p for p in unreachable)
    assert spoken_health["dialogs"] == ["error.database_unavailable"], spoken_health
    assert analyze["error"]["code"] == "database_unavailable" and summary["error"]["code"] == "database_unavailable"
    assert health["database_reachable"] is False
    assert cli_codes == [5, 5, 5, 5]  # database unavailable
    assert sink.lines and bus_lines and out  # the capture did capture

    places = {
        "spoken": "\n".join(record["spoken"] + spoken_health["spoken"]),
        "bus replies": repr([analyze, summary, health]),
        "bus messages": "\n".join(bus_lines),
        "log records": "\n".join(sink.lines),
        "caplog": caplog.text,
        "stdout": out,
        "stderr": err,
    }
    leaked = {where: text[max(0, text.find(SECRET) - 120):text.find(SECRET) + 40]
              for where, text in places.items() if SECRET in text}
    files = _files_containing(_SANDBOX, SECRET.encode())
    if LOG.base_path not in ("stdout", "") and Path(LOG.base_path).exists():
        files += _files_containing(Path(LOG.base_path), SECRET.encode())
    assert not leaked and not files, f"password leaked in {sorted(leaked)} {files}: {leaked}"
