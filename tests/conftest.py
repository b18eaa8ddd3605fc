"""Shared fixtures: a real PostgreSQL (embedded server, a database per test or per module),
the reference plant loaded once per session, and an isolated OVOS environment.

Set ENMS_TEST_DSN (an admin DSN, e.g. postgresql://postgres@127.0.0.1:5432/postgres) to run the
store tests against that server as well; `.ci/run` sets it when a server answers there.
"""
from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

# Settings, padatious cache and logs of OVOS go to XDG paths: keep them out of $HOME.
_SANDBOX = Path(tempfile.mkdtemp(prefix="enms-tests-"))
atexit.register(shutil.rmtree, _SANDBOX, ignore_errors=True)  # a process that ends with os._exit removes it itself
for _var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
    os.environ[_var] = str(_SANDBOX / _var.lower())
os.environ.pop("ENMS_DSN", None)
os.environ.pop("ENMS_NOW", None)

import asyncpg  # noqa: E402

#: the pinned "now" of the test plant: 13:00 in San Jose, 22:00 in Munich (the seed's day)
REF_NOW = dt.datetime(2025, 11, 6, 21, 0, tzinfo=dt.timezone.utc)
REF_DAYS = 730
REF_RESOLUTION = 15


def run(coro):
    return asyncio.run(coro)


def with_database(admin_dsn: str, name: str) -> str:
    """The DSN of database ``name`` on the server of ``admin_dsn``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(admin_dsn)
    return urlunsplit(parts._replace(path="/" + name))


async def _create_db(admin_dsn: str, name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        suffix = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        await conn.close()


async def _drop_db(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_server():
    """The embedded PostgreSQL server (started once per session, deleted at the end)."""
    from skill_enms_performance.demo.embedded import start_server

    root = Path(tempfile.mkdtemp(prefix="enms-pg-", dir="/tmp"))
    server = start_server(root / "pgdata", cleanup_mode="delete")
    yield server
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def admin_dsn(pg_server) -> str:
    return pg_server.get_uri("postgres")


def _servers() -> list[str]:
    return ["embedded"] + (["external"] if os.environ.get("ENMS_TEST_DSN") else [])


@pytest.fixture(params=_servers())
def any_admin_dsn(request) -> str:
    """Admin DSN of each server in the test matrix (embedded; PostgreSQL 15 when ENMS_TEST_DSN is set)."""
    if request.param == "embedded":
        return request.getfixturevalue("admin_dsn")
    return os.environ["ENMS_TEST_DSN"]


@pytest.fixture
def fresh_db(any_admin_dsn):
    """An empty database of its own for one test, on every server of the matrix."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    run(_create_db(any_admin_dsn, name))
    yield with_database(any_admin_dsn, name)
    run(_drop_db(any_admin_dsn, name))


@pytest.fixture(scope="session")
def plant_template(admin_dsn) -> str:
    """A database holding the reference plant (2 years at 15 min up to REF_NOW), loaded once."""
    from skill_enms_performance.demo import generator

    name = "plant_template"

    async def load() -> None:
        await _drop_db(admin_dsn, name)
        await _create_db(admin_dsn, name)
        conn = await asyncpg.connect(with_database(admin_dsn, name))
        try:
            await generator.load_reference_plant(conn, end=REF_NOW, days=REF_DAYS, resolution_minutes=REF_RESOLUTION)
        finally:
            await conn.close()

    run(load())
    return name


@pytest.fixture(scope="session")
def plant_dsn(admin_dsn, plant_template) -> str:
    """Read-mostly reference plant shared by the tests of a session (do not modify).

    A copy, so that the template itself never has connections and can be copied again."""
    name = "plant_shared"
    run(_drop_db(admin_dsn, name))
    run(_create_db(admin_dsn, name, template=plant_template))
    return with_database(admin_dsn, name)


@pytest.fixture
def plant_copy(admin_dsn, plant_template):
    """A private copy of the reference plant that a test may modify."""
    name = f"p_{uuid.uuid4().hex[:12]}"
    run(_create_db(admin_dsn, name, template=plant_template))
    yield with_database(admin_dsn, name)
    run(_drop_db(admin_dsn, name))


@pytest.fixture(scope="module")
def writable_plant(admin_dsn, plant_template):
    """A private copy of the reference plant for a test module whose skill writes (action plans saved on a yes):
    the shared plant stays as loaded, whichever modules ran before on the same worker."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    run(_create_db(admin_dsn, name, template=plant_template))
    yield with_database(admin_dsn, name)
    run(_drop_db(admin_dsn, name))


@pytest.fixture(scope="module")
def skill_session(plant_dsn):
    """The skill in an in-process OVOS core (MiniCroft, padatious + adapt) on the reference plant,
    clock pinned at REF_NOW; one per test module."""
    from skill_enms_performance.harness import AskSession

    os.environ["ENMS_DSN"] = plant_dsn
    os.environ["ENMS_NOW"] = REF_NOW.isoformat()
    session = AskSession("en-us")
    yield session
    session.close()
    os.environ.pop("ENMS_DSN", None)
    os.environ.pop("ENMS_NOW", None)


_WHEEL_IGNORE = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
                                       ".ruff_cache", ".venv", "venv", "bench", "tests", "*.png")


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the source snapshot it was built from): built once for the wheel and device tests."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("wheel-build")
    src = root / "src"
    shutil.copytree(Path(__file__).resolve().parents[1], src, ignore=_WHEEL_IGNORE)
    dist = root / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
                          cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    wheels = sorted(dist.glob("skill_enms_performance-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0], src


@pytest.fixture(scope="session")
def second_plant_dsn(admin_dsn) -> str:
    """The second generated plant (tests/second_plant.py) in its own database, built once per session."""
    from . import second_plant

    name = "second_plant"

    async def load() -> None:
        await _drop_db(admin_dsn, name)
        await _create_db(admin_dsn, name)
        conn = await asyncpg.connect(with_database(admin_dsn, name))
        try:
            await second_plant.load(conn)
        finally:
            await conn.close()

    run(load())
    return with_database(admin_dsn, name)


def pytest_collection_modifyitems(config, items):
    """Long modules first: a module with a `slow` test (wheels, device venvs), then those with `e2e` tests (an OVOS
    core each), then the rest. Under pytest-xdist (`--dist loadfile`, `.ci/run`) a worker takes the next module as
    it finishes one, so the short modules fill up the end instead of one long module running on alone."""
    rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        mark = 0 if item.get_closest_marker("slow") else 1 if item.get_closest_marker("e2e") else 2
        rank[module] = min(rank.get(module, 2), mark)
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])  # stable: the order within a rank stays
