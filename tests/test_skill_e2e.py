"""The skill through the real OVOS intent pipeline (ovoscope MiniCroft, padatious + adapt)."""
from __future__ import annotations

import re
import threading

import pytest
from ovos_bus_client.message import Message

from skill_enms_performance.voice import speech

from . import test_speech_style as style


pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def session(skill_session):
    return skill_session


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d[\d,.]*", text)


@pytest.mark.parametrize("utterance", [
    "How did Compressor-1 perform today?",
    "how did compressor one perform today",
    "how is the compressor 1 performing today",
    "analyze compressor one",
])
def test_performance_today_is_spoken_with_actual_expected_and_percent(session, utterance):
    record = session.ask(utterance)
    assert (record["intent"], record["op"]) == ("request", "analyze"), record
    assert record["request"] == {"op": "analyze", "seu_name": "Compressor-1", "energy_source": "electricity",
                                 "analysis_date": "2025-11-06"}
    assert len(record["spoken"]) == 1
    spoken = record["spoken"][0]
    assert "Compressor-1" in spoken and "so far today" in spoken
    # the difference is said (a percentage at this size) unless it lies inside the uncertainty: "about as expected"
    as_expected = record["dialogs"][0].startswith("performance.as_expected")
    assert ("percent" in spoken) != as_expected and ("as expected" in spoken) == as_expected, spoken
    assert "kilowatt hours" in spoken and len(_numbers(spoken)) >= (2 if as_expected else 3)
    assert record["dialogs"][0] in speech.VERDICT_DIALOGS and record["dialogs"][0].endswith(".present")


def test_yesterday_and_a_named_date(session):
    record = session.ask("how did hvac main perform yesterday")
    assert record["request"]["seu_name"] == "HVAC-Main" and record["request"]["analysis_date"] == "2025-11-05"
    assert "yesterday" in record["spoken"][0]
    record = session.ask("how did conveyor a perform on october 14th")
    assert record["request"]["seu_name"] == "Conveyor-A" and record["request"]["analysis_date"] == "2025-10-14"


def test_numbered_machine_trap_unknown_name_gets_suggestions(session):
    record = session.ask("how did compressor three perform today")
    assert record["request"] is None
    assert record["dialogs"] == ["error.unknown_seu"]
    assert "Compressor-1" in record["spoken"][0] and "don't know" in record["spoken"][0]


def test_future_date_gets_a_sentence_not_a_forecast(session):
    record = session.ask("how did compressor one perform on november 20th 2025")
    assert record["request"] is None and record["dialogs"] == ["error.future_date"]


def test_ambiguous_energy_source_is_asked_back_and_the_answer_used(session):
    record = session.ask("how did boiler one perform yesterday")
    assert record["dialogs"] == ["ask.energy_source"]
    record = session.ask("natural gas")
    assert record["request"] == {"op": "analyze", "seu_name": "Boiler-1", "energy_source": "natural_gas",
                                 "analysis_date": "2025-11-05"}
    assert record["spoken"] and "Boiler-1" in record["spoken"][-1]


def test_ask_back_answer_comes_in_converse_and_follow_up_keeps_the_source(session):
    record = session.ask("how did boiler one perform on monday")
    assert record["dialogs"] == ["ask.energy_source"] and record["request"] is None
    record = session.ask("the gas one")
    assert record["intent"] == "converse"  # answered in conversation, no handler parked in get_response
    assert record["request"] == {"op": "analyze", "seu_name": "Boiler-1", "energy_source": "natural_gas",
                                 "analysis_date": "2025-11-03"}
    record = session.ask("and yesterday?")
    assert record["request"] == {"op": "analyze", "seu_name": "Boiler-1", "energy_source": "natural_gas",
                                 "analysis_date": "2025-11-05"}


def test_a_source_word_outside_the_name_is_used_instead_of_asking(session):
    record = session.ask("how much steam did boiler one use yesterday")
    assert record["dialogs"] != ["ask.energy_source"], record
    assert record["request"] == {"op": "analyze", "seu_name": "Boiler-1", "energy_source": "steam",
                                 "analysis_date": "2025-11-05"}


def test_an_answer_that_names_no_option_closes_the_question(session):
    record = session.ask("how did the compressor perform today")
    assert record["dialogs"] == ["ask.which_seu"]
    record = session.ask("banana")
    assert record["dialogs"] == ["ask.no_answer"] and record["request"] is None
    record = session.ask("compressor one")  # the question is closed: this is not taken as its answer ...
    assert record["intent"] != "converse"  # ... but as a terse question of its own (the request parser)


def test_an_unanswered_question_expires(session):
    skill = session.skill
    saved = skill.settings.get("ask_back_s")
    try:
        skill.settings["ask_back_s"] = 0.0
        record = session.ask("how did the compressor perform today")
        assert record["dialogs"] == ["ask.which_seu"]
        record = session.ask("compressor one")  # a terse question of its own, not the expired question's answer
        assert record["intent"] != "converse"
    finally:
        skill.settings["ask_back_s"] = saved


def _bus_call(session, data, timeout=10.0):
    answer = {}
    got = threading.Event()

    def on_response(message):
        answer.update(message.data)
        got.set()

    session.croft.bus.once("enms.performance.analyze.response", on_response)
    session.croft.bus.emit(Message("enms.performance.analyze", data))
    assert got.wait(timeout), "no reply on the bus"
    return answer


def test_bus_analyze_over_a_period_answers_the_period(session):
    reply = _bus_call(session, {"seu_name": "Compressor-1", "period": {"start": "2025-10-27", "end": "2025-11-02"}})
    assert reply["period"] == {"start": "2025-10-27", "end": "2025-11-02"} and reply["days"] == 7, reply
    assert reply["voice_summary"].startswith("Compressor-1 used") and "today" not in reply["voice_summary"]
    for key in ("actual_energy_kwh", "baseline_energy_kwh", "deviation_kwh", "uncertainty_kwh", "top_days"):
        assert key in reply
    reply = _bus_call(session, {"seu_name": "Compressor-1", "period": "month"})  # the 30 complete days to yesterday
    assert reply["period"] == {"start": "2025-10-07", "end": "2025-11-05"}, reply
    reply = _bus_call(session, {"seu_name": "Compressor-1", "period": {"start": "2025-11-02", "end": "2025-10-27"}})
    assert reply["error"]["code"] == "invalid_request"


def test_bus_api_answers_json_with_voice_summary(session):
    reply = _bus_call(session, {"seu_name": "Compressor-1", "analysis_date": "2025-11-05"})
    assert reply["seu_name"] == "Compressor-1" and reply["date"] == "2025-11-05"
    assert reply["voice_summary"].startswith("Compressor-1") or "Compressor-1" in reply["voice_summary"]
    assert "error" not in reply


@pytest.mark.parametrize("data, code", [
    ({"seu_name": "Toaster"}, "unknown_seu"),
    ({}, "invalid_request"),
    ({"seu_name": 42}, "invalid_request"),
    ({"seu_name": "Compressor-1", "analysis_date": "2031-01-01"}, "future_date"),
    ({"seu_name": "Compressor-1'; DROP TABLE seus; --"}, "unknown_seu"),
])
def test_bus_errors_are_structured(session, data, code):
    reply = _bus_call(session, data)
    assert reply["error"]["code"] == code and reply["error"]["message"]


def test_every_spoken_dialog_exists_in_every_language():
    for lang in speech.shipped_languages():
        for name in speech.SPOKEN_DIALOGS:
            assert speech.phrases(name, lang), f"{lang} lacks {name}.dialog"


def test_why_speaks_the_attribution(session):
    record = session.ask("why did hvac main use so much energy on october 20th")
    assert (record["intent"], record["op"]) == ("request", "why")
    assert record["request"] == {"op": "analyze", "seu_name": "HVAC-Main", "energy_source": "electricity",
                                 "analysis_date": "2025-10-20"}
    assert record["dialogs"][0] == "why.raised.past"  # "so much": what raised it comes first
    assert "unexplained extra consumption" in record["spoken"][0]


def test_seed_case_reduced_production_is_explained_not_praised(session):
    record = session.ask("what's driving the energy use of injection moulding one on october 29th")
    assert record["request"]["seu_name"] == "Injection-Molding-1"
    assert record["request"]["analysis_date"] == "2025-10-29"
    assert record["dialogs"][0] == "why.lowered.past" and "lower production" in record["spoken"][0]
    assert record["dialogs"][1] == "why.performance_normal.past"


@pytest.mark.parametrize("utterance, request_", [
    ("give me a summary of all compressors",
     {"op": "summary", "machine_type": "compressor", "factory": None, "analysis_date": "2025-11-06", "period": None}),
    ("give me a summary of the munich plant",
     {"op": "summary", "machine_type": None, "factory": "Munich", "analysis_date": "2025-11-06", "period": None}),
    ("how are all the machines doing yesterday",
     {"op": "summary", "machine_type": None, "factory": None, "analysis_date": "2025-11-05", "period": None}),
    ("give me a summary of all compressors for last week",
     {"op": "summary", "machine_type": "compressor", "factory": None, "analysis_date": None,
      "period": {"start": "2025-10-27", "end": "2025-11-02"}}),
])
def test_fleet_summary_is_spoken(session, utterance, request_):
    record = session.ask(utterance)
    assert (record["intent"], record["op"]) == ("request", "summary"), record
    assert record["request"] == request_
    assert record["dialogs"][0] == "summary.header"
    assert record["dialogs"][1] in {f"summary.{k}.{t}" for k in ("worst", "all_ok") for t in speech.TENSES}
    assert not re.search(r"(?<![\d.,])0 (on target|needing|better)", record["spoken"][0]), record["spoken"]


def test_health_is_spoken(session):
    record = session.ask("is the energy database ok")
    assert (record["intent"], record["op"]) == ("request", "health") and record["dialogs"] == ["health.ok"]
    assert "reachable" in record["spoken"][0]


def _bus(session, kind, data, timeout=10.0):
    answer = {}
    got = threading.Event()

    def on_response(message):
        answer.update(message.data)
        got.set()

    session.croft.bus.once(f"{kind}.response", on_response)
    session.croft.bus.emit(Message(kind, data))
    assert got.wait(timeout), f"no reply to {kind}"
    return answer


def test_bus_summary_and_health(session):
    reply = _bus(session, "enms.performance.summary", {"machine_type": "compressor", "analysis_date": "2025-11-05"})
    assert [i["seu_name"] for i in reply["items"]] == ["Compressor-EU-1", "Compressor-1"] or len(reply["items"]) == 2
    ranks = [i["normalised_deviation"] for i in reply["items"]]
    assert ranks == sorted(ranks, reverse=True) and reply["voice_summary"]
    reply = _bus(session, "enms.performance.summary", {"period": {"start": "2025-11-05", "end": "2025-10-01"}})
    assert reply["error"]["code"] == "invalid_request"
    reply = _bus(session, "enms.performance.health", {})
    assert reply["database_reachable"] and reply["mode"] == "rollup" and len(reply["models"]) == 10
    assert all(m["valid"] for m in reply["models"])


def test_opportunities_plan_followup_and_savings_are_spoken(session):
    record = session.ask("where can we save energy this month")
    assert (record["intent"], record["op"]) == ("request", "opportunities")
    assert record["request"] == {"op": "opportunities", "period": {"start": "2025-11-01", "end": "2025-11-06"},
                                 "factory": None, "seu_name": None, "machine_type": None}
    assert record["dialogs"][0] == "opportunities.header"
    assert "Compressor-EU-1" in " ".join(record["spoken"])

    session.ask("how did compressor e u one perform yesterday")
    record = session.ask("what should we do about it")
    assert (record["intent"], record["op"]) == ("converse", "action_plan")
    assert record["request"] == {"op": "action_plan", "seu_name": "Compressor-EU-1", "issue_type": None}
    assert record["dialogs"][:1] == ["plan.summary"] and "leak" in record["spoken"][0]

    record = session.ask("how many action plans are in progress")
    assert (record["intent"], record["op"]) == ("request", "action_plans") and record["dialogs"][0] in {"plans.count", "plans.count_one", "plans.none"}
    assert not re.search(r"(?<![\d.,])0 ", record["spoken"][0]), record["spoken"]

    record = session.ask("what are our savings on hvac main this year")
    assert record["request"] == {"op": "savings", "seu_name": "HVAC-Main",
                                 "period": {"start": "2025-01-01", "end": "2025-11-06"}}
    assert record["dialogs"][0] in {"savings.saved", "savings.excess"} and "plus or minus" in record["spoken"][0]


def test_bus_opportunities_action_plan_and_savings(session):
    reply = _bus(session, "enms.performance.opportunities", {"period": "quarter", "factory": "Munich"})
    assert [o["seu_name"] for o in reply["opportunities"]] == ["Compressor-EU-1"]
    reply = _bus(session, "enms.performance.action_plan", {"seu_name": "Compressor-1", "save": True})
    assert reply["issue_type"] == "excessive_idle" and reply["id"] and reply["monitoring"]["method"].startswith("CUSUM")
    assert set(reply) >= {"objective", "target", "problem", "root_causes", "actions", "expected_outcomes"}
    listed = _bus(session, "enms.performance.action_plan", {"list": True})
    assert listed["counts"]["planned"] >= 1
    reply = _bus(session, "enms.performance.action_plan", {"seu_name": "Conveyor-A"})
    assert reply["error"]["code"] == "no_opportunity"
    reply = _bus(session, "enms.performance.savings", {"seu_name": "HVAC-Main", "period": "quarter"})
    assert reply["items"][0]["fractional_savings_uncertainty"] is not None and reply["voice_summary"]
    reply = _bus(session, "enms.performance.savings", {"period": 7})
    assert reply["error"]["code"] == "invalid_request"


def test_follow_ups_without_repeating_the_machine(session):
    session.ask("how did hvac main perform on october 20th")
    record = session.ask("why?")
    assert record["intent"] == "converse" and record["dialogs"][0] == "why.raised.past"  # it was above expected
    assert record["request"]["analysis_date"] == "2025-10-20" and record["request"]["seu_name"] == "HVAC-Main"
    record = session.ask("and yesterday?")
    assert record["request"] == {"op": "analyze", "seu_name": "HVAC-Main", "energy_source": "electricity",
                                 "analysis_date": "2025-11-05"}
    record = session.ask("how about compressor one?")
    assert record["request"]["seu_name"] == "Compressor-1" and record["request"]["analysis_date"] == "2025-11-05"
    record = session.ask("what's the weather like")
    assert record["request"] is None and record["intent"] is None


# --- issue 15: what the user hears (the style checks: tests/test_speech_style.py) ---------------------------------
@pytest.mark.parametrize("utterance, tense", style.PIPELINE_DAYS["en-us"])
def test_style_a_day_is_spoken_in_its_tense(session, utterance, tense):
    style.assert_day_in_its_tense(session.ask(utterance), "en-us", tense)


@pytest.mark.parametrize("utterance", style.PIPELINE_WHY_SO_MUCH["en-us"])
def test_style_why_so_much_leads_with_what_raised_it(session, utterance):
    style.assert_why_so_much_leads_with_what_raised_it(session.ask(utterance), "en-us")


@pytest.mark.parametrize("utterance", style.PIPELINE_COUNTS_AND_UNITS["en-us"])
def test_style_counts_units_and_numbers(session, utterance):
    record = session.ask(utterance)
    assert not any(d.startswith("error.") for d in record["dialogs"]), record
    style.assert_heard_in_style(record, "en-us")


def test_the_plant_and_every_language_are_read_before_the_first_question(plant_dsn, monkeypatch):
    """The fallback stage waits 0.5 s for a skill to say whether an utterance is its own: the catalogue and the
    words of every shipped language are read at start, not by the first question (a device's first question once
    got no answer: the skill's "yes" came after the stage had stopped waiting)."""
    from skill_enms_performance.harness import AskSession
    from skill_enms_performance.voice import speech as speech_module

    read: list[str] = []
    examples = speech_module.examples
    monkeypatch.setattr(speech_module, "examples", lambda lang: read.append(lang) or examples(lang))
    monkeypatch.setenv("ENMS_DSN", plant_dsn)
    from .conftest import REF_NOW

    monkeypatch.setenv("ENMS_NOW", REF_NOW.isoformat())
    fresh = AskSession("en-us")
    try:
        assert fresh.skill._resolver is not None, "the plant's names were not read at start"
        assert sorted(read) == sorted(speech.shipped_languages()), read
    finally:
        fresh.close()


def test_a_plant_wide_answer_out_of_time_goes_on_and_the_same_question_waits_for_it(session):
    """"That took too long, try again in a moment" is true: the work goes on (a cold scan of a large plant, cancelled
    at every timeout, never got warm) and answers once done."""
    skill = session.skill
    before = skill.settings.get("summary_timeout_s")
    skill.settings["summary_timeout_s"] = 0.0  # no time at all: the answer is never there when the skill speaks
    try:
        session.forget()
        first = session.ask("where could we save energy on the pumps last month")
        assert first["dialogs"][-1:] == ["error.timeout"], first
        with skill._going_on_lock:
            going_on = list(skill._going_on.values())
        assert len(going_on) == 1, "the work stopped with the spoken timeout"
        reply = going_on[0].result(120)
        assert reply.error_code is None and reply.lines, reply
        assert not going_on[0].cancelled()
    finally:
        skill.settings["summary_timeout_s"] = before
    session.forget()
    answered = session.ask("where could we save energy on the pumps last month")
    assert answered["dialogs"] and answered["dialogs"][-1] != "error.timeout", answered


def test_the_same_slow_question_asked_again_waits_for_the_work_going_on(session):
    """Asked again while its work goes on, a question joins that work instead of starting it anew; once the work is
    done, the next asking starts afresh; beyond ``MAX_GOING_ON`` a timeout cancels."""
    import asyncio

    from skill_enms_performance.engine.errors import TimeoutError_
    from skill_enms_performance.skill import MAX_GOING_ON

    skill = session.skill
    started: list[str] = []
    gate = threading.Event()

    def make(tag: str):
        async def work() -> str:
            started.append(tag)
            while not gate.is_set():
                await asyncio.sleep(0.01)
            return tag
        return work

    with pytest.raises(TimeoutError_):
        skill._run_or_go_on("q", make("first"), 0.0)
    with pytest.raises(TimeoutError_):
        skill._run_or_go_on("q", make("second"), 0.0)  # joins the first: nothing new starts
    for n in range(MAX_GOING_ON):  # other questions fill the places that may go on, the last one is cancelled
        with pytest.raises(TimeoutError_):
            skill._run_or_go_on(f"other {n}", make(f"other {n}"), 0.0)
    with skill._going_on_lock:
        kept = dict(skill._going_on)
    # the first question and MAX_GOING_ON - 1 others go on; the one beyond was cancelled (and let go)
    assert set(kept) == {"q", *(f"other {n}" for n in range(MAX_GOING_ON - 1))}, kept
    assert not any(f.done() for f in kept.values()), kept
    gate.set()
    assert skill._run_or_go_on("q", make("third"), 30.0) == "first"  # still going on when asked: its answer
    assert skill._run_or_go_on("q", make("fourth"), 30.0) == "fourth"  # done before: asked afresh
    assert started[:2] == ["first", "other 0"] and "second" not in started, started
