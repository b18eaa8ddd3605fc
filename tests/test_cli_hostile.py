"""Hostile options to the installed command: refused with one line and a non-zero exit, never a traceback."""
from __future__ import annotations

import json

import pytest

from .test_cli import NOW, cli

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("option", [["--now", "garbage"], ["--now", "2026-11-20T25:00"], ["--now", "9" * 100_000],
                                    ["--lang", "xx-yy"], ["--lang", "../../etc"], ["--lang", "en-us/../../x"]])
def test_a_bad_clock_or_language_is_refused_before_anything_starts(option):
    proc = cli("health", *option, timeout=60)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-500:])
    assert "Traceback" not in proc.stderr and not proc.stdout
    error_lines = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and len(error_lines[0]) < 200, proc.stderr[-500:]


def test_a_malformed_connection_string_is_database_unavailable_without_a_traceback():
    dsn = "postgresql://enms:s3cret-pw@127.0.0.1:notaport/enms"
    proc = cli("analyze", "Compressor-1", "--dsn", dsn, "--now", NOW, "--json", timeout=60)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "s3cret-pw" not in proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["error"]["code"] == "database_unavailable"


def test_a_huge_factory_is_refused_at_once(plant_dsn):
    proc = cli("opportunities", "--factory", "M" * 100_000, "--dsn", plant_dsn, "--now", NOW, "--json", timeout=60)
    assert "Traceback" not in proc.stdout + proc.stderr
    reply = json.loads(proc.stdout)
    assert reply["error"]["code"] == "invalid_request" and len(proc.stdout) < 2048, proc.stdout[:300]
