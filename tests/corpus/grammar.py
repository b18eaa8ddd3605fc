"""A seeded grammar of questions with their expectations: op x phrasing frame x machine/group role x day/period x
filler, per language, in the format of ``positives.jsonl`` (placeholders {ROLE} kept; fill them per plant with
``tests.corpus.fill``). Generated on the fly, never committed: ``list(generate("de-de", 5000))``.

Written together with the hand-written corpus, before the parser was rewritten, from the same conventions (README).
"""
from __future__ import annotations

import random
import re
from typing import Iterator

from . import PERIODS

#: roles present on both plants (the grammar must fill on either)
SEU_ROLES = ("M1", "M2", "M_AIR", "M_AIR2", "M_MULTI", "M_PUMP", "M_LETTER", "M_PROD")
TYPE_ROLES = ("T_COMP", "T_AIR", "T_PUMP")
FACTORY_ROLES = ("F_US", "F_DE")
#: sources every plant's multi-source machine has
MULTI_SOURCES = ("electricity", "natural_gas")


def _day(v):
    return ("day", v)


def _per(name):
    return ("period", name)


# (spoken, value, tense) with tense "now" | "past"; value None = nothing said
WHEN = {
    "en-us": [
        ("", None, "now"), ("today", _day("today"), "now"), ("so far today", _day("today"), "now"),
        ("yesterday", _day("yesterday"), "past"), ("on monday", _day("2025-11-03"), "past"),
        ("on tuesday", _day("2025-11-04"), "past"), ("on october 20th", _day("2025-10-20"), "past"),
        ("on the 29th of october", _day("2025-10-29"), "past"), ("last friday", _day("2025-10-31"), "past"),
        ("the day before yesterday", _day("2025-11-04"), "past"), ("on 10/20", _day("2025-10-20"), "past"),
        ("last week", _per("last_week"), "past"), ("this week", _per("this_week"), "past"),
        ("since monday", _per("since_monday"), "past"), ("this month", _per("this_month"), "past"),
        ("last month", _per("last_month"), "past"), ("in october", _per("october"), "past"),
        ("in september", _per("september"), "past"), ("over the last 30 days", _per("last_30_days"), "past"),
        ("over the past seven days", _per("last_7_days"), "past"), ("this year", _per("this_year"), "past"),
        ("since january", _per("since_january"), "past"), ("last weekend", _per("last_weekend"), "past"),
    ],
    "de-de": [
        ("", None, "now"), ("heute", _day("today"), "now"), ("bis jetzt heute", _day("today"), "now"),
        ("gestern", _day("yesterday"), "past"), ("am Montag", _day("2025-11-03"), "past"),
        ("am Dienstag", _day("2025-11-04"), "past"), ("am 20. Oktober", _day("2025-10-20"), "past"),
        ("am neunundzwanzigsten Oktober", _day("2025-10-29"), "past"), ("letzten Freitag", _day("2025-10-31"), "past"),
        ("vorgestern", _day("2025-11-04"), "past"), ("am 20.10.", _day("2025-10-20"), "past"),
        ("letzte Woche", _per("last_week"), "past"), ("diese Woche", _per("this_week"), "past"),
        ("seit Montag", _per("since_monday"), "past"), ("diesen Monat", _per("this_month"), "past"),
        ("letzten Monat", _per("last_month"), "past"), ("im Oktober", _per("october"), "past"),
        ("im September", _per("september"), "past"), ("in den letzten 30 Tagen", _per("last_30_days"), "past"),
        ("in den letzten sieben Tagen", _per("last_7_days"), "past"), ("dieses Jahr", _per("this_year"), "past"),
        ("seit Januar", _per("since_january"), "past"), ("am letzten Wochenende", _per("last_weekend"), "past"),
    ],
}

SOURCES = {
    "en-us": [("gas", "natural_gas"), ("natural gas", "natural_gas"), ("electricity", "electricity"),
              ("power from the grid", "electricity")],
    "de-de": [("Gas", "natural_gas"), ("Erdgas", "natural_gas"), ("Strom", "electricity")],
}

NUMBERS = {
    "en-us": [("two", 2), ("three", 3), ("3", 3), ("five", 5), ("5", 5), ("ten", 10)],
    "de-de": [("zwei", 2), ("drei", 3), ("3", 3), ("fünf", 5), ("5", 5), ("zehn", 10)],
}

# (spoken, group, plural) ; {T} and {F} are replaced by a type / factory role
GROUPS = {
    "en-us": [("all machines", {"kind": "all"}, True), ("the whole plant", {"kind": "all"}, False),
              ("all the {T}", "type", True), ("the {T}", "type", True), ("{F}", "factory", False),
              ("the machines {F:in}", "factory", True), ("the {T} {F:in}", "type_factory", True)],
    "de-de": [("alle Maschinen", {"kind": "all"}, True), ("das ganze Werk", {"kind": "all"}, False),
              ("alle {T}", "type", True), ("die {T}", "type", True), ("{F}", "factory", False),
              ("die Maschinen {F:in}", "factory", True), ("die {T} {F:in}", "type_factory", True)],
}

FILLERS = {
    "en-us": ([("", ""), ("uh ", ""), ("hey ", ""), ("please ", ""), ("um so ", ""), ("ok ", ""),
               ("can you tell me ", ""), ("", " please"), ("", " thanks"), ("hey mycroft ", "")]),
    "de-de": ([("", ""), ("äh ", ""), ("hey ", ""), ("bitte ", ""), ("ähm also ", ""), ("sag mal, ", ""),
               ("okay ", ""), ("", " bitte"), ("", " danke"), ("hey Mycroft, ", "")]),
}

# frames: (op, class, text, when-kinds) ; when-kinds: "any" | "now" | "period" | "none" | "past"
# markers: {SEU} {A} {B} {MULTI} {SRC} {GROUP} {V} {N} {T} {F} {WHEN}
FRAMES = {
    "en-us": [
        ("analyze", 1, "how did {SEU} do {WHEN}", "past"),
        ("analyze", 1, "how's {SEU} doing {WHEN}", "now"),
        ("analyze", 1, "how did {SEU} perform {WHEN}", "past"),
        ("analyze", 1, "how is {SEU} running {WHEN}", "now"),
        ("analyze", 4, "{SEU} {WHEN}", "any"),
        ("analyze", 4, "numbers for {SEU} {WHEN}", "any"),
        ("analyze", 5, "what did {SEU} cost us {WHEN}", "past"),
        ("analyze", 2, "how much energy did {SEU} burn {WHEN}", "past"),
        ("analyze", 2, "{SEU}'s consumption {WHEN}", "any"),
        ("analyze", 7, "how much {SRC} did {MULTI} use {WHEN}", "past"),
        ("analyze", 7, "{MULTI}'s {SRC} {WHEN}", "any"),
        ("analyze", 7, "how did {MULTI} do on {SRC} {WHEN}", "past"),
        ("why", 1, "why did {SEU} use so much {WHEN}", "past"),
        ("why", 2, "what's driving {SEU}'s energy use {WHEN}", "any"),
        ("why", 5, "what's causing the high consumption on {SEU} {WHEN}", "any"),
        ("why", 7, "why did {MULTI} burn so much {SRC} {WHEN}", "past"),
        ("summary", 3, "give me a summary of {GROUP} {WHEN}", "any"),
        ("summary", 1, "how {V} {GROUP} doing {WHEN}", "now"),
        ("summary", 3, "how did {GROUP} do {WHEN}", "past"),
        ("summary", 3, "how much energy did we use {WHEN}", "past"),
        ("summary", 7, "how much {SRC} did we use {WHEN}", "past"),
        ("ranking", 3, "which machine used the most energy {WHEN}", "any"),
        ("ranking", 3, "top {N} energy users {WHEN}", "any"),
        ("ranking", 3, "what are the {N} biggest consumers {WHEN}", "any"),
        ("ranking", 3, "rank the {T} {WHEN}", "any"),
        ("ranking", 3, "which machine used the least {WHEN}", "any"),
        ("ranking", 7, "which machine {F:in} used the most {WHEN}", "any"),
        ("compare", 3, "compare {A} with {B} {WHEN}", "any"),
        ("compare", 4, "{A} versus {B} {WHEN}", "any"),
        ("compare", 1, "how does {A} stack up against {B} {WHEN}", "any"),
        ("opportunities", 1, "where can we save energy {WHEN}", "period"),
        ("opportunities", 5, "is anything wasting energy {F:in}", "none"),
        ("opportunities", 5, "where could we cut {WHEN}", "period"),
        ("opportunities", 7, "any savings opportunities {F:in} {WHEN}", "period"),
        ("opportunities", 4, "opportunities {SEU}", "none"),
        ("action_plan", 1, "what should we do about {SEU}", "none"),
        ("action_plan", 5, "save a plan for {SEU}", "none"),
        ("action_plan", 5, "make an action plan for {SEU}", "none"),
        ("plans", 1, "how many action plans are in progress", "none"),
        ("plans", 5, "what's the plan for {SEU}", "none"),
        ("savings", 5, "how much have we saved {WHEN}", "period"),
        ("savings", 2, "what have we saved on {SEU} {WHEN}", "period"),
        ("health", 5, "is the energy database ok", "none"),
        ("health", 5, "when was the last meter reading", "none"),
        ("health", 5, "is the data up to date", "none"),
    ],
    "de-de": [
        ("analyze", 1, "Wie lief {SEU} {WHEN}?", "past"),
        ("analyze", 1, "Wie läuft {SEU} {WHEN}?", "now"),
        ("analyze", 1, "Wie hat sich {SEU} {WHEN} geschlagen?", "past"),
        ("analyze", 4, "{SEU} {WHEN}", "any"),
        ("analyze", 4, "Zahlen für {SEU} {WHEN}", "any"),
        ("analyze", 5, "Was hat uns {SEU} {WHEN} gekostet?", "past"),
        ("analyze", 2, "Wie viel Energie hat {SEU} {WHEN} verbraten?", "past"),
        ("analyze", 2, "Verbrauch von {SEU} {WHEN}", "any"),
        ("analyze", 7, "Wie viel {SRC} hat {MULTI} {WHEN} verbraucht?", "past"),
        ("analyze", 7, "{SRC}verbrauch von {MULTI} {WHEN}", "any"),
        ("analyze", 7, "Wie lief {MULTI} {WHEN} beim {SRC}?", "past"),
        ("why", 1, "Warum hat {SEU} {WHEN} so viel verbraucht?", "past"),
        ("why", 2, "Was treibt den Verbrauch von {SEU} {WHEN}?", "any"),
        ("why", 5, "Was verursacht den hohen Verbrauch bei {SEU} {WHEN}?", "any"),
        ("why", 7, "Warum hat {MULTI} {WHEN} so viel {SRC} gebraucht?", "past"),
        ("summary", 3, "Zusammenfassung für {GROUP} {WHEN}", "any"),
        ("summary", 1, "Wie {V} {GROUP} {WHEN}?", "past"),
        ("summary", 3, "Wie viel Energie haben wir {WHEN} verbraucht?", "past"),
        ("summary", 7, "Wie viel {SRC} haben wir {WHEN} verbraucht?", "past"),
        ("ranking", 3, "Welche Maschine hat {WHEN} am meisten verbraucht?", "past"),
        ("ranking", 3, "Top {N} Verbraucher {WHEN}", "any"),
        ("ranking", 3, "Die {N} größten Verbraucher {WHEN}", "any"),
        ("ranking", 3, "Sortier die {T} nach Verbrauch {WHEN}", "any"),
        ("ranking", 3, "Welche Maschine hat {WHEN} am wenigsten verbraucht?", "past"),
        ("ranking", 7, "Welche Maschine {F:in} hat {WHEN} am meisten verbraucht?", "past"),
        ("compare", 3, "Vergleich {A} mit {B} {WHEN}", "any"),
        ("compare", 4, "{A} gegen {B} {WHEN}", "any"),
        ("compare", 1, "Wie schlägt sich {A} gegen {B} {WHEN}?", "any"),
        ("opportunities", 1, "Wo können wir {WHEN} Energie sparen?", "period"),
        ("opportunities", 5, "Verschwendet {F:in} irgendwas Energie?", "none"),
        ("opportunities", 5, "Wo könnten wir {WHEN} einsparen?", "period"),
        ("opportunities", 7, "Einsparmöglichkeiten {F:in} {WHEN}", "period"),
        ("opportunities", 4, "Einsparpotenzial {SEU}", "none"),
        ("action_plan", 1, "Was sollen wir bei {SEU} machen?", "none"),
        ("action_plan", 5, "Speicher einen Plan für {SEU}", "none"),
        ("action_plan", 5, "Erstell einen Maßnahmenplan für {SEU}", "none"),
        ("plans", 1, "Wie viele Maßnahmenpläne laufen gerade?", "none"),
        ("plans", 5, "Was ist der Plan für {SEU}?", "none"),
        ("savings", 5, "Wie viel haben wir {WHEN} gespart?", "period"),
        ("savings", 2, "Was haben wir {WHEN} bei {SEU} gespart?", "period"),
        ("health", 5, "Ist die Energiedatenbank in Ordnung?", "none"),
        ("health", 5, "Wann war der letzte Zählerstand?", "none"),
        ("health", 5, "Sind die Daten aktuell?", "none"),
    ],
}


def _when_ok(kind: str, value, tense: str) -> bool:
    if kind == "any":
        return True
    if kind == "none":
        return value is None
    if kind == "now":
        return tense == "now"
    if kind == "past":
        return value is not None and tense == "past"
    if kind == "period":
        return value is None or value[0] == "period"
    raise ValueError(kind)


def _blank(op: str) -> dict:
    return {"op": op, "seu": None, "group": None, "energy_source": None, "day": None, "period": None,
            "ranking": None, "save": False}


def _one(lang: str, rng: random.Random) -> tuple[str, int, dict]:
    op, cls, text, when_kind = rng.choice(FRAMES[lang])
    e = _blank(op)
    when_text, when, _ = rng.choice([w for w in WHEN[lang] if _when_ok(when_kind, w[1], w[2])])
    if when is not None:
        if when[0] == "day":
            e["day"] = when[1]
        else:
            start, end = PERIODS[when[1]]
            e["period"] = {"name": when[1], "start": start, "end": end}
    t = rng.choice(TYPE_ROLES)
    f = rng.choice(FACTORY_ROLES)
    if "{SEU}" in text:
        e["seu"] = rng.choice(SEU_ROLES)
        text = text.replace("{SEU}", "{%s}" % e["seu"])
        if when is not None and when[0] == "period" and op == "analyze":
            cls = 8
    if "{MULTI}" in text:
        e["seu"] = "M_MULTI"
        text = text.replace("{MULTI}", "{M_MULTI}")
    if "{A}" in text:
        a, b = rng.sample(SEU_ROLES, 2)
        e["seu"], e["seu_b"] = a, b
        text = text.replace("{A}", "{%s}" % a).replace("{B}", "{%s}" % b)
    if "{SRC}" in text:
        spoken, src = rng.choice(SOURCES[lang])
        if "{M_MULTI}" in text:
            while src not in MULTI_SOURCES:
                spoken, src = rng.choice(SOURCES[lang])
        e["energy_source"] = src
        text = text.replace("{SRC}", spoken)
    if "{GROUP}" in text:
        spoken, g, plural = rng.choice(GROUPS[lang])
        if isinstance(g, dict):
            e["group"] = dict(g)
        elif g == "type":
            e["group"] = {"kind": "type", "type": t}
        elif g == "factory":
            e["group"] = {"kind": "factory", "factory": f}
        else:
            e["group"] = {"kind": "type_factory", "type": t, "factory": f}
        if g in ("factory", "type_factory"):
            cls = 7
        text = text.replace("{GROUP}", spoken)
        verb = {"en-us": ("are", "is"), "de-de": ("liefen", "lief")}[lang][0 if plural else 1]
        text = text.replace("{V}", verb)
    elif op == "summary" and ("we " in text or " wir " in text):
        e["group"] = {"kind": "all"}
    if op == "ranking":
        n, order = 1, "least" if ("least" in text or "wenigsten" in text) else "most"
        if "{N}" in text:
            spoken, n = rng.choice(NUMBERS[lang])
            text = text.replace("{N}", spoken)
        if "{T}" in text:
            n = None
            e["group"] = {"kind": "type", "type": t}
        if "{F:in}" in text:
            e["group"] = {"kind": "factory", "factory": f}
        e["ranking"] = {"n": n, "order": order, "by": "energy"}
    if op == "opportunities" and "{F:in}" in text:
        e["group"] = {"kind": "factory", "factory": f}
    if op == "action_plan" and ("save" in text or "Speicher" in text):
        e["save"] = True
    text = text.replace("{T}", "{%s}" % t).replace("{F:in}", "{%s:in}" % f).replace("{F}", "{%s}" % f)
    text = text.replace("{WHEN}", when_text)
    pre, post = rng.choice(FILLERS[lang]) if rng.random() < 0.3 else ("", "")
    if pre or post:
        cls = 6
        if pre and lang == "de-de" and text[:1].isupper() and not text.startswith("{"):
            text = text[0].lower() + text[1:]
        text = text + post  # after a question mark too: "...verbraucht? danke"
        text = pre + text
    text = re.sub(r"\s+", " ", text).strip().replace(" ?", "?")
    return text, cls, e


def generate(lang: str, n: int = 2000, seed: int = 50001, unique: bool = True) -> Iterator[dict]:
    """``n`` records {id, utt, class, split: "generated", expect}; deterministic for (lang, n, seed)."""
    rng = random.Random(f"{seed}/{lang}")
    seen: set[str] = set()
    count, tries = 0, 0
    while count < n and tries < n * 50:
        tries += 1
        text, cls, e = _one(lang, rng)
        if unique and text in seen:
            continue
        seen.add(text)
        count += 1
        yield {"id": f"gen-{lang}-{count:05d}", "utt": text, "class": cls, "split": "generated", "expect": e}
