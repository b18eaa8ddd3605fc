"""Rankings and comparisons: the request parser reads them, the shared answer path answers them from the fleet
summary (real engine on the reference plant), in both languages."""
from __future__ import annotations

import pytest

from skill_enms_performance.answers import Request, answer
from skill_enms_performance.engine import Engine
from skill_enms_performance.voice import parse
from skill_enms_performance.voice.names import SeuRef, SeuResolver

from . import corpus
from .conftest import REF_NOW, run
from .test_understanding import catalogue


@pytest.fixture(scope="module")
def engine(plant_dsn):
    return plant_dsn  # an engine per question below: its pool belongs to the event loop that made it


def _answer(dsn, request, lang):
    async def go():
        eng = Engine(dsn, clock=lambda: REF_NOW)
        try:
            return await answer(eng, request, lang)
        finally:
            await eng.close()
    return run(go())


@pytest.mark.parametrize("lang", corpus.LANGS)
def test_top_consumers_are_ranked_by_energy_from_the_fleet_summary(engine, lang):
    request = Request("ranking", day="2025-11-05", ranking={"n": 3, "order": "most", "by": "energy"})
    reply = _answer(engine, request, lang)
    assert reply.error_code is None, reply.payload
    items = {i["seu_name"]: i["actual_energy_kwh"] for i in reply.payload["items"]}
    ranked = reply.payload["ranked"]
    assert len(ranked) == 3
    assert [items[n] for n in ranked] == sorted((items[n] for n in ranked), reverse=True)
    assert max(items.values()) == items[ranked[0]]
    text = reply.text(lang)
    assert all(name in text for name in ranked)


def test_least_and_by_deviation_change_the_order(engine):
    least = _answer(engine, Request("ranking", day="2025-11-05", ranking={"n": 1, "order": "least", "by": "energy"}),
                    "en-us")
    items = {i["seu_name"]: i for i in least.payload["items"]}
    assert items[least.payload["ranked"][0]]["actual_energy_kwh"] == min(i["actual_energy_kwh"] for i in items.values())
    worst = _answer(engine, Request("ranking", period={"start": "2025-10-27", "end": "2025-11-02"},
                                    ranking={"n": 1, "order": "most", "by": "deviation"}), "en-us")
    items = {i["seu_name"]: i for i in worst.payload["items"]}
    assert items[worst.payload["ranked"][0]]["deviation_kwh"] == max(i["deviation_kwh"] for i in items.values())
    assert "baseline" in worst.text("en-us")


@pytest.mark.parametrize("lang", corpus.LANGS)
def test_compare_speaks_both_machines(engine, lang):
    reply = _answer(engine, Request("compare", seu_name="Compressor-1", seu_name_b="Compressor-EU-1",
                                    day="2025-11-05"), lang)
    assert reply.error_code is None, reply.payload
    assert {i["seu_name"] for i in reply.payload["items"]} == {"Compressor-1", "Compressor-EU-1"}
    text = reply.text(lang)
    assert "Compressor-1" in text and "Compressor-EU-1" in text
    unknown = _answer(engine, Request("compare", seu_name="Compressor-1", seu_name_b="Compressor-9",
                                      day="2025-11-05"), lang)
    assert unknown.error_code == "unknown_seu"


@pytest.mark.parametrize("lang, utterance, ranking", [
    ("en-us", "what are the three biggest energy consumers", {"n": 3, "order": "most", "by": "energy"}),
    ("en-us", "which machine used the least energy last week", {"n": 1, "order": "least", "by": "energy"}),
    ("en-us", "least efficient machine", {"n": 1, "order": "most", "by": "deviation"}),
    ("de-de", "Die fünf größten Verbraucher diesen Monat", {"n": 5, "order": "most", "by": "energy"}),
    ("de-de", "Welche Maschine liegt am weitesten über ihrer Baseline?", {"n": 1, "order": "most", "by": "deviation"}),
])
def test_rankings_are_read_whatever_the_words(lang, utterance, ranking):
    plants = corpus.load_plants()
    seus = catalogue(plants, "second")  # another plant's names: the reading does not depend on the demo's
    resolver = SeuResolver([SeuRef(s.name, s.energy_source, s.machine_type, s.factory) for s in seus])
    parsed = parse.parse(utterance, lang, resolver, seus)
    assert parsed.ours and parsed.op == "ranking" and parsed.ranking == ranking


@pytest.mark.parametrize("lang, utterance", [
    ("en-us", "how does chiller 1 stack up against the chiller DE 2"),
    ("de-de", "Vergleiche Kältemaschine 1 mit Chiller DE 2"),
])
def test_two_machines_named_are_a_comparison(lang, utterance):
    plants = corpus.load_plants()
    seus = catalogue(plants, "second")
    resolver = SeuResolver([SeuRef(s.name, s.energy_source, s.machine_type, s.factory) for s in seus])
    parsed = parse.parse(utterance, lang, resolver, seus)
    assert parsed.op == "compare", parsed
    assert [s.seu_name for s in parsed.names] == ["Chiller-1", "Chiller-DE-2"]
