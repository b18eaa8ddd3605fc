"""The paraphrase corpus is well-formed: schema, counts, split sizes, every placeholder fillable on both plants.

Checks the data only; it imports nothing from the skill (the corpus is written independently of the parser).
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest

from tests.corpus import (CLASSES, ENERGY_SOURCES, WRITTEN_BATCHES, GROUP_KINDS, HOLDOUT_FRACTION, LANGS, NEGATIVE_KINDS, OPS,
                          PERIODS, PLANTS, fills, load_fresh, load_fresh_negatives, load_jsonl,
                          load_plants, placeholders, resolve_expect, stratified_holdout)
from tests.corpus import grammar

PLANT_DATA = load_plants()
ROLES = PLANT_DATA["roles"]
EXPECT_KEYS = {"op", "seu", "group", "energy_source", "day", "period", "ranking", "save"}
OUTCOMES = {"ask_back", "answer", "answer_offer", "closed", "not_ours", "new_question"}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _role(name, kind):
    assert name in ROLES, name
    assert ROLES[name]["kind"] == kind, (name, kind)
    for plant in PLANTS:
        assert ROLES[name]["plants"][plant] is not None, f"{name} does not exist on {plant}"


def check_expect(e: dict, asking_for: str | None = None) -> None:
    """``asking_for``: the slot an ask-back turn is still missing (the partial request may lack it)."""
    assert EXPECT_KEYS <= set(e) <= EXPECT_KEYS | {"seu_b"}, set(e)
    assert e["op"] in OPS
    if e["seu"] is not None:
        _role(e["seu"], "seu")
    if e.get("seu_b") is not None:
        assert e["op"] == "compare"
        _role(e["seu_b"], "seu")
        assert e["seu_b"] != e["seu"]
    if e["op"] == "compare":
        assert e["seu"] and e.get("seu_b")
    if e["op"] in ("analyze", "why", "action_plan") and asking_for != "seu":
        assert e["seu"] is not None, e
    g = e["group"]
    if g is not None:
        assert g["kind"] in GROUP_KINDS
        if g["kind"] in ("type", "type_factory"):
            _role(g["type"], "type")
        if g["kind"] in ("factory", "type_factory"):
            _role(g["factory"], "factory")
    assert e["energy_source"] is None or e["energy_source"] in ENERGY_SOURCES
    assert e["day"] is None or e["day"] in ("today", "yesterday") or ISO.match(e["day"])
    if e["day"] not in (None, "today", "yesterday"):
        assert dt.date.fromisoformat(e["day"]) <= dt.date(2025, 11, 6)
    p = e["period"]
    if p is not None:
        assert e["day"] is None
        start, end = dt.date.fromisoformat(p["start"]), dt.date.fromisoformat(p["end"])
        assert start <= end <= dt.date(2025, 11, 6)
        if "name" in p:
            assert (p["start"], p["end"]) == PERIODS[p["name"]]
    r = e["ranking"]
    if r is not None:
        assert e["op"] == "ranking"
        assert r["n"] is None or (isinstance(r["n"], int) and r["n"] >= 1)
        assert r["order"] in ("most", "least") and r.get("by", "energy") in ("energy", "deviation")
    if e["op"] == "ranking":
        assert r is not None
    assert isinstance(e["save"], bool)
    if e["save"]:
        assert e["op"] == "action_plan"
    for plant in PLANTS:
        resolve_expect(e, PLANT_DATA, plant)


def check_fillable(text: str, lang: str) -> None:
    for role, _variant in placeholders(text):
        assert role in ROLES, role
    for plant in PLANTS:
        filled = list(fills(text, PLANT_DATA, plant, lang))
        assert filled and all("{" not in f for f in filled), (text, plant)


def test_plants_roles_resolve_on_both_plants():
    for plant in PLANTS:
        data = PLANT_DATA["plants"][plant]
        machines = {m["name"]: m for m in data["machines"]}
        factories = {f["name"] for f in data["factories"]}
        types = {m["type"] for m in machines.values()}
        for name, role in ROLES.items():
            entry = role["plants"][plant]
            if entry is None:
                continue
            canon = entry["canonical"]
            if role["kind"] == "seu":
                assert canon in machines, (name, canon)
                assert entry["sources"] == machines[canon]["sources"]
            elif role["kind"] == "type":
                assert canon in types
                assert sorted(entry["members"]) == sorted(n for n, m in machines.items() if m["type"] == canon)
            else:
                assert canon in factories
            for lang in LANGS:
                assert entry["forms"][lang]["default"], (name, plant, lang)
                if role["kind"] == "type":
                    assert entry["forms"][lang]["sg"]
                if role["kind"] == "factory":
                    assert entry["forms"][lang]["in"]
    # what the second plant is for: a two-source and a three-source machine, a US and a German site
    second = PLANT_DATA["plants"]["second"]
    assert sorted(len(m["sources"]) for m in second["machines"])[-2:] == [2, 3]
    assert {f["location"].rsplit(", ", 1)[1] for f in second["factories"]} == {"USA", "Germany"}
    assert len(ROLES["M_MULTI"]["plants"]["demo"]["sources"]) == 3


@pytest.mark.parametrize("lang", LANGS)
def test_positives(lang):
    recs = load_jsonl(lang, "positives")
    assert len(recs) >= 330
    prefix = lang[:2] + "-"
    assert len({r["id"] for r in recs}) == len(recs) and all(r["id"].startswith(prefix) for r in recs)
    assert len({r["utt"].lower() for r in recs}) == len(recs), "duplicate utterance"
    for r in recs:
        assert set(r) == {"id", "utt", "class", "split", "expect"}, r["id"]
        assert r["class"] in CLASSES and r["split"] in ("tune", "holdout")
        check_expect(r["expect"])
        check_fillable(r["utt"], lang)
    ops, classes = Counter(r["expect"]["op"] for r in recs), Counter(r["class"] for r in recs)
    assert set(ops) == set(OPS), set(OPS) - set(ops)
    assert min(classes[c] for c in CLASSES) >= 35, classes
    holdout = {r["id"] for r in recs if r["split"] == "holdout"}
    assert abs(len(holdout) - HOLDOUT_FRACTION * len(recs)) <= 1
    assert holdout == stratified_holdout(recs), "split is not the recorded seeded stratified draw"
    for op in OPS:  # every op is represented on both sides of the split
        assert any(r["expect"]["op"] == op for r in recs if r["id"] in holdout), op
        assert any(r["expect"]["op"] == op for r in recs if r["id"] not in holdout), op


@pytest.mark.parametrize("lang", LANGS)
def test_negatives(lang):
    recs = load_jsonl(lang, "negatives")
    assert len(recs) >= 220
    assert len({r["id"] for r in recs}) == len(recs)
    assert len({r["utt"].lower() for r in recs}) == len(recs)
    for r in recs:
        assert set(r) == {"id", "utt", "kind", "owner"}
        assert r["kind"] in NEGATIVE_KINDS and r["owner"]
        assert not placeholders(r["utt"])
    owners = Counter(r["owner"] for r in recs)
    assert owners["date-time"] >= 20 and owners["weather"] >= 20
    assert Counter(r["kind"] for r in recs)["near_miss"] >= 60


@pytest.mark.parametrize("lang", LANGS)
def test_followups(lang):
    recs = load_jsonl(lang, "followups")
    assert len(recs) >= 40
    assert len({r["id"] for r in recs}) == len(recs)
    outcomes = Counter()
    for r in recs:
        turns = r["turns"]
        assert 2 <= len(turns) <= 3
        assert turns[0]["outcome"] in ("answer", "ask_back")
        for t in turns:
            assert t["outcome"] in OUTCOMES
            outcomes[t["outcome"]] += 1
            check_fillable(t["utt"], lang)
            if t["outcome"] in ("answer", "ask_back", "answer_offer", "new_question"):
                check_expect(t["expect"], t.get("slot") if t["outcome"] == "ask_back" else None)
            else:
                assert t["expect"] is None
            if t["outcome"] == "not_ours":
                assert t["owner"]
            if t["outcome"] in ("ask_back", "answer_offer"):
                assert t["slot"] in ("energy_source", "seu", "save")
    assert all(outcomes[o] for o in OUTCOMES), outcomes


@pytest.mark.parametrize("lang", LANGS)
def test_grammar_generates_valid_records(lang):
    recs = list(grammar.generate(lang, 600))
    assert len(recs) == 600
    assert recs == list(grammar.generate(lang, 600)), "not deterministic"
    assert set(Counter(r["expect"]["op"] for r in recs)) == set(OPS)
    for r in recs:
        assert r["class"] in CLASSES
        check_expect(r["expect"])
        check_fillable(r["utt"], lang)


def check_fresh_positives(recs: list[dict], prefix: str, lang: str) -> None:
    """A fresh batch of positives: unique ids with the batch's prefix, unique lines, the positives format, tuning
    split, every op and class."""
    assert len({r["id"] for r in recs}) == len(recs) and all(r["id"].startswith(prefix) for r in recs)
    assert len({r["utt"].lower() for r in recs}) == len(recs), "duplicate utterance"
    for r in recs:
        assert set(r) == {"id", "utt", "class", "split", "expect"}, r["id"]
        assert r["class"] in CLASSES and r["split"] == "tune", r["id"]
        check_expect(r["expect"])
        check_fillable(r["utt"], lang)
    ops, classes = Counter(r["expect"]["op"] for r in recs), Counter(r["class"] for r in recs)
    assert set(ops) == set(OPS), set(OPS) - set(ops)
    assert set(classes) == set(CLASSES), set(CLASSES) - set(classes)


def check_fresh_negatives(recs: list[dict], prefix: str) -> None:
    """A fresh batch of negatives: unique ids with the batch's prefix, unique lines, the negatives format, no
    placeholder, every kind."""
    assert len({r["id"] for r in recs}) == len(recs) and all(r["id"].startswith(prefix) for r in recs)
    assert len({r["utt"].lower() for r in recs}) == len(recs)
    for r in recs:
        assert set(r) == {"id", "utt", "kind", "owner"}
        assert r["kind"] in NEGATIVE_KINDS and r["owner"]
        assert not placeholders(r["utt"])
    assert all(Counter(r["kind"] for r in recs)[k] for k in NEGATIVE_KINDS)


@pytest.mark.parametrize("lang", LANGS)
def test_fresh_positives(lang):
    """The fresh batch: new tuning material in the positives format, every op and class, none of it a repeat of
    ``positives.jsonl`` (whose holdout draw it does not change)."""
    recs = load_fresh(lang)
    assert len(recs) >= 160
    prefix = lang[:2] + "-fr-"
    check_fresh_positives(recs, prefix, lang)
    old = load_jsonl(lang, "positives")
    assert not {r["id"] for r in old} & {r["id"] for r in recs}
    repeated = sorted({r["utt"].lower() for r in recs} & {r["utt"].lower() for r in old})  # only ours are shown
    assert not repeated, f"repeats positives.jsonl: {repeated}"


@pytest.mark.parametrize("lang", LANGS)
def test_fresh_negatives(lang):
    recs = load_fresh_negatives(lang)
    assert len(recs) >= 60
    prefix = lang[:2] + "-fn-"
    check_fresh_negatives(recs, prefix)
    old = load_jsonl(lang, "negatives")
    assert not {r["id"] for r in old} & {r["id"] for r in recs}
    repeated = sorted({r["utt"].lower() for r in recs} & {r["utt"].lower() for r in old})  # only ours are shown
    assert not repeated, f"repeats negatives.jsonl: {repeated}"
    fresh = {r["utt"].lower() for r in load_fresh(lang)}
    assert not fresh & {r["utt"].lower() for r in recs}, "a line is both positive and negative"


#: the corpus files in the order they were written; a later batch repeats no id and no line of the files before it
WRITTEN_ORDER = ("positives", "negatives", "followups",
                 *(name for batch in WRITTEN_BATCHES for name in (batch, f"{batch}_negatives")))


def _older_files(batch: str) -> tuple[str, ...]:
    """The files written before ``batch`` (its positives file's name: fresh2, fresh3, fresh4, fresh5, fresh6)."""
    return WRITTEN_ORDER[:WRITTEN_ORDER.index(batch)]


def _older_utterances(lang: str, batch: str) -> set[str]:
    """Every utterance of the files written before ``batch``, lower-cased (follow-ups turn by turn)."""
    utts = set()
    for name in _older_files(batch):
        recs = load_jsonl(lang, name)
        if name == "followups":
            utts |= {t["utt"].lower() for r in recs for t in r["turns"]}
        else:
            utts |= {r["utt"].lower() for r in recs}
    return utts


def _older_ids(lang: str, batch: str) -> set[str]:
    return {r["id"] for name in _older_files(batch) for r in load_jsonl(lang, name)}


def check_later_positives(recs: list[dict], prefix: str, lang: str, batch: str) -> None:
    """A batch written after the first fresh one: the fresh checks, and no id or line of an older file (only the
    batch's own repeated lines are shown)."""
    check_fresh_positives(recs, prefix, lang)
    assert not _older_ids(lang, batch) & {r["id"] for r in recs}
    repeated = sorted({r["utt"].lower() for r in recs} & _older_utterances(lang, batch))
    assert not repeated, f"repeats an older file: {repeated}"


def check_later_negatives(recs: list[dict], prefix: str, lang: str, batch: str, positives: list[dict]) -> None:
    """The negatives of such a batch: the fresh checks, enough near misses, no id or line of an older file or of
    the batch's own positives."""
    check_fresh_negatives(recs, prefix)
    assert Counter(r["kind"] for r in recs)["near_miss"] >= 25
    ids = {r["id"] for r in recs}
    assert not _older_ids(lang, batch) & ids and not {r["id"] for r in positives} & ids
    repeated = sorted({r["utt"].lower() for r in recs} & _older_utterances(lang, batch))
    assert not repeated, f"repeats an older file: {repeated}"
    assert not {r["utt"].lower() for r in positives} & {r["utt"].lower() for r in recs}, \
        "a line is both positive and negative"


#: the batches written after the first, each checked against every file written before it: (batch, positive id
#: infix, negative id infix, at least this many positives, negatives)
LATER_BATCHES = [("fresh2", "-f2-", "-n2-", 160, 60), ("fresh3", "-f3-", "-f3n-", 150, 60),
                 ("fresh4", "-f4-", "-f4n-", 130, 45), ("fresh5", "-f5-", "-f5n-", 130, 45),
                 ("fresh6", "-f6-", "-f6n-", 75, 100)]


@pytest.mark.parametrize("batch, ids, _neg_ids, at_least, _neg_at_least", LATER_BATCHES)
@pytest.mark.parametrize("lang", LANGS)
def test_later_batch_positives(lang, batch, ids, _neg_ids, at_least, _neg_at_least):
    """A later fresh batch: tuning positives in the positives format, every op and class, no line of any older file
    (the earlier batches included) repeated."""
    recs = load_jsonl(lang, batch)
    assert len(recs) >= at_least
    check_later_positives(recs, lang[:2] + ids, lang, batch)


@pytest.mark.parametrize("batch, _ids, neg_ids, _at_least, neg_at_least", LATER_BATCHES)
@pytest.mark.parametrize("lang", LANGS)
def test_later_batch_negatives(lang, batch, _ids, neg_ids, _at_least, neg_at_least):
    recs = load_jsonl(lang, f"{batch}_negatives")
    assert len(recs) >= neg_at_least
    check_later_negatives(recs, lang[:2] + neg_ids, lang, batch, load_jsonl(lang, batch))


@pytest.mark.parametrize("lang", LANGS)
def test_the_fourth_batch_says_when_in_two_lines_of_three(lang):
    """The fourth batch is about how people say days and periods."""
    recs = load_jsonl(lang, "fresh4")
    dated = [r for r in recs if r["expect"]["day"] is not None or r["expect"]["period"] is not None]
    assert len(dated) >= 2 * len(recs) // 3, (len(dated), len(recs))
