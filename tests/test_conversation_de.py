"""The German conversation through the real pipeline (MiniCroft, de-de): the save question and ask-back replies
with fillers, as in test_conversation for English."""
from __future__ import annotations


import pytest

from . import test_speech_style as style

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def session(writable_plant):
    """The skill in German on a plant of this module's own (plans are saved on a "ja")."""
    from .test_security import skill_session

    with skill_session(writable_plant, "de-de") as session:
        session.skill.settings["save_action_plans"] = True
        yield session


def test_a_spoken_plan_is_only_saved_on_ja(session):
    record = session.ask("was sollen wir bei kompressor eins tun")
    assert record["request"] == {"op": "action_plan", "seu_name": "Compressor-1", "issue_type": None}, record
    assert record["dialogs"] == ["plan.summary", "plan.ask_save"], record
    assert "speichern" in record["spoken"][-1]
    record = session.ask("nein danke")
    assert record["dialogs"] == ["plan.not_saved"] and record["request"] is None, record


def test_an_ask_back_reply_with_fillers_is_read_like_a_name(session):
    record = session.ask("wie hat kessel eins gestern abgeschnitten")
    assert record["dialogs"] == ["ask.energy_source"], record
    record = session.ask("äh, das gas bitte")
    assert record["intent"] == "converse", record
    assert record["request"] == {"op": "analyze", "seu_name": "Boiler-1", "energy_source": "natural_gas",
                                 "analysis_date": "2025-11-05"}, record


def test_a_new_question_while_a_question_is_asked_back_is_answered(session):
    record = session.ask("wie hat kessel eins gestern abgeschnitten")
    assert record["dialogs"] == ["ask.energy_source"], record
    record = session.ask("wie hat kompressor eins gestern abgeschnitten")
    assert record["request"] == {"op": "analyze", "seu_name": "Compressor-1", "energy_source": "electricity",
                                 "analysis_date": "2025-11-05"}, record


def test_a_plan_asked_to_be_saved_is_saved_at_once(session):
    record = session.ask("speichere einen aktionsplan für kompressor eins")
    assert record["intent"] == "request", record
    assert record["dialogs"] == ["plan.summary", "plan.saved"], record


# --- eine Maschine über einen Zeitraum (issue 15) ------------------------------------------------------------
LAST_WEEK = {"start": "2025-10-27", "end": "2025-11-02"}


@pytest.mark.parametrize("utterance, period", [
    ("wie hat kompressor eins letzte woche abgeschnitten", LAST_WEEK),
    ("wie hat kompressor eins im oktober abgeschnitten", {"start": "2025-10-01", "end": "2025-10-31"}),
    ("wie hat kompressor eins diesen monat abgeschnitten", {"start": "2025-11-01", "end": "2025-11-06"}),
    ("wie hat kompressor eins seit montag abgeschnitten", {"start": "2025-11-03", "end": "2025-11-06"}),
    ("wie hat kompressor eins in den letzten 30 tagen abgeschnitten", {"start": "2025-10-07", "end": "2025-11-06"}),
])
def test_ein_zeitraum_einer_maschine_wird_fuer_den_zeitraum_beantwortet(session, utterance, period):
    record = session.ask(utterance)
    assert record["request"] == {"op": "analyze", "seu_name": "Compressor-1", "energy_source": "electricity",
                                 "analysis_date": None, "period": period}, record
    assert record["dialogs"][0].startswith("period."), record
    spoken = record["spoken"][0]
    assert "heute" not in spoken and " liegt " not in spoken and "verbraucht" in spoken, spoken


def test_die_rueckfrage_nach_der_energie_behaelt_den_zeitraum(session):
    record = session.ask("wie hat kessel eins letzte woche abgeschnitten")
    assert record["dialogs"] == ["ask.energy_source"], record
    record = session.ask("äh, das gas bitte")
    assert record["intent"] == "converse", record
    assert record["request"] == {"op": "analyze", "seu_name": "Boiler-1", "energy_source": "natural_gas",
                                 "analysis_date": None, "period": LAST_WEEK}, record
    assert record["dialogs"][0].startswith("period.")


def test_die_rueckfrage_nach_der_maschine_behaelt_den_zeitraum(session):
    record = session.ask("wie hat der kompressor letzte woche abgeschnitten")
    assert record["dialogs"] == ["ask.which_seu"], record
    record = session.ask("der in münchen bitte")
    assert record["request"] == {"op": "analyze", "seu_name": "Compressor-EU-1", "energy_source": "electricity",
                                 "analysis_date": None, "period": LAST_WEEK}, record


# --- issue 15: what the user hears, in German (the style checks: tests/test_speech_style.py) -----------------------
@pytest.mark.parametrize("utterance, tense", style.PIPELINE_DAYS["de-de"])
def test_style_a_day_is_spoken_in_its_tense(session, utterance, tense):
    style.assert_day_in_its_tense(session.ask(utterance), "de-de", tense)


@pytest.mark.parametrize("utterance", style.PIPELINE_WHY_SO_MUCH["de-de"])
def test_style_why_so_much_leads_with_what_raised_it(session, utterance):
    style.assert_why_so_much_leads_with_what_raised_it(session.ask(utterance), "de-de")


@pytest.mark.parametrize("utterance", style.PIPELINE_COUNTS_AND_UNITS["de-de"])
def test_style_counts_units_and_numbers(session, utterance):
    record = session.ask(utterance)
    assert not any(d.startswith("error.") for d in record["dialogs"]), record
    style.assert_heard_in_style(record, "de-de")
