"""The request and answer path without a pipeline: bus data -> Request, the voice helpers the conversation uses."""
from __future__ import annotations

import pytest

from skill_enms_performance.answers import Request, error_answer
from skill_enms_performance.engine.errors import AmbiguousSeuError, InvalidRequestError
from skill_enms_performance.voice import speech


def test_bus_data_becomes_one_request():
    request = Request.from_bus("analyze", {"seu_name": "Boiler-1", "energy_source": "steam",
                                           "analysis_date": "2025-11-05"})
    assert request == Request("analyze", seu_name="Boiler-1", energy_source="steam", day="2025-11-05")
    assert request.event() == {"op": "analyze", "seu_name": "Boiler-1", "energy_source": "steam",
                               "analysis_date": "2025-11-05"}
    assert Request.from_bus("action_plan", {"list": True}).op == "action_plans"
    assert Request.from_bus("action_plan", {"seu_name": "Compressor-1", "save": True}).save is True
    assert Request.from_bus("action_plan", {"seu_name": "Compressor-1"}).save is False
    assert Request.from_bus("savings", {}).period == "month"


@pytest.mark.parametrize("op, data", [
    ("analyze", {}), ("analyze", {"seu_name": 42}), ("analyze", {"seu_name": "x", "analysis_date": 5}),
    ("opportunities", {"period": 7}), ("opportunities", {"factory": ["a"]}), ("savings", {"seu_name": 1}),
    ("action_plan", {"seu_name": "x", "status": 3}), ("action_plan", {"list": True, "status": 3}),
    ("nothing", {}),
])
def test_bad_bus_data_is_invalid_request(op, data):
    with pytest.raises(InvalidRequestError):
        Request.from_bus(op, data)


@pytest.mark.parametrize("lang", ["en-us", "de-de"])
def test_an_error_answer_names_the_sources_to_choose_from(lang):
    reply = error_answer(AmbiguousSeuError("Boiler-1", ["electricity", "natural_gas", "steam"]), lang)
    assert reply.error_code == "ambiguous_seu" and set(reply.payload["error"]) == {"code", "message"}
    text = reply.text(lang)
    assert "Boiler-1" in text and speech.source_words("steam", lang) in text


@pytest.mark.parametrize("lang, reply, name", [
    ("en-us", "uh, the gas one please", "gas one"),
    ("en-us", "the one in munich please", "munich"),
    ("en-us", "compressor one", "compressor one"),
    ("de-de", "äh, das gas bitte", "gas"),
    ("de-de", "die in münchen bitte", "münchen"),
])
def test_fillers_come_off_the_ends_of_a_reply(lang, reply, name):
    assert speech.strip_fillers(reply, lang) == name


@pytest.mark.parametrize("lang, reply, said", [
    ("en-us", "yes please", True), ("en-us", "no", False), ("en-us", "no, don't save it", False),
    ("en-us", "what time is it", None), ("en-us", "banana", None),
    ("de-de", "ja bitte", True), ("de-de", "nein danke", False), ("de-de", "wie spät ist es", None),
])
def test_yes_or_no(lang, reply, said):
    assert speech.yes_or_no(reply, lang) is said


@pytest.mark.parametrize("lang, reply, new", [
    ("en-us", "how did compressor one perform yesterday", True), ("en-us", "the gas one", False),
    ("en-us", "natural gas", False), ("de-de", "wie hat kompressor eins gestern abgeschnitten", True),
    ("de-de", "das gas bitte", False),
])
def test_a_question_of_its_own_is_told_from_an_answer(lang, reply, new):
    assert speech.is_new_question(reply, lang) is new


@pytest.mark.parametrize("module", ["skill", "cli", "answers", "conversation", "bus_api", "harness"])
def test_the_skill_side_does_not_import_the_store(module):
    """Imports run downward: the skill side reaches the database only through the engine (and ``runtime.redact``)."""
    import ast
    from pathlib import Path

    import skill_enms_performance

    path = Path(skill_enms_performance.__file__).parent / f"{module}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [m for m in imported if m == "store" or m.startswith("store.") or ".store" in m], imported
