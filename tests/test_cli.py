"""The ``enms-performance`` console script as a user runs it: a subprocess, exit codes, stdout/stderr."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skill_enms_performance.engine.models import ImplementationEffort, ImprovementType, ISO50001Status, Priority
from skill_enms_performance.voice import speech

from .conftest import REF_NOW

CLI = Path(sys.executable).parent / "enms-performance"
NOW = REF_NOW.isoformat()  # 2025-11-06T21:00:00+00:00
STOPPED_DSN = "postgresql://enms:secret@127.0.0.1:1/enms"

#: the 14 fields of the seed's PerformanceAnalysis, in the seed's order
SEED_FIELDS = [
    "seu_name", "energy_source", "date", "actual_energy_kwh", "baseline_energy_kwh", "deviation_kwh",
    "deviation_percent", "deviation_cost_usd", "efficiency_score", "root_cause_analysis", "recommendations",
    "iso50001_status", "voice_summary", "timestamp",
]
#: enum values of the previous engine's JSON contract (README, "Every result is JSON with the seed's field names")
SEED_ISO_STATUS = {"excellent", "on_target", "requires_attention", "non_compliant"}
SEED_IMPROVEMENT = {"inefficient_scheduling", "excessive_idle", "suboptimal_setpoints", "equipment_degradation",
                    "process_inefficiency", "external_factors"}
SEED_EFFORT = {"low", "medium", "high"}
SEED_PRIORITY = {"critical", "high", "medium", "low"}


def cli(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run the installed console script; the environment carries conftest's XDG sandbox."""
    assert CLI.exists(), f"console script missing: {CLI}"
    env = dict(os.environ)
    env.pop("ENMS_DSN", None)
    env.pop("ENMS_NOW", None)
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=timeout, env=env)


def _no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stdout and "Traceback" not in proc.stderr, (proc.stdout, proc.stderr)


def _one_sentence(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout
    return lines[0]


def _is_phrase_of(text: str, dialog: str) -> bool:
    """``text`` is one line of ``dialog`` (dialogs without slots)."""
    return text.strip() in {p.strip() for p in speech.phrases(dialog, "en-us")}


# --- analyze ------------------------------------------------------------------------------
def test_enums_of_the_seed_are_the_engines():
    assert {s.value for s in ISO50001Status} == SEED_ISO_STATUS
    assert {s.value for s in ImprovementType} == SEED_IMPROVEMENT
    assert {s.value for s in ImplementationEffort} == SEED_EFFORT
    assert {s.value for s in Priority} == SEED_PRIORITY


def test_analyze_json_has_the_seed_contract(plant_dsn):
    proc = cli("analyze", "Compressor-1", "--date", "2025-10-21", "--json", "--dsn", plant_dsn, "--now", NOW)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    _no_traceback(proc)
    payload = json.loads(proc.stdout)
    assert list(payload)[:14] == SEED_FIELDS
    assert payload["seu_name"] == "Compressor-1"
    assert payload["energy_source"] == "electricity"
    assert payload["date"] == "2025-10-21"
    for key in ("actual_energy_kwh", "baseline_energy_kwh", "deviation_kwh", "deviation_percent",
                "deviation_cost_usd", "efficiency_score"):
        assert isinstance(payload[key], (int, float)) and not isinstance(payload[key], bool), key
    assert payload["actual_energy_kwh"] > 0 and payload["baseline_energy_kwh"] > 0
    assert payload["deviation_kwh"] == pytest.approx(payload["actual_energy_kwh"] - payload["baseline_energy_kwh"],
                                                     abs=0.05)
    assert 0.0 <= payload["efficiency_score"] <= 1.0
    rca = payload["root_cause_analysis"]
    assert list(rca)[:4] == ["primary_factor", "impact_description", "contributing_factors", "confidence"]
    assert isinstance(rca["primary_factor"], str) and rca["primary_factor"]
    assert isinstance(rca["contributing_factors"], list)
    assert 0.0 <= rca["confidence"] <= 1.0
    assert isinstance(payload["recommendations"], list)
    for rec in payload["recommendations"]:
        assert list(rec)[:7] == ["action", "improvement_type", "estimated_savings_kwh", "estimated_savings_usd",
                                 "implementation_effort", "priority", "expected_roi_months"]
        assert rec["improvement_type"] in SEED_IMPROVEMENT
        assert rec["implementation_effort"] in SEED_EFFORT
        assert rec["priority"] in SEED_PRIORITY
        assert rec["action"]
    assert payload["iso50001_status"] in SEED_ISO_STATUS
    assert isinstance(payload["voice_summary"], str) and payload["voice_summary"].strip()
    assert "Compressor-1" in payload["voice_summary"]
    assert dt.datetime.fromisoformat(payload["timestamp"])


def test_fixed_energy_baseline_from_the_command_line(plant_dsn):
    """--baseline-start/--baseline-end fix the EnB period: the model is fitted on those days only, whatever day
    is analysed (the rolling default would use the 365 days before it)."""
    proc = cli("analyze", "Compressor-1", "--date", "2025-10-21", "--json", "--dsn", plant_dsn, "--now", NOW,
               "--baseline-start", "2025-03-01", "--baseline-end", "2025-06-30")
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    period = json.loads(proc.stdout)["baseline"]["period"]
    assert "2025-03-01" <= period["start"] <= "2025-03-08", period
    assert "2025-06-23" <= period["end"] <= "2025-06-30", period
    rolling = json.loads(cli("analyze", "Compressor-1", "--date", "2025-10-21", "--json", "--dsn", plant_dsn,
                             "--now", NOW).stdout)["baseline"]["period"]
    assert rolling["end"] > "2025-10-01", rolling


def test_analyze_without_json_prints_the_spoken_sentence(plant_dsn):
    proc = cli("analyze", "Compressor-1", "--date", "2025-10-21", "--dsn", plant_dsn, "--now", NOW)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    _no_traceback(proc)
    sentence = _one_sentence(proc)
    assert not sentence.lstrip().startswith("{")
    assert "Compressor-1" in sentence and "kilowatt hours" in sentence
    # the percentage is spoken for a significant deviation (an ordinary day "ran about as expected")
    payload = json.loads(cli("analyze", "Compressor-1", "--date", "2025-10-21", "--json", "--dsn", plant_dsn,
                             "--now", NOW).stdout)
    assert ("percent" in sentence) == bool(payload["significant"]), (sentence, payload["significant"])


# --- errors: one sentence (or the error object) and an exit code per class, never a traceback ---------
#: (arguments, error code, exit code, words the sentence must hold)
ERROR_CASES = [
    pytest.param(["analyze", "Toaster-9"], "unknown_seu", 3, ["don't know", "Toaster-9"], id="unknown-seu"),
    pytest.param(["analyze", "Boiler-1", "--date", "2025-11-05"], "ambiguous_seu", 3,
                 ["Boiler-1", "electricity", "natural gas", "steam"], id="ambiguous-seu"),
    pytest.param(["analyze", "Compressor-1", "--energy-source", "steam"], "unknown_energy_source", 3,
                 ["Compressor-1", "steam"], id="unknown-energy-source"),
    pytest.param(["analyze", "Compressor-1", "--date", "2020-01-01"], "no_data", 4, ["no data", "Compressor-1"],
                 id="no-data"),
    pytest.param(["analyze", "Compressor-1", "--date", "2025-12-01"], "future_date", 2, ["hasn't happened yet"],
                 id="future-date"),
    pytest.param(["summary", "--start", "2025-11-05", "--end", "2025-10-01"], "invalid_request", 2, [],
                 id="invalid-request"),
    pytest.param(["action-plan", "Conveyor-A"], "no_opportunity", 4, ["Conveyor-A"], id="no-opportunity"),
    pytest.param(["analyze", "Compressor-1", "--baseline-start", "2025-01-01"], "invalid_request", 2, [],
                 id="baseline-start-without-end"),
    pytest.param(["savings", "--baseline-start", "2025-06-01", "--baseline-end", "2025-01-01"], "invalid_request", 2,
                 [], id="baseline-end-before-start"),
]


@pytest.mark.parametrize("args, code, exit_code, words", ERROR_CASES)
def test_errors_are_one_sentence_and_an_exit_code_per_class(plant_dsn, args, code, exit_code, words):
    proc = cli(*args, "--dsn", plant_dsn, "--now", NOW)
    _no_traceback(proc)
    assert proc.returncode == exit_code, (proc.returncode, proc.stdout, proc.stderr)
    sentence = _one_sentence(proc)
    assert not sentence.lstrip().startswith("{")
    assert "went wrong" not in sentence, sentence
    for word in words:
        assert word in sentence, (word, sentence)


def test_every_error_code_has_a_sentence_in_every_language():
    from skill_enms_performance.cli import EXIT_CODES

    for lang in speech.shipped_languages():
        for code in [*EXIT_CODES, "internal_error"]:
            facts = {"code": code, "seu_name": "Boiler-1", "energy_sources": ["electricity", "steam"],
                     "energy_source": "steam", "suggestions": [], "date": "2025-11-05", "group": "toasters"}
            dialog, _ = speech.describe_error(facts, lang)
            assert speech.phrases(dialog, lang), (lang, code, dialog)
            assert code == "internal_error" or dialog != "error.internal_error", code  # a sentence of its own


@pytest.mark.parametrize("args, code, exit_code, words", ERROR_CASES)
def test_errors_with_json_are_structured(plant_dsn, args, code, exit_code, words):
    proc = cli(*args, "--json", "--dsn", plant_dsn, "--now", NOW)
    _no_traceback(proc)
    assert proc.returncode == exit_code, (proc.returncode, proc.stdout, proc.stderr)
    payload = json.loads(proc.stdout)
    assert list(payload) == ["error"]
    assert set(payload["error"]) == {"code", "message"}
    assert payload["error"]["code"] == code
    assert isinstance(payload["error"]["message"], str) and payload["error"]["message"].strip()


def test_stopped_database_is_a_sentence_without_the_password():
    started = time.monotonic()
    proc = cli("analyze", "Compressor-1", "--date", "2025-10-21", "--dsn", STOPPED_DSN, "--now", NOW)
    elapsed = time.monotonic() - started
    _no_traceback(proc)
    assert proc.returncode == 5, (proc.returncode, proc.stdout, proc.stderr)
    sentence = _one_sentence(proc)
    assert _is_phrase_of(sentence, "error.database_unavailable"), sentence
    assert "secret" not in proc.stdout and "secret" not in proc.stderr
    assert elapsed < 30, elapsed


def test_stopped_database_with_json_without_the_password():
    proc = cli("analyze", "Compressor-1", "--date", "2025-10-21", "--json", "--dsn", STOPPED_DSN, "--now", NOW)
    _no_traceback(proc)
    assert proc.returncode == 5, (proc.returncode, proc.stdout, proc.stderr)
    payload = json.loads(proc.stdout)
    assert payload["error"]["code"] == "database_unavailable" and payload["error"]["message"]
    assert set(payload["error"]) == {"code", "message"}
    assert "secret" not in proc.stdout and "secret" not in proc.stderr


# --- ask: the real OVOS pipeline in a subprocess ------------------------------------------
def test_ask_json_prints_one_record_per_utterance(plant_dsn):
    proc = cli("ask", "--json", "--dsn", plant_dsn, "--now", NOW,
               "How did Compressor-1 perform today?", "how did compressor three perform", timeout=240)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-4000:])
    _no_traceback(proc)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 2, proc.stdout
    records = [json.loads(line) for line in lines]
    for record in records:
        assert set(record) == {"utterance", "lang", "intent", "slots", "request", "op", "asked_back", "spoken",
                               "dialogs"}
        assert record["lang"] == "en-us"

    first, second = records
    assert first["utterance"] == "How did Compressor-1 perform today?"
    assert (first["intent"], first["op"]) == ("request", "analyze"), first
    assert first["request"] == {"op": "analyze", "seu_name": "Compressor-1", "energy_source": "electricity",
                                "analysis_date": "2025-11-06"}
    assert len(first["spoken"]) == 1 and "kilowatt hours" in first["spoken"][0]
    assert "Compressor-1" in first["spoken"][0]

    assert second["utterance"] == "how did compressor three perform"
    assert second["request"] is None
    assert second["dialogs"] == ["error.unknown_seu"], second
    assert len(second["spoken"]) == 1
    assert "don't know" in second["spoken"][0] and "Compressor-1" in second["spoken"][0]


# --- what the CLI prints is the sentence as written ----------------------------------------
def _dialogs() -> list:
    """Every shipped .dialog file (whether each spoken dialog exists is test_skill_e2e's business)."""
    return [pytest.param(lang, path.name.removesuffix(".dialog"), id=f"{lang}:{path.name}")
            for lang in speech.shipped_languages()
            for path in sorted((speech.locale_dir() / lang).rglob("*.dialog"))]


@pytest.mark.parametrize("lang, name", _dialogs())
def test_every_printed_sentence_renders_as_written(caplog, lang, name):
    """Dialog lines are OVOS templates: ``(a|b)`` is an alternative, and a plain ``( ... )`` is a
    degenerate group that is folded away with a warning. A sentence the CLI (and the skill) prints
    must come out exactly as written, slots filled, and without such a warning."""
    import re

    from ovos_spec_tools.dialog import render

    lines = speech.phrases(name, lang)
    assert lines, f"{lang} has no {name}.dialog"
    for line in lines:
        slots = {key: f"<{key}>" for key in re.findall(r"\{(\w+)\}", line)}
        expected = re.sub(r"\{(\w+)\}", lambda m: f"<{m.group(1)}>", line).strip()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            rendered = render([line], slots)
        assert rendered.strip() == expected, f"{name}.dialog line {line!r}"
        assert not [r.getMessage() for r in caplog.records if "OVOS-INTENT" in r.getMessage()], line
