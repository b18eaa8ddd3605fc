"""Conversations through the real pipeline (MiniCroft): questions asked back, follow-ups, and no write without a
yes (issue 10, classes 7-8)."""
from __future__ import annotations

import threading

import pytest
from ovos_bus_client.message import Message

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def session(writable_plant):
    """The skill on a plant of this module's own: plans saved here are counted here."""
    from .test_security import skill_session

    with skill_session(writable_plant) as session:
        yield session


def _saved_plans(session) -> int:
    got, answer = threading.Event(), {}

    def on_response(message):
        answer.update(message.data)
        got.set()

    session.croft.bus.once("enms.performance.action_plan.response", on_response)
    session.croft.bus.emit(Message("enms.performance.action_plan", {"list": True}))
    assert got.wait(10), "no reply on the bus"
    return sum(answer["counts"].values())


def test_what_time_is_it_after_a_machine_question_is_not_a_plan(session):
    before = _saved_plans(session)
    session.ask("how did compressor one perform yesterday")
    record = session.ask("what time is it")
    assert record["request"] is None, record
    assert not any(d.startswith("plan.") for d in record["dialogs"]), record
    assert _saved_plans(session) == before


def test_a_spoken_plan_is_proposed_and_saved_only_on_yes(session):
    before = _saved_plans(session)
    record = session.ask("what should we do about compressor one")
    assert record["request"] == {"op": "action_plan", "seu_name": "Compressor-1", "issue_type": None}
    assert record["dialogs"] == ["plan.summary", "plan.ask_save"], record
    assert _saved_plans(session) == before
    record = session.ask("no")
    assert record["dialogs"] == ["plan.not_saved"] and record["request"] is None
    assert _saved_plans(session) == before

    session.ask("what should we do about compressor one")
    record = session.ask("banana")  # anything but a yes: not saved
    assert record["dialogs"] == ["plan.not_saved"]
    assert _saved_plans(session) == before

    session.ask("how did compressor e u one perform yesterday")
    record = session.ask("what should we do about it")
    assert record["dialogs"] == ["plan.summary", "plan.ask_save"], record
    record = session.ask("yes please")
    assert record["intent"] == "converse" and record["dialogs"] == ["plan.summary", "plan.saved"], record
    assert _saved_plans(session) == before + 1


def test_a_plan_asked_to_be_saved_is_saved_at_once(session):
    before = _saved_plans(session)
    record = session.ask("save an action plan for compressor one")
    assert (record["intent"], record["op"]) == ("request", "action_plan"), record
    assert record["dialogs"] == ["plan.summary", "plan.saved"], record
    assert _saved_plans(session) == before + 1


def test_a_new_question_while_a_question_is_asked_back_is_answered(session):
    record = session.ask("how did the compressor perform today")
    assert record["dialogs"] == ["ask.which_seu"]
    record = session.ask("how did compressor one perform yesterday")
    assert record["request"] == {"op": "analyze", "seu_name": "Compressor-1", "energy_source": "electricity",
                                 "analysis_date": "2025-11-05"}, record
    assert "ask.no_answer" not in record["dialogs"]


@pytest.mark.parametrize("question, reply, request_", [
    ("how did boiler one perform yesterday", "uh, the gas one please",
     {"op": "analyze", "seu_name": "Boiler-1", "energy_source": "natural_gas", "analysis_date": "2025-11-05"}),
    ("how did the compressor perform yesterday", "the one in munich please",
     {"op": "analyze", "seu_name": "Compressor-EU-1", "energy_source": "electricity", "analysis_date": "2025-11-05"}),
])
def test_an_ask_back_reply_with_fillers_is_read_like_a_name(session, question, reply, request_):
    record = session.ask(question)
    assert record["dialogs"] and record["dialogs"][0].startswith("ask."), record
    record = session.ask(reply)
    assert record["intent"] == "converse" and record["request"] == request_, record


@pytest.mark.parametrize("utterance", [
    "how much gas did boiler one use yesterday",
    "how much gas did boiler one use",
])
def test_how_much_gas_answers_for_gas(session, utterance):
    record = session.ask(utterance)
    assert record["request"] is not None, record
    assert record["request"]["seu_name"] == "Boiler-1" and record["request"]["energy_source"] == "natural_gas", record


def test_a_follow_up_naming_a_new_machine_is_answered_for_that_machine(session):
    session.ask("how did hvac main perform on october 20th")
    record = session.ask("and what about compressor one yesterday")
    assert record["request"] == {"op": "analyze", "seu_name": "Compressor-1", "energy_source": "electricity",
                                 "analysis_date": "2025-11-05"}, record
    record = session.ask("how about conveyor a on october 14th")
    assert record["request"] == {"op": "analyze", "seu_name": "Conveyor-A", "energy_source": "electricity",
                                 "analysis_date": "2025-10-14"}, record


@pytest.mark.parametrize("utterance", [
    "where can we save in the munich plant",
    "where can we save energy in the munich plant",
])
def test_where_can_we_save_keeps_the_factory(session, utterance):
    record = session.ask(utterance)
    assert record["intent"] == "request", record
    assert record["request"]["factory"] == "Munich", record


# --- one machine over a period (issue 15): the period is answered, and kept through every question asked back ---
LAST_WEEK = {"start": "2025-10-27", "end": "2025-11-02"}


def _period_request(seu: str, source: str, period: dict) -> dict:
    return {"op": "analyze", "seu_name": seu, "energy_source": source, "analysis_date": None, "period": period}


@pytest.mark.parametrize("utterance, period", [
    ("how did compressor one perform last week", LAST_WEEK),
    ("how did compressor one do this month", {"start": "2025-11-01", "end": "2025-11-06"}),
    ("how did compressor one perform in october", {"start": "2025-10-01", "end": "2025-10-31"}),
    ("how did compressor one perform since monday", {"start": "2025-11-03", "end": "2025-11-06"}),
    ("how was compressor one the last 30 days", {"start": "2025-10-07", "end": "2025-11-06"}),
])
def test_a_period_about_one_machine_is_answered_for_the_period(session, utterance, period):
    record = session.ask(utterance)
    assert record["request"] == _period_request("Compressor-1", "electricity", period), record
    assert record["dialogs"][0].startswith("period."), record
    spoken = record["spoken"][0]
    assert "today" not in spoken and " is " not in spoken and "used" in spoken, spoken


def test_the_source_asked_back_keeps_the_period(session):
    record = session.ask("how did boiler one perform last week")
    assert record["dialogs"] == ["ask.energy_source"], record
    record = session.ask("natural gas")
    assert record["intent"] == "converse", record
    assert record["request"] == _period_request("Boiler-1", "natural_gas", LAST_WEEK), record
    assert record["dialogs"][0].startswith("period.") and "today" not in record["spoken"][0]


def test_the_machine_asked_back_keeps_the_period(session):
    record = session.ask("how did the compressor perform in october")
    assert record["dialogs"] == ["ask.which_seu"], record
    record = session.ask("the one in munich please")
    assert record["request"] == _period_request("Compressor-EU-1", "electricity",
                                                {"start": "2025-10-01", "end": "2025-10-31"}), record


def test_follow_ups_to_a_period_keep_it_unless_another_day_is_said(session):
    session.ask("how did compressor one perform last week")
    record = session.ask("why")
    assert record["intent"] == "converse" and record["request"] == _period_request(
        "Compressor-1", "electricity", LAST_WEEK), record
    record = session.ask("how about hvac main")
    assert record["request"] == _period_request("HVAC-Main", "electricity", LAST_WEEK), record
    record = session.ask("and yesterday")
    assert record["request"] == {"op": "analyze", "seu_name": "HVAC-Main", "energy_source": "electricity",
                                 "analysis_date": "2025-11-05"}, record
    record = session.ask("and in october")
    assert record["request"] == _period_request("HVAC-Main", "electricity",
                                                {"start": "2025-10-01", "end": "2025-10-31"}), record


def test_why_over_a_period_is_answered_for_the_period(session):
    record = session.ask("why did compressor one use so much energy last week")
    assert (record["intent"], record["op"]) == ("request", "why"), record
    assert record["request"] == _period_request("Compressor-1", "electricity", LAST_WEEK), record
    assert all(d.startswith("period.") for d in record["dialogs"]), record
