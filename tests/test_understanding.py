"""How many of the paraphrase corpus' questions the skill understands.

Through the real pipeline: the holdout positives of ``tests/corpus/<lang>/positives.jsonl`` (demo plant, spoken
forms walked by line number; then again on the corpus's second plant, a catalogue of its own in another database),
the fresh batches and every negative go through one MiniCroft per language (padatious + adapt + the
fallback stage, with the utterance normaliser a device runs when it is installed); a positive counts as
*understood* when the request the skill answers (or the question it asks back) has the expected op, the SEU or group,
the day or period and the energy source (see tests/corpus/README.md); a negative must not be claimed.

At parse level, on both plants of ``plants.json`` (demo and the invented second plant): the request parser
(``voice.parse``) alone reads the tuning and the holdout part (op, SEU or group, ranking, source) and must claim no
negative. This is milliseconds, so the tuning part is measured here and not through the pipeline (CI time).

The rates are printed and held as a ratchet: floors at the measured figures, raised as the parser improves.
Set ENMS_CORPUS_MISSES=1 to list the tuning part's misses (never look at the holdout's while tuning).
"""
from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from . import corpus
from .conftest import REF_NOW


#: measured floors (fraction understood); raise them when the parser improves, never lower them
#: measured floors of the holdout through the pipeline (before the request parser: en 23.0 %, de 12.9 %; with it
#: behind intent templates: 74.0 % / 66.3 %; the parser alone, no templates: 78.0 % / 71.3 %; with a period to today
#: judged by the complete days the engine answers, and "since january": 89.0 % / 81.2 %; with the normaliser's
#: "an dem" read as "am", "the last 30 days" as 30 complete days, factories by country, state and city adjective,
#: the kinds the plant's names say, telegraphic questions and German compounds: 91.0 % / 88.1 %)
#: A fresh batch written later without the parser (tests/corpus/README.md) found what tuning had not: before its
#: fixes, 85.0 % / 87.9 % of it understood at parse level; with them 98.6 % / 100 %, and the holdout through the
#: pipeline went from 91.0 % / 88.1 % to 92.0 % / 90.1 % (the holdout's misses were not looked at); after the second
#: batch 94.0 % / 95.0 %; after the third and fourth (the fourth about days and periods) 95.0 % / 95.0 %, the four
#: batches (715 / 714 lines) 100 % / 100 % through the pipeline; after the fifth (spoken at work) the holdout is
#: unchanged at 95.0 % / 95.0 % and the five batches (867 / 867 lines) 100 % / 100 %
FLOORS = {("en-us", "holdout"): 0.95, ("de-de", "holdout"): 0.95, ("en-us", "fresh"): 0.998, ("de-de", "fresh"): 0.998,
          # the holdout on the corpus's second plant (plants.json: Dayton and Augsburg, chillers, AHUs, a paint line)
          # through the same pipeline, first measured 95.0 % / 96.0 %
          ("en-us", "second"): 0.95, ("de-de", "second"): 0.96}
#: negatives the skill claims: none (before: en 63, de 30; 52 and 30 while intent templates with a free-text slot,
#: "how is {seu} doing", still matched before the request parser was asked)
#: every negative goes through the pipeline (about 20 ms each once no other skill is left active between them);
#: ENMS_NEGATIVE_STRIDE=n routes every n-th only, for a quick look
NEGATIVE_STRIDE = max(1, int(os.environ.get("ENMS_NEGATIVE_STRIDE", "1")))

TODAY = corpus.TODAY.isoformat()
YESTERDAY = (corpus.TODAY - dt.timedelta(days=1)).isoformat()
_OP_OF_REQUEST = {"action_plans": "plans"}


def factory_of(said: str | None, plant: str = "demo") -> str | None:
    """A factory as the request names it (its name, or a place of its location: "Munich") -> its name."""
    if said is None:
        return None
    for f in corpus.load_plants()["plants"][plant]["factories"]:
        if said == f["name"] or said.lower() in f["location"].lower():
            return f["name"]
    return said


def _group(req: dict, plant: str = "demo") -> dict | None:
    mtype, factory = req.get("machine_type"), factory_of(req.get("factory"), plant)
    if mtype and factory:
        return {"kind": "type_factory", "type": mtype, "factory": factory}
    if mtype:
        return {"kind": "type", "type": mtype, "factory": None}
    if factory:
        return {"kind": "factory", "type": None, "factory": factory}
    return {"kind": "all", "type": None, "factory": None}


def _when_ok(expect: dict, req: dict) -> tuple[bool, str]:
    """Day and period: what was said must be what is answered; nothing said lets the skill's default stand."""
    day, period = expect.get("day"), expect.get("period")
    got_day = req.get("analysis_date")
    got_period = req.get("period")
    if isinstance(got_period, dict):
        got_period = {"start": got_period.get("start"), "end": got_period.get("end")}
    if period is not None:
        if got_period == period:
            return True, ""
        # a period that runs to today is answered for its complete days, to yesterday (the engine cuts it there and
        # says so: "today is not over and is not included"): "this year" asked for to today is "this year" understood
        if isinstance(got_period, dict) and got_period.get("start") == period["start"] and \
                got_period.get("end") == TODAY and period["end"] == YESTERDAY and period["start"] < TODAY:
            return True, ""
        if period["start"] == period["end"] and got_day == period["start"]:
            return True, ""
        return False, f"period {got_period or got_day} != {period}"
    if day is not None:
        if got_day == day or (isinstance(got_period, dict) and got_period == {"start": day, "end": day}):
            return True, ""
        return False, f"day {got_day or got_period} != {day}"
    if got_day not in (None, TODAY) and "analysis_date" in req:
        return False, f"day {got_day} said where none was"
    return True, ""


def judge(record: dict, expect: dict, sources: dict[str, list[str]], plant: str = "demo") -> tuple[bool, str]:
    """(understood, why not) for one positive; ``expect`` is resolved on ``plant``."""
    op = expect["op"]
    asked = record.get("asked_back")
    req = record.get("request")
    if req is None and asked is not None:
        # asking back is right only where the question cannot be answered as said: a multi-source SEU
        # with no source named (the slot asked is the source), or a name that fits several SEUs
        got_op = _OP_OF_REQUEST.get(asked.get("op"), asked.get("op"))
        if got_op != op:
            return False, f"asked back in op {got_op}"
        if asked.get("slot") == "energy_source" and expect.get("energy_source") is None \
                and asked.get("seu_name") == expect.get("seu") and len(sources.get(expect.get("seu"), [])) > 1:
            return True, ""
        return False, f"asked back for {asked.get('slot')}: {asked.get('options')}"
    if req is None:
        return False, f"no request (intent {record.get('intent')}, dialogs {record.get('dialogs')})"
    got_op = record.get("op") or req.get("op")
    got_op = _OP_OF_REQUEST.get(got_op, got_op)
    if got_op != op:
        return False, f"op {got_op}"
    if op in ("analyze", "why", "action_plan", "savings", "opportunities", "plans", "compare"):
        if expect.get("seu") is not None or op in ("analyze", "why", "action_plan", "compare"):
            if req.get("seu_name") != expect.get("seu"):
                return False, f"seu {req.get('seu_name')} != {expect.get('seu')}"
    if op == "compare" and req.get("seu_name_b") != expect.get("seu_b"):
        return False, f"seu_b {req.get('seu_name_b')} != {expect.get('seu_b')}"
    if op in ("summary", "ranking") or (op == "opportunities" and expect.get("group")):
        group = expect.get("group") or {"kind": "all", "type": None, "factory": None}
        if _group(req, plant) != group:
            return False, f"group {_group(req, plant)} != {group}"
    if op == "ranking":
        rank, got = expect.get("ranking") or {}, req.get("ranking") or {}
        for key in ("n", "order", "by"):
            if rank.get(key) != got.get(key):
                return False, f"ranking {got} != {rank}"
    if op == "action_plan" and bool(req.get("save")) != bool(expect.get("save")) and "save" in req:
        return False, "save"
    source = expect.get("energy_source")
    if op in ("analyze", "why"):
        if source is not None and req.get("energy_source") != source:
            return False, f"source {req.get('energy_source')} != {source}"
        if source is None and len(sources.get(expect["seu"], [])) > 1:
            return False, "a source chosen that was not said"
    if op in ("analyze", "why", "summary", "ranking", "compare", "opportunities", "savings"):
        ok, why = _when_ok(expect, req)
        if not ok:
            return False, why
    return True, ""


def _positives(lang: str, plants: dict, records: list[dict] | None = None,
               plant: str = "demo") -> list[tuple[dict, str, dict]]:
    """(record, utterance on ``plant``, expectation resolved there); records naming a role the plant lacks are
    left out."""
    out = []
    for i, rec in enumerate(corpus.load_jsonl(lang, "positives") if records is None else records):
        try:
            utt = corpus.fill(rec["utt"], plants, plant, lang, pick=i)
            expect = corpus.resolve_expect(rec["expect"], plants, plant)
        except KeyError:
            continue
        out.append((rec, utt, expect))
    return out


def _sources(plants: dict, plant: str) -> dict[str, list[str]]:
    return {e["canonical"]: e.get("sources") or []
            for r in plants["roles"].values() if (e := r["plants"].get(plant)) and r["kind"] == "seu"}


#: time zones of the corpus plants' sites by country (plants.json names places, not zones)
_ZONES = {"USA": "America/New_York", "Germany": "Europe/Berlin"}


@pytest.fixture(scope="module")
def corpus_second_dsn(admin_dsn):
    """The corpus's second plant (``plants.json``: other names, types and sites than the demo) as an EnMS
    catalogue: factories, machines and one SEU per machine and source, no readings (understanding is measured,
    not answering)."""
    import uuid

    import asyncpg

    from skill_enms_performance.store import schema_sql

    from .conftest import _create_db, _drop_db, run, with_database

    name = "corpus_second_plant"
    plant = corpus.load_plants()["plants"]["second"]
    ns = uuid.UUID("6f1d3c2a-0b7e-4c55-9a61-3d2f8e4b7c10")

    async def load() -> None:
        await _drop_db(admin_dsn, name)
        await _create_db(admin_dsn, name)
        conn = await asyncpg.connect(with_database(admin_dsn, name))
        try:
            async with conn.transaction():
                await conn.execute(schema_sql())
                for f in plant["factories"]:
                    zone = _ZONES[f["location"].rsplit(", ", 1)[-1]]
                    await conn.execute("INSERT INTO factories (id, name, location, timezone) VALUES ($1, $2, $3, $4)",
                                       uuid.uuid5(ns, f["name"]), f["name"], f["location"], zone)
                sources = {src for m in plant["machines"] for src in m["sources"]}
                for src in sorted(sources):
                    await conn.execute("INSERT INTO energy_sources (id, name, unit, cost_per_unit, carbon_factor)"
                                       " VALUES ($1, $2, 'kWh', 0.15, 0.4)", uuid.uuid5(ns, src), src)
                for m in plant["machines"]:
                    mid = uuid.uuid5(ns, m["name"])
                    await conn.execute("INSERT INTO machines (id, factory_id, name, type, rated_power_kw, is_active)"
                                       " VALUES ($1, $2, $3, $4, 50.0, true)", mid, uuid.uuid5(ns, m["factory"]),
                                       m["name"], m["type"])
                    for src in m["sources"]:
                        await conn.execute("INSERT INTO seus (id, name, energy_source_id, machine_ids, is_active)"
                                           " VALUES ($1, $2, $3, $4, true)", uuid.uuid5(ns, f"{m['name']} {src}"),
                                           m["name"], uuid.uuid5(ns, src), [mid])
        finally:
            await conn.close()

    run(load())
    yield with_database(admin_dsn, name)
    run(_drop_db(admin_dsn, name))


async def _request_only(engine, request, lang):
    """Understanding is measured, not answering (tests/test_golden.py and test_skill_e2e.py hear the answers): the
    engine's work per question would make this file take minutes. The request is emitted as before."""
    from skill_enms_performance.answers import Answer

    return Answer({"seu_name": request.seu_name, "energy_source": request.energy_source}, [])


@pytest.fixture(scope="module", params=corpus.LANGS)
def measured(request, plant_dsn, corpus_second_dsn):
    """Every positive and negative of one language through its own MiniCroft, once."""
    from skill_enms_performance import skill as skill_module
    from skill_enms_performance.harness import AskSession

    lang = request.param
    patch = pytest.MonkeyPatch()
    patch.setattr(skill_module, "answer", _request_only)
    os.environ["ENMS_DSN"] = plant_dsn
    os.environ["ENMS_NOW"] = REF_NOW.isoformat()
    session = None
    try:
        started = time.perf_counter()
        session = AskSession(lang)
        booted = time.perf_counter()
        plants = corpus.load_plants()
        sources = _sources(plants, "demo")
        results: dict[str, list] = {"tune": [], "holdout": [], "fresh": [], "negatives": [], "second": []}
        for rec, utt, expect in _positives(lang, plants):
            if rec["split"] != "holdout":  # the tuning part is read at parse level (below): CI time
                continue
            session.forget()
            record = session.ask(utt)
            ok, why = judge(record, expect, sources)
            results[rec["split"]].append((rec, utt, ok, why))
        for rec, utt, expect in _positives(lang, plants, corpus.load_all_fresh(lang)):
            session.forget()
            ok, why = judge(session.ask(utt), expect, sources)
            results["fresh"].append((rec, utt, ok, why))
        negatives = corpus.load_all_negatives(lang)
        results["negatives_total"] = len(negatives)
        for rec in negatives[::NEGATIVE_STRIDE]:
            session.forget()
            record = session.ask(rec["utt"])
            claimed = record["intent"] is not None
            results["negatives"].append((rec, rec["utt"], claimed, record["intent"]))
        results["seconds"] = (booted - started, time.perf_counter() - booted)
        # the holdout again on the corpus's second plant: its names, types and sites through the same pipeline
        session.close()
        session = None
        os.environ["ENMS_DSN"] = corpus_second_dsn
        session = AskSession(lang)
        second = _sources(plants, "second")
        for rec, utt, expect in _positives(lang, plants, plant="second"):
            if rec["split"] == "holdout":
                session.forget()
                ok, why = judge(session.ask(utt), expect, second, "second")
                results["second"].append((rec, utt, ok, why))
        yield lang, results
    finally:
        patch.undo()
        if session is not None:
            session.close()
        os.environ.pop("ENMS_DSN", None)
        os.environ.pop("ENMS_NOW", None)


def rate(rows: list) -> float:
    return sum(1 for *_, ok, _ in rows if ok) / len(rows) if rows else 0.0


def report(lang: str, results: dict) -> str:
    lines = [f"understanding {lang} through the pipeline: "
             f"holdout {rate(results['holdout']):.1%} of {len(results['holdout'])} (second plant "
             f"{rate(results['second']):.1%} of {len(results['second'])}), fresh batches "
             f"{rate(results['fresh']):.1%} of {len(results['fresh'])}, negatives claimed "
             f"{sum(1 for *_, c, _ in results['negatives'] if c)} of {len(results['negatives'])} "
             f"(boot {results['seconds'][0]:.1f} s, utterances {results['seconds'][1]:.1f} s)"]
    return "\n".join(lines)


@pytest.mark.e2e
def test_understanding_rates_hold_their_floor(measured, capsys):
    lang, results = measured
    with capsys.disabled():
        print("\n" + report(lang, results))
        if os.environ.get("ENMS_CORPUS_MISSES"):
            for rec, utt, ok, why in results["fresh"]:
                if not ok:
                    print(f"  MISS {rec['id']} {utt!r}: {why}")
            for rec, utt, claimed, intent in results["negatives"]:
                if claimed:
                    print(f"  CLAIMED {rec['id']} {utt!r} by {intent}")
    assert rate(results["holdout"]) >= FLOORS[(lang, "holdout")]
    assert rate(results["second"]) >= FLOORS[(lang, "second")]
    assert rate(results["fresh"]) >= FLOORS[(lang, "fresh")]


@pytest.mark.e2e
def test_negatives_are_left_to_other_skills(measured):
    lang, results = measured
    claimed = [(rec["id"], utt, intent) for rec, utt, c, intent in results["negatives"] if c]
    if os.environ.get("ENMS_CORPUS_MISSES"):
        for row in claimed:
            print("  CLAIMED", *row)
    assert not claimed, claimed[:20]


# --- parse level, on both plants: the request parser alone (no database, no pipeline; milliseconds) ---------------
#: measured floors of the parse-level reading (op, SEU or group, ranking, source) per (plant, lang, split); measured
#: tune / holdout: demo en 100.0 / 92.0 %, de 99.2 / 90.1 %; second plant en 100.0 / 92.0 %, de 99.2 / 90.1 % (before:
#: demo 97.0 / 91.0, 96.6 / 86.1; second 92.8 / 86.0, 91.5 / 84.2)
PARSE_FLOORS = {
    # measured after the third and fourth batches: tune 100 %, holdout 96.0 % in both languages on both plants
    ("demo", "en-us", "tune"): 0.99, ("demo", "en-us", "holdout"): 0.96,
    ("demo", "de-de", "tune"): 0.99, ("demo", "de-de", "holdout"): 0.96,
    ("second", "en-us", "tune"): 0.99, ("second", "en-us", "holdout"): 0.96,
    ("second", "de-de", "tune"): 0.99, ("second", "de-de", "holdout"): 0.96,
    **{(plant, "en-us", "fresh"): 0.98 for plant in ("demo", "second")},
    **{(plant, "de-de", "fresh"): 0.99 for plant in ("demo", "second")},
    # the second and third batches, after their fixes (the third before them: en 93.0 / 92.4 %, de 90.7 / 90.7 %)
    **{(plant, lang, part): 0.99 for plant in ("demo", "second") for lang in ("en-us", "de-de")
       for part in ("fresh2", "fresh3", "fresh4")},
    # the fifth batch (spoken at work: context, indirect questions, corrections), before its fixes en 92.8 / 92.8 %,
    # de 96.7 / 96.7 % and 5 / 5 of its negatives claimed; after them 100 % on both plants, none claimed
    **{(plant, lang, "fresh5"): 0.99 for plant in ("demo", "second") for lang in ("en-us", "de-de")},
}


def catalogue(plants: dict, plant: str) -> list:
    """The plant of ``plants.json`` as the engine lists its SEUs (one per machine and energy source)."""
    from types import SimpleNamespace

    where = {f["name"]: f["location"] for f in plants["plants"][plant]["factories"]}
    return [SimpleNamespace(name=m["name"], energy_source=src, machine_types=[m["type"]], machine_type=m["type"],
                            factory=m["factory"], location=where.get(m["factory"]), timezone="UTC")
            for m in plants["plants"][plant]["machines"] for src in m["sources"]]


def parse_judge(parsed, expect: dict, plant: str) -> tuple[bool, str]:
    op = expect["op"]
    if parsed.op != op:
        return False, f"op {parsed.op}"
    if not parsed.ours:
        return False, "not claimed"
    seu = parsed.seu.seu_name if parsed.seu else None
    if op in ("analyze", "why", "action_plan", "compare") or expect.get("seu"):
        if seu != expect.get("seu"):
            return False, f"seu {seu}"
    if op == "compare":
        other = next((s.seu_name for s in parsed.names if s.seu_name and s.seu_name != seu), None)
        if other != expect.get("seu_b"):
            return False, f"seu_b {other}"
    if op in ("summary", "ranking"):
        group = expect.get("group") or {"kind": "all", "type": None, "factory": None}
        if (parsed.machine_type, factory_of(parsed.factory, plant)) != (group.get("type"), group.get("factory")):
            return False, f"group {parsed.machine_type}, {parsed.factory}"
    if op == "ranking" and parsed.ranking != expect.get("ranking"):
        return False, f"ranking {parsed.ranking}"
    if op in ("analyze", "why") and expect.get("energy_source") and parsed.energy_source != expect["energy_source"]:
        return False, f"source {parsed.energy_source}"
    return True, ""


@pytest.mark.parametrize("plant", corpus.PLANTS)
@pytest.mark.parametrize("lang", corpus.LANGS)
def test_parser_reads_the_corpus_on_both_plants(plant, lang, capsys):
    from skill_enms_performance.voice import parse
    from skill_enms_performance.voice.names import SeuRef, SeuResolver

    plants = corpus.load_plants()
    seus = catalogue(plants, plant)
    resolver = SeuResolver([SeuRef(s.name, s.energy_source, s.machine_type, s.factory) for s in seus])
    rows: dict[str, list] = {part: [] for part in ("tune", "holdout", *corpus.WRITTEN_BATCHES)}
    for part, records in (("", corpus.load_jsonl(lang, "positives")),
                          *((batch, corpus.load_jsonl(lang, batch)) for batch in corpus.WRITTEN_BATCHES)):
        for i, rec in enumerate(records):
            try:
                utt = corpus.fill(rec["utt"], plants, plant, lang, pick=i)
                expect = corpus.resolve_expect(rec["expect"], plants, plant)
            except KeyError:  # a role this plant lacks
                continue
            ok, why = parse_judge(parse.parse(utt, lang, resolver, seus), expect, plant)
            rows[part or rec["split"]].append((rec, utt, ok, why))
    negatives = corpus.load_all_negatives(lang)
    claimed = [n["utt"] for n in negatives if parse.parse(n["utt"], lang, resolver, seus).ours]
    # batches written but not yet read for fixes: measured as they came, held to nothing yet (corpus README)
    unread = {batch: rows.pop(batch) for batch in corpus.MEASURED_BATCHES}
    unread_negatives = {batch: [parse.parse(n["utt"], lang, resolver, seus).ours
                                for n in corpus.load_jsonl(lang, f"{batch}_negatives")]
                        for batch in corpus.MEASURED_BATCHES}
    with capsys.disabled():
        print(f"\nparse {plant} {lang}: " + ", ".join(f"{part} {rate(r):.1%} of {len(r)}" for part, r in rows.items())
              + f", negatives claimed {len(claimed)} of {len(negatives)}"
              + "".join(f"; not yet read for fixes: {batch} {rate(r):.1%} of {len(r)}, its negatives claimed "
                        f"{sum(unread_negatives[batch])} of {len(unread_negatives[batch])}"
                        for batch, r in unread.items()))
        if os.environ.get("ENMS_CORPUS_MISSES"):
            for part in ("tune", *corpus.FRESH_BATCHES):
                for rec, utt, ok, why in rows[part]:
                    if not ok:
                        print(f"  MISS {rec['id']} {utt!r}: {why}")
    for part, measured in rows.items():
        assert rate(measured) >= PARSE_FLOORS[(plant, lang, part)], part
    assert not claimed, claimed[:10]
