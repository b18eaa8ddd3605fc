"""From engine results to sentences: which dialog to speak and the words that fill it.

Every sentence is a ``.dialog`` template in ``locale/<lang>/``; this module only chooses the
template and formats numbers, dates and units in the language's own words.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any, Mapping, Sequence

from ovos_date_parser import nice_date
from ovos_spec_tools.dialog import render as render_phrases
from ovos_spec_tools.resources import LocaleResources, read_resource_file

from . import wording
from .language import DEFAULT_LANG, cached, locale_dir, resources_dir  # noqa: F401 (callers read them as speech.*)
from .names import DECLENSION_ENDINGS, MACHINE_TYPE_WORDS

def shipped_languages() -> list[str]:
    return list(_shipped_languages())


@cached
def _shipped_languages() -> tuple[str, ...]:
    """Read once: the bus API asks for every request (a directory listing and a stat per language each time)."""
    return tuple(sorted(p.name for p in locale_dir().iterdir() if p.is_dir() and not p.name.startswith("_")))


@cached
def examples(lang: str) -> tuple[str, ...]:
    """The example questions of ``locale/<lang>/skill.json`` (what a device's homescreen shows)."""
    import json

    try:
        return tuple(json.loads((locale_dir() / lang / "skill.json").read_text(encoding="utf-8")).get("examples") or ())
    except (OSError, ValueError):
        return ()


@cached
def _resources() -> LocaleResources:
    return LocaleResources(str(locale_dir()))


def phrases(name: str, lang: str) -> list[str]:
    return list(_resources().load_dialog(name, lang))


def render(name: str, lang: str, slots: Mapping[str, Any] | None = None, rng: random.Random | None = None) -> str:
    """One rendered line of ``<name>.dialog`` in ``lang``."""
    return render_phrases(phrases(name, lang), dict(slots or {}), rng=rng)


def join_options(items: Sequence[str], lang: str, conjunction: str = "or") -> str:
    """"a, b or c" with the language's own word for the conjunction."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return items[0] if items else ""
    word = render(f"word.{conjunction}", lang)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def source_words(source: str, lang: str) -> str:
    try:
        return render(f"source.{source}", lang)
    except (FileNotFoundError, ValueError):
        return source.replace("_", " ")


def when_words(day: dt.date, today: dt.date, partial: bool, lang: str) -> str:
    if day == today and partial:
        return render("when.today", lang)
    if day == today - dt.timedelta(days=1):
        return render("when.yesterday", lang)
    return render("when.date", lang, {"date": date_words(day, today, lang)})


def date_words(day: dt.date, today: dt.date | None, lang: str, part: str = "day") -> str:
    """A day as said aloud. With ``today``: "today", "yesterday", "tomorrow" for those days and no year within
    today's year (as ``nice_date``); without it, always the year.

    ``part``: "day" on its own ("am Montag, 20. Oktober"), or the "start" or "end" of a period. A language that
    writes dates with digits (``wording.DATE_FORMATS``, German) says a period's days without the weekday, and its
    first day always as a date: "vom 1. November bis gestern", never "vom gestern".
    """
    written = wording.written_date(day, lang, in_period=part != "day",
                                   year=today is None or day.year != today.year)
    near = today is not None and abs((day - today).days) <= 1
    if written is not None and (not near or part == "start"):
        return written
    moment = dt.datetime.combine(day, dt.time(12))
    now = dt.datetime.combine(today, dt.time(12)) if today else None
    try:
        return nice_date(moment, lang, now=now)
    except Exception:  # noqa: BLE001 - a language without date words still gets an ISO date
        return written or day.isoformat()


def tense(day: dt.date, today: dt.date | None) -> str:
    """The tense a sentence about ``day`` (or a period ending on ``day``) takes: "present" for today (a day or
    period still running), "past" for days before. Dialogs whose verb depends on it ship as ``<name>.present``
    and ``<name>.past`` (``TENSED_DIALOGS``); the answer code picks one, no string is changed after rendering."""
    return "present" if today is None or day >= today else "past"


def _difference(actual_kwh: float, expected_kwh: float, percent: float, lang: str) -> tuple[str, str, str]:
    """(actual, expected, difference) said in one unit; the difference as a percentage where that is meaningful
    (``wording.percent_is_meaningful``), otherwise as the amount."""
    deviation = actual_kwh - expected_kwh
    actual, expected, amount = wording.energy_words_together([actual_kwh, expected_kwh, abs(deviation)], lang)
    if wording.percent_is_meaningful(expected_kwh, percent):
        return actual, expected, wording.speakable_percent(abs(percent), lang)
    return actual, expected, amount


def describe_analysis(result: Mapping[str, Any], lang: str, today: dt.date | None = None) -> tuple[str, dict[str, str]]:
    """The dialog name and slot values that speak a ``PerformanceAnalysis`` (as a dict).

    Inside the prediction interval (not significant) no difference is said at all ("about as expected"); a
    significant one is said as a percentage where that is meaningful, else as the amount; the verb's tense
    follows the day."""
    day = dt.date.fromisoformat(str(result["date"]))
    window = result.get("window") or {}
    partial = bool(window.get("partial"))
    today = today or day
    actual_kwh = float(result["actual_energy_kwh"])
    expected_kwh = float(result["baseline_energy_kwh"])
    pct = float(result["deviation_percent"])
    deviation = float(result.get("deviation_kwh", actual_kwh - expected_kwh))
    status = result["iso50001_status"]
    significant = bool(result.get("significant", status != "on_target"))
    if status == "on_target":
        kind = "on_target" if significant else "as_expected"
    elif deviation > 0:
        kind = "above"
    else:
        kind = "below"
    actual, expected, difference = _difference(actual_kwh, expected_kwh, pct, lang)
    slots = {"seu": result["seu_name"], "when": when_words(day, today, partial, lang),
             "actual": actual, "expected": expected}
    if kind != "as_expected":
        slots["difference"] = difference
    if kind == "on_target":
        slots["direction"] = render("direction.above" if deviation >= 0 else "direction.below", lang)
    if kind in ("above", "below"):
        slots["cost"] = wording.speakable_money(abs(float(result["deviation_cost_usd"])),
                                                result.get("currency", "USD"), lang)
    return f"performance.{kind}.{tense(day, today)}", slots


def without_article(spoken: str, lang: str) -> str:
    """A name read back without the article it was said with ("der toaster" -> "toaster"): the sentence around it
    brings its own ("Ich kenne {name} nicht"). Unchanged when nothing else is left."""
    words = spoken.split()
    if len(words) > 1 and words[0].lower() in _voc("article", lang):
        return " ".join(words[1:])
    return spoken


def describe_error(error: Mapping[str, Any], lang: str, today: dt.date | None = None) -> tuple[str, dict[str, str]]:
    """The dialog name and slots that speak an engine error (``EnmsError.to_dict()``)."""
    code = str(error.get("code", "internal_error"))
    if code == "unknown_seu":
        suggestions = list(error.get("suggestions") or [])
        name = without_article(str(error.get("seu_name", "")), lang)
        if suggestions:
            return "error.unknown_seu", {"name": name, "suggestions": join_options(suggestions, lang)}
        return "error.unknown_seu_no_suggestion", {"name": name}
    if code == "no_data":
        day = dt.date.fromisoformat(str(error["date"]))
        if error.get("first_date") and error.get("last_date"):
            first = dt.date.fromisoformat(str(error["first_date"]))
            last = dt.date.fromisoformat(str(error["last_date"]))
            return "error.no_data", {"seu": str(error["seu_name"]), "when": when_words(day, today or day, False, lang),
                                     "first": date_words(first, None, lang, "start"),
                                     "last": date_words(last, None, lang, "end")}
        return "error.no_data_at_all", {"seu": str(error["seu_name"])}
    if code == "future_date":
        return "error.future_date", {"date": date_words(dt.date.fromisoformat(str(error["date"])), today, lang)}
    if code == "insufficient_history":
        return "error.insufficient_history", {"seu": str(error["seu_name"]),
                                              "date": date_words(dt.date.fromisoformat(str(error["date"])), today, lang)}
    if code == "unknown_energy_source":
        return "error.unknown_energy_source", {
            "seu": str(error["seu_name"]), "source": source_words(str(error["energy_source"]), lang),
            "sources": join_options([source_words(s, lang) for s in error.get("energy_sources", [])], lang, "and")}
    if code == "ambiguous_seu":
        return "error.ambiguous_seu", {
            "seu": str(error.get("seu_name", "")),
            "sources": join_options([source_words(s, lang) for s in error.get("energy_sources", [])], lang)}
    if code == "unknown_group":
        return "error.unknown_group", {"group": without_article(str(error.get("group", "")), lang)}
    if code == "no_opportunity":
        return "error.no_opportunity", {"seu": str(error.get("seu_name", ""))}
    if code == "billing_meter":
        return "error.billing_meter", {"seu": str(error.get("seu_name", "")),
                                       "days": str(int(error.get("interval_days") or 0))}
    if code in {"database_unavailable", "database_preparing", "timeout", "invalid_request", "busy",
                "read_only_database"}:
        return f"error.{code}", {}
    return "error.internal_error", {}


def speak(dialog: str, slots: Mapping[str, Any], lang: str) -> str:
    return render(dialog, lang, slots)


#: dialogs whose verb follows the day: each ships as ``<name>.present`` (today, a running period) and
#: ``<name>.past`` (days before); see :func:`tense`
TENSED_DIALOGS: tuple[str, ...] = (
    "performance.as_expected", "performance.on_target", "performance.above", "performance.below",
    "why.normal", "why.raised", "why.lowered", "why.also_raised", "why.also_lowered", "why.offset_raised",
    "why.offset_lowered", "why.none_raised", "why.none_lowered", "why.performance_normal",
    "summary.worst", "summary.all_ok",
)
TENSES = ("present", "past")
#: the dialogs that speak a day's verdict on one SEU (the first line of an ``analyze`` answer)
VERDICT_DIALOGS: tuple[str, ...] = tuple(f"performance.{kind}.{t}" for kind in ("as_expected", "on_target", "above",
                                                                                 "below") for t in TENSES)

#: every dialog name the code can speak (checked against every shipped language by a test)
SPOKEN_DIALOGS: tuple[str, ...] = (
    *(f"{name}.{t}" for name in TENSED_DIALOGS for t in TENSES),
    "when.today", "when.yesterday", "when.date", "direction.above", "direction.below",
    "source.electricity", "source.natural_gas", "source.steam", "source.compressed_air",
    "word.or", "word.and",
    "error.unknown_seu", "error.unknown_seu_no_suggestion", "error.no_data", "error.no_data_at_all",
    "error.future_date", "error.insufficient_history", "error.unknown_energy_source",
    "error.database_unavailable", "error.database_preparing", "error.timeout", "error.invalid_request",
    "error.internal_error", "error.read_only_database", "error.ambiguous_seu", "error.busy",
    "plan.ask_save", "plan.not_saved", "ask.which_seu", "ask.energy_source", "ask.no_answer",
    "factor.reduced_production", "factor.increased_production", "factor.weather", "factor.calendar",
    "factor.excess_consumption", "factor.efficiency_gain",
    "summary.header", "summary.empty", "summary.count_on_target", "summary.count_attention",
    "summary.count_excellent", "group.all", "group.all_one", "group.factory", "when.period",
    "health.ok", "health.stale", "health.no_readings", "health.models_none", "health.models_one_valid",
    "health.models_one_invalid", "health.models_all", "health.models_none_valid", "health.models_some",
    "health.models_some_one", "error.unknown_group",
    "opportunities.none", "opportunities.header", "opportunities.header_one", "opportunity.excessive_idle",
    "opportunity.equipment_degradation", "opportunity.equipment_degradation_ended",
    "opportunity.inefficient_scheduling", "plan.summary", "plan.saved",
    "plan.none", "action.excessive_idle", "action.equipment_degradation_compressor",
    "action.equipment_degradation_hvac", "action.equipment_degradation", "action.inefficient_scheduling",
    "plans.count", "plans.count_one", "plans.none", "plans.count_in_progress", "plans.count_planned",
    "plans.count_completed", "savings.saved", "savings.excess", "savings.as_expected", "subject.plant",
    "error.no_opportunity", "error.billing_meter",
    *(f"machines.{kind}" for kind in MACHINE_TYPE_WORDS["en"]),  # the plural of every machine type known by word
    *(f"machine.{kind}" for kind in MACHINE_TYPE_WORDS["en"]),   # ... and its singular (a group of one)
)


def _factor_words(factor: str, lang: str) -> str:
    try:
        return render(f"factor.{factor}", lang)
    except (FileNotFoundError, ValueError):
        return factor.replace("_", " ")


#: the factor word of an effect by its sign: what it is called when it raised (+) or lowered (-) the energy
_EFFECT_FACTORS = {"production": ("increased_production", "reduced_production"), "weather": ("weather", "weather"),
                   "calendar": ("calendar", "calendar"), "performance": ("excess_consumption", "efficiency_gain")}
#: a driver's effect is worth saying from this share of a typical day (and at least 1 kWh); the performance part
#: only when it is significant
WHY_EFFECT_SHARE = 0.02


def asked_direction(utterance: str, lang: str, strip: Sequence[str] = ()) -> str | None:
    """"more" for "why did it use so much", "less" for "why did it use so little", None when the question names
    no direction ("what's driving the energy use", "why?"). The words in ``strip`` (the machine's name as said:
    "high bay lights") are not read."""
    text = f" {_clean(utterance)} "
    for words in strip:
        if _clean(words):
            text = text.replace(f" {_clean(words)} ", " ")
    if has_phrase(text, "why_less", lang):
        return "less"
    if has_phrase(text, "why_more", lang):
        return "more"
    return None


def describe_attribution(result: Mapping[str, Any], lang: str, today: dt.date | None = None,
                         direction: str | None = None) -> list[tuple[str, dict[str, str]]]:
    """Dialogs that say why an SEU used what it used, led by what moved the energy in the direction asked about.

    ``direction`` is "more" (why so much), "less" (why so little) or None: then the direction of the significant
    deviation from expected, else that of the difference from a typical day. The lead is the largest effect in
    that direction, then a second one in the same direction, then the largest pulling the other way; when nothing
    moved it the asked way, the answer says so and names what moved it the other way. The performance part (actual
    - expected) counts only when significant; otherwise a last line says the machine ran as expected."""
    day = dt.date.fromisoformat(str(result["date"]))
    today = today or day
    when = when_words(day, today, bool((result.get("window") or {}).get("partial")), lang)
    t = tense(day, today)
    factor = result["root_cause_analysis"]["primary_factor"]
    attribution = result.get("attribution") or {}
    seu = result["seu_name"]
    if factor == "normal_operation" or not attribution:
        return [(f"why.normal.{t}", {"seu": seu, "when": when})]
    significant = bool(result.get("significant"))
    typical = max(float(attribution.get("typical_day_kwh", 0.0)), 0.0)
    floor = max(1.0, WHY_EFFECT_SHARE * typical)
    effects = {name: float(attribution.get(f"{name}_effect_kwh", 0.0)) for name in _EFFECT_FACTORS}
    if not significant:
        effects.pop("performance")
    said = sorted(((n, v) for n, v in effects.items() if abs(v) >= floor), key=lambda nv: -abs(nv[1]))
    if direction not in ("more", "less"):
        performance = float(attribution.get("performance_effect_kwh", 0.0))
        basis = performance if significant else float(attribution.get("difference_from_typical_kwh", 0.0))
        direction = "less" if basis < 0 else "more"
    sign = 1.0 if direction == "more" else -1.0
    along = [(n, v) for n, v in said if v * sign > 0]
    against = [(n, v) for n, v in said if v * sign < 0]
    spoken = along[:2] + against[:1]
    amounts = wording.energy_words_together([abs(v) for _, v in spoken] or [0.0], lang)
    words = {n: (_factor_words(_EFFECT_FACTORS[n][0 if v > 0 else 1], lang), amounts[i])
             for i, (n, v) in enumerate(spoken)}
    way, other = ("raised", "lowered") if direction == "more" else ("lowered", "raised")
    out: list[tuple[str, dict[str, str]]] = []
    if along:
        name = along[0][0]
        out.append((f"why.{way}.{t}", {"seu": seu, "when": when, "factor": words[name][0], "effect": words[name][1]}))
        if len(along) > 1:
            name = along[1][0]
            out.append((f"why.also_{way}.{t}", {"factor": words[name][0], "effect": words[name][1]}))
        if against:
            name = against[0][0]
            out.append((f"why.offset_{other}.{t}", {"factor": words[name][0], "effect": words[name][1]}))
    elif against:
        name = against[0][0]
        out.append((f"why.none_{way}.{t}", {"seu": seu, "when": when, "factor": words[name][0],
                                            "effect": words[name][1]}))
    else:
        return [(f"why.normal.{t}", {"seu": seu, "when": when})]
    if not significant:
        out.append((f"why.performance_normal.{t}", {}))
    return out


def means_everything(spoken: str, lang: str) -> bool:
    """'the whole plant', 'all machines', 'everything': no narrowing."""
    text = " ".join(spoken.lower().split())
    try:
        words = _resources().load_vocabulary("everything", lang)
    except (FileNotFoundError, ValueError):
        return False
    return not text or any(text == w.lower() or text == f"the {w.lower()}" for w in words)


def resolve_group(spoken: str, resolver: Any, seus: Sequence[Any], lang: str) -> tuple[str | None, str | None]:
    """A spoken group -> (machine_type, factory): 'compressors', 'the Munich plant', 'San Jose', 'das Werk in
    München', 'the european plant', 'all compressors in munich' (both).

    The factory is, in this order: a factory's whole name or location as written in the data; a word of a
    location as the data writes it ('Munich' for 'munich', 'münchen', 'münchner': ``place_name.value``); the name
    of the one factory whose own name words were said ('european plant' -> 'European Production Facility'),
    generic place words ('plant', ``generic_place.voc``) only breaking a tie. The machine type is read from the
    words left over.
    """
    text = " ".join(spoken.lower().replace("-", " ").split())
    if not text or means_everything(text, lang):
        return None, None
    generic = set(_voc("generic_place", lang))
    said = text.split()
    factory, used = _factory_said(text, said, seus, generic, lang)
    rest = " ".join(w for i, w in enumerate(said) if i not in used and w not in generic)
    return (resolver.resolve_machine_type(rest, lang) if rest else None), factory


def _factory_said(text: str, said: list[str], seus: Sequence[Any], generic: set[str], lang: str
                  ) -> tuple[str | None, set[int]]:
    """The factory a group names (see :func:`resolve_group`) and the positions of the words that named it.

    A short code ("US", "CA", "OH") is a place only as the name of a plant ("the US plant", "das US-Werk"): said
    before a generic place word, or said in full ("the Ohio factory" for a location written "Dayton, OH, USA"); "us",
    "oh" and "ca" elsewhere are words of the sentence."""
    def before_place(i: int) -> bool:
        return i + 1 < len(said) and said[i + 1] in generic

    forms = [_place_forms(w, lang) if len(w) > 2 or before_place(i) else frozenset({w}) for i, w in enumerate(said)]

    def positions(words: Sequence[str]) -> set[int]:
        return {i for i, f in enumerate(forms) if f & {w.lower() for w in words}}

    # one entry per factory, in the order of the catalogue (a plant of 500 SEUs has a handful of factories)
    places = list(dict.fromkeys((getattr(s, "location", None) or "", getattr(s, "factory", None) or "") for s in seus))
    for place in (p for pair in places for p in pair):
        if place and place.lower() in text:
            return place, positions(place.replace(",", " ").split())
    for location, _ in places:  # a city first: "the Munich plant"
        words = location.replace(",", " ").split()
        for word in words:
            found = positions([word]) if word.lower() not in generic else set()
            if found and (len(word) > 2 or any(len(said[i]) > 2 or before_place(i) for i in found)):
                if len(word) <= 3 and word.isupper():  # a code ("USA", "OH"): the one factory there, not a place
                    if not any(w in generic for w in said):
                        continue  # a country or a state is a plant only as one: "how much did Texas use" is not
                    there = {f for loc, f in places if word in loc.replace(",", " ").split() and f}
                    if len(there) != 1:
                        continue
                    return there.pop(), positions(words)
                return word, positions(words)  # all of "san jose", not only "san"
    scores: dict[str, tuple[int, int]] = {}
    for _, name in places:
        own = {w.lower() for w in name.split() if len(w) > 2}
        if name and name not in scores:
            hits = [i for i, f in enumerate(forms) if f & own]
            scores[name] = (sum(1 for i in hits if said[i] not in generic), len(hits))
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    if ranked and ranked[0][1][0] > 0 and (len(ranked) == 1 or ranked[1][1] < ranked[0][1]):
        name = ranked[0][0]
        return name, positions(name.split())
    return None, set()


def _place_forms(word: str, lang: str) -> frozenset[str]:
    """A said word and the other names of the same place ('münchner' -> münchner, münchen, munich); a declined
    adjective counts by its stem ('europäischen' -> european)."""
    names = _place_names(lang)
    key = lang.lower().replace("_", "-").split("-")[0]
    for ending in ("", *DECLENSION_ENDINGS.get(key, ())):
        stem = word[:len(word) - len(ending)]
        if word.endswith(ending) and stem in names:
            return names[stem] | {word}
    if "er" in DECLENSION_ENDINGS.get(key, ()) and word.endswith("er") and len(word) >= 6:
        return frozenset({word, word[:-2]})  # a city's adjective: "das Augsburger Werk" -> augsburg
    return frozenset({word})


@cached
def _place_names(lang: str) -> dict[str, frozenset[str]]:
    """``place_name.value`` of ``lang`` as word -> every name of that place (each line 'said,written' read both
    ways and joined with lines sharing a name)."""
    try:
        path = _resources().find("place_name", ".value", lang)
        lines = read_resource_file(path) if path else []
    except (OSError, ValueError):
        lines = []
    groups: dict[str, frozenset[str]] = {}
    for line in lines:
        pair = [w.strip().lower() for w in line.split(",")]
        if len(pair) != 2 or not all(pair):
            continue
        joined = groups.get(pair[0], frozenset(pair[:1])) | groups.get(pair[1], frozenset(pair[1:]))
        for name in joined:
            groups[name] = joined
    return groups


def _group_words(summary: Mapping[str, Any], lang: str, one: bool = False) -> str:
    """The group a summary covers, in the language's display form ("Kompressoren am Standort European Production
    Facility"), not as said ("kompressoren", "münchner werks"): the machine type's plural from
    ``machines.<type>.dialog`` (``machine.<type>`` for ``one``) and the factory's name from the data."""
    kind, factory = summary.get("machine_type"), summary.get("factory")
    if not kind:
        machines = render("group.all_one" if one else "group.all", lang)
    else:
        try:
            machines = render(f"machine.{kind}" if one else f"machines.{kind}", lang)
        except (FileNotFoundError, ValueError):  # a machine type only the data knows ("chiller"): its own word
            machines = str(kind).replace("_", " ")
    if not factory:
        return machines
    names = {str(i["factory"]) for i in summary.get("items") or [] if i.get("factory")}
    return render("group.factory", lang, {"machines": machines, "factory": names.pop() if len(names) == 1 else factory})


def describe_summary(summary: Mapping[str, Any], spoken_group: str, lang: str, today: dt.date | None
                     ) -> list[tuple[str, dict[str, str]]]:
    """Header with counts, then the SEU furthest above its baseline (or that none is).

    The group is named from the summary's machine type and factory, not read back as said: ``spoken_group`` is
    accepted for the callers' sake and not spoken."""
    items = list(summary.get("items") or [])
    if summary.get("period"):
        when = period_words(summary["period"], today, lang)
        last = dt.date.fromisoformat(str(summary["period"]["end"]))
    else:
        last = dt.date.fromisoformat(str(summary["date"]))
        when = when_words(last, today or last, last == today, lang)
    t = tense(last, today or last)
    group = _group_words(summary, lang, one=len(items) == 1)
    if not items:
        return [("summary.empty", {"group": group, "when": when})]
    counts = {"on_target": sum(1 for i in items if i["iso50001_status"] == "on_target"),
              "attention": sum(1 for i in items if i["iso50001_status"] in ("requires_attention", "non_compliant")),
              "excellent": sum(1 for i in items if i["iso50001_status"] == "excellent")}
    parts = [render(f"summary.count_{key}", lang, {"count": str(n)}) for key, n in counts.items() if n]
    out = [("summary.header", {"count": str(len(items)), "group": group, "when": when,
                               "parts": join_options(parts, lang, "and")})]
    worst = next((i for i in items if i["significant"] and i["deviation_kwh"] > 0), None)
    if worst:
        deviation = float(worst["deviation_kwh"])
        expected = float(worst.get("baseline_energy_kwh", float(worst.get("actual_energy_kwh", 0.0)) - deviation))
        out.append((f"summary.worst.{t}", {
            "seu": worst["seu_name"],
            "difference": _difference(expected + deviation, expected, float(worst["deviation_percent"]), lang)[2],
            "cost": wording.speakable_money(abs(worst["deviation_cost"]), summary.get("currency", "USD"), lang)}))
    else:
        out.append((f"summary.all_ok.{t}", {}))
    return out


def describe_plan_counts(counts: Mapping[str, Any], lang: str) -> tuple[str, dict[str, str]]:
    """How many action plans there are per status, the statuses with none left out ("19 planned")."""
    numbers = {k: int(counts.get(k, 0) or 0) for k in ("in_progress", "planned", "completed")}
    parts = [render(f"plans.count_{key}", lang, {"count": str(n)}) for key, n in numbers.items() if n]
    total = sum(numbers.values())
    if not total:
        return "plans.none", {}
    return ("plans.count_one" if total == 1 else "plans.count"), {"parts": join_options(parts, lang, "and")}


def _models_words(valid: int, models: int, lang: str) -> str:
    """How many baseline models are valid, in words that fit the numbers ("all 10", "1 of 3 ... is")."""
    if models == 0:
        return render("health.models_none", lang)
    if models == 1:
        return render("health.models_one_valid" if valid else "health.models_one_invalid", lang)
    if valid == models:
        return render("health.models_all", lang, {"count": str(models)})
    if valid == 0:
        return render("health.models_none_valid", lang, {"count": str(models)})
    return render("health.models_some_one" if valid == 1 else "health.models_some", lang,
                  {"valid": str(valid), "count": str(models)})


def describe_health(report: Mapping[str, Any], lang: str, stale_after_minutes: float = 120.0
                    ) -> tuple[str, dict[str, str]]:
    from ovos_date_parser import nice_duration

    machines = [m for m in report.get("machines", []) if m.get("minutes_since_newest") is not None]
    models = report.get("models", [])
    valid = sum(1 for m in models if m.get("valid"))
    model_words = _models_words(valid, len(models), lang)
    if not machines:
        return "health.no_readings", {"models": model_words}
    stalest = max(machines, key=lambda m: m["minutes_since_newest"])
    freshest = min(machines, key=lambda m: m["minutes_since_newest"])
    if stalest["minutes_since_newest"] > stale_after_minutes:
        return "health.stale", {"machine": stalest["name"],
                                "age": nice_duration(stalest["minutes_since_newest"] * 60, lang=lang),
                                "models": model_words}
    return "health.ok", {"age": nice_duration(max(freshest["minutes_since_newest"], 1) * 60, lang=lang),
                         "models": model_words}


def split_name_and_when(slot: str, lang: str) -> str:
    """The machine-name part of a slot that swallowed a date ("injection moulding one on october 29th"
    -> "injection moulding one"): the date phrase is the shortest tail that still means the same day
    or period as the whole slot; what stands before it, without trailing prepositions, is the name."""
    from .dates import resolve_day, resolve_period

    words = slot.split()
    probe = dt.date.today()

    def meaning(text: str) -> tuple | None:
        day = resolve_day(text, probe, lang)
        if day.day is not None:
            return ("day", day.day)
        period = resolve_period(text, probe, lang)
        return ("period", period.start, period.end) if period is not None else None

    whole = meaning(slot)
    if not words or whole is None:
        return slot
    start = max((i for i in range(len(words)) if meaning(" ".join(words[i:])) == whole), default=0)
    try:
        fillers = {w.lower() for w in _resources().load_vocabulary("date_preposition", lang)}
    except (FileNotFoundError, ValueError):
        fillers = set()
    while start > 0 and words[start - 1].lower() in fillers:
        start -= 1
    return " ".join(words[:start]) or slot


def period_words(period: Mapping[str, str], today: dt.date | None, lang: str) -> str:
    return render("when.period", lang, {
        "start": date_words(dt.date.fromisoformat(period["start"]), today, lang, "start"),
        "end": date_words(dt.date.fromisoformat(period["end"]), today, lang, "end")})


def describe_opportunities(report: Mapping[str, Any], lang: str, today: dt.date | None, top: int = 3
                           ) -> list[tuple[str, dict[str, str]]]:
    """Header with the count and yearly value, then the most valuable opportunities."""
    when = period_words(report["period"], today, lang)
    items = list(report.get("opportunities") or [])
    if not items:
        return [("opportunities.none", {"when": when})]
    currency = report.get("currency", "USD")
    out = [("opportunities.header" if len(items) != 1 else "opportunities.header_one", {"count": str(len(items)), "when": when,
                                     "money": wording.speakable_money(report.get("total_savings_per_year", 0.0),
                                                                      currency, lang)})]
    for item in items[:top]:
        kind = item["improvement_type"]
        details = item.get("details") or {}
        kwh_week = wording.energy_words(item["estimated_savings_kwh_per_week"], lang)
        if kind == "excessive_idle":
            out.append(("opportunity.excessive_idle", {"seu": item["seu_name"], "kwh": kwh_week,
                                                       "hours": wording.hours_words(details.get("idle_hours_per_working_day", 0.0), lang)}))
        elif kind == "inefficient_scheduling" and item.get("start_date") and "hours_per_day" in details:
            began = dt.date.fromisoformat(item["start_date"])
            hours = wording.hours_words(details["hours_per_day"], lang)
            if item.get("ongoing", True) or not item.get("end_date"):
                out.append(("opportunity.inefficient_scheduling_since", {
                    "seu": item["seu_name"], "kwh": kwh_week, "hours": hours,
                    "start": date_words(began, today, lang)}))
            else:
                out.append(("opportunity.inefficient_scheduling_ended", {
                    "seu": item["seu_name"], "hours": hours, "start": date_words(began, today, lang, "start"),
                    "end": date_words(dt.date.fromisoformat(item["end_date"]), today, lang, "end"),
                    "money": wording.speakable_money(float(details.get("episode_cost") or 0.0), currency, lang)}))
        elif kind == "inefficient_scheduling":
            out.append(("opportunity.inefficient_scheduling", {"seu": item["seu_name"], "kwh": kwh_week}))
        else:
            kwh_day = wording.energy_words(details.get("excess_kwh_per_day", item["estimated_savings_kwh_per_week"] / 7), lang)
            began = dt.date.fromisoformat(item["start_date"]) if item.get("start_date") else None
            if item.get("ongoing", True):
                out.append(("opportunity.equipment_degradation", {
                    "seu": item["seu_name"], "kwh_day": kwh_day,
                    "start": date_words(began, today, lang) if began else ""}))
            else:
                # an episode that has ended is priced as what it cost (engine: details.episode_cost)
                cost = details.get("episode_cost")
                out.append(("opportunity.equipment_degradation_ended" if cost is None
                            else "opportunity.equipment_degradation_ended_cost", {
                    "seu": item["seu_name"], "kwh_day": kwh_day,
                    "start": date_words(began, today, lang, "start") if began else "",
                    "end": date_words(dt.date.fromisoformat(item["end_date"]), today, lang, "end"),
                    "money": wording.speakable_money(float(cost or 0.0), currency, lang)}))
    return out


def describe_plan(plan: Mapping[str, Any], machine_type: str, lang: str, today: dt.date | None
                  ) -> list[tuple[str, dict[str, str]]]:
    kind = plan["issue_type"]
    action = f"action.{kind}_{machine_type}" if kind == "equipment_degradation" and machine_type in ("compressor", "hvac") \
        else f"action.{kind}"
    try:
        action_words = render(action, lang)
    except (FileNotFoundError, ValueError):
        action_words = render("action.equipment_degradation", lang)
    outcomes = plan["expected_outcomes"]
    out = [("plan.summary", {"seu": plan["seu_name"], "action": action_words,
                             "kwh": wording.energy_words(outcomes["energy_kwh_per_year"], lang),
                             "money": wording.speakable_money(outcomes["cost_per_year"], outcomes.get("currency", "USD"), lang),
                             "deadline": date_words(dt.date.fromisoformat(plan["target"]["deadline"]), today, lang)})]
    if plan.get("id"):
        out.append(("plan.saved", {}))
    return out


def describe_savings(report: Mapping[str, Any], lang: str, today: dt.date | None) -> tuple[str, dict[str, str]]:
    when = period_words(report["period"], today, lang)
    subject = report["items"][0]["seu_name"] if report.get("seu_name") and report.get("items") \
        else render("subject.plant", lang)
    saved = float(report.get("total_savings_kwh", 0.0))
    uncertainty = float(report.get("total_uncertainty_kwh", 0.0))
    if abs(saved) <= uncertainty:  # inside the uncertainty: no number at all
        return "savings.as_expected", {"subject": subject, "when": when}
    currency = report.get("currency", "USD")
    kwh, plus_minus = wording.energy_words_together([abs(saved), uncertainty], lang)
    slots = {"subject": subject, "when": when, "kwh": kwh, "uncertainty": plus_minus,
             "money": wording.speakable_money(abs(float(report.get("total_savings_cost", 0.0))), currency, lang)}
    return ("savings.saved" if saved > 0 else "savings.excess"), slots


def _voc(name: str, lang: str) -> list[str]:
    try:
        return sorted((w.lower() for w in _resources().load_vocabulary(name, lang)), key=len, reverse=True)
    except (FileNotFoundError, ValueError):
        return []


def _clean(utterance: str) -> str:
    return " ".join(utterance.lower().replace("?", " ").replace(".", " ").replace("!", " ").replace(",", " ").split())


def _words_of(text: str) -> list[str]:
    return _clean(text).split()


def strip_fillers(reply: str, lang: str) -> str:
    """An answer to a question asked back without the words around the name: "uh, the gas one please" ->
    "gas one", "the one in munich please" -> "munich". Fillers come off both ends only, so a unit number or a
    word inside the name stays."""
    words = _words_of(reply)
    fillers = [f.split() for f in _voc("filler", lang)]  # longest first
    changed = True
    while changed and words:
        changed = False
        for filler in fillers:
            n = len(filler)
            if len(words) > n and words[:n] == filler:
                words, changed = words[n:], True
                break
            if len(words) > n and words[-n:] == filler:
                words, changed = words[:-n], True
                break
    return " ".join(words)


def has_phrase(utterance: str, voc: str, lang: str) -> bool:
    """Whether a phrase of ``voc`` occurs in the utterance as whole words."""
    text = f" {_clean(utterance)} "
    return any(f" {phrase} " in text for phrase in _voc(voc, lang))


def is_followup_plan(utterance: str, lang: str) -> bool:
    """"What should we do about it?", "was sollen wir dagegen tun": a plan cue (``cue.action_plan``) and nothing
    else but the small words of ``followup_plan_rest`` (fillers, "it", "that", "we"). "What time is it" has no cue;
    "can you recommend a good movie" has words of its own: neither is a follow-up to a machine."""
    text = f" {_clean(utterance)} "
    cues = [p for p in _voc("cue.action_plan", lang) if f" {p} " in text]
    if not cues:
        return False
    for phrase in cues + _voc("followup_plan_rest", lang) + _voc("filler", lang):  # longest first within each
        while f" {phrase} " in text:
            text = text.replace(f" {phrase} ", " ")
    return not text.split()


def yes_or_no(reply: str, lang: str) -> bool | None:
    """True for a yes, False for a no, None for anything else (a no wins over a yes: "no, don't save it")."""
    if has_phrase(reply, "no", lang):
        return False
    return True if has_phrase(reply, "yes", lang) else None


def is_new_question(reply: str, lang: str) -> bool:
    """A reply that is a question of its own ("how did compressor one perform yesterday"), not an answer."""
    words = _words_of(reply)
    if len(words) < 3:
        return False
    starts = [p.split() for p in _voc("question_start", lang)]
    return any(words[:len(p)] == p for p in starts)


def is_followup_why(utterance: str, lang: str) -> bool:
    """'why?', 'how come?': a follow-up asking for the cause of the last answer."""
    return _clean(utterance) in _voc("followup_why", lang)


def followup_rest(utterance: str, lang: str) -> str | None:
    """'and yesterday?' -> 'yesterday', 'how about hvac main' -> 'hvac main'; None without a follow-up prefix."""
    text = _clean(utterance)
    for prefix in _voc("followup_prefix", lang):
        if text.startswith(prefix + " "):
            return text[len(prefix) + 1:].strip() or None
    return None


def _when_of(summary: Mapping[str, Any], today: dt.date | None, lang: str) -> str:
    if summary.get("period"):
        return period_words(summary["period"], today, lang)
    day = dt.date.fromisoformat(str(summary["date"]))
    return when_words(day, today or day, day == today, lang)


def rank_items(items: Sequence[Mapping[str, Any]], ranking: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A fleet summary's items in the asked order: by energy used or by deviation from the baseline (kWh), most
    or least first, the first ``n`` (all when ``n`` is None)."""
    key = "deviation_kwh" if ranking.get("by") == "deviation" else "actual_energy_kwh"
    ordered = sorted(items, key=lambda i: (float(i[key]), str(i["seu_name"])), reverse=ranking.get("order") != "least")
    n = ranking.get("n")
    return ordered[:int(n)] if n else ordered


def describe_ranking(summary: Mapping[str, Any], ranking: Mapping[str, Any], lang: str, today: dt.date | None,
                     most_spoken: int = 5) -> list[tuple[str, dict[str, str]]]:
    """"The biggest consumers yesterday: Compressor-1 with 215 kilowatt hours, ..." (at most ``most_spoken`` named;
    the bus payload carries them all)."""
    ranked = rank_items(summary.get("items") or [], ranking)
    when = _when_of(summary, today, lang)
    if not ranked:
        return [("ranking.none", {"when": when})]
    by = "deviation" if ranking.get("by") == "deviation" else "energy"
    order = "least" if ranking.get("order") == "least" else "most"
    parts = []
    for item in ranked[:most_spoken]:
        pct = float(item["deviation_percent"])
        item_dialog = "ranking.item_energy" if by == "energy" else \
            "ranking.item_deviation_" + ("above" if pct >= 0 else "below")
        parts.append(render(item_dialog, lang, {
            "seu": item["seu_name"], "energy": wording.energy_words(float(item["actual_energy_kwh"]), lang),
            "percent": wording.speakable_percent(abs(pct), lang)}))
    dialog = f"ranking.{by}_{order}" + ("_one" if len(ranked) == 1 else "")
    return [(dialog, {"when": when, "items": join_options(parts, lang, "and"),
                      "group": _group_words(summary, lang), "count": str(len(ranked))})]


def describe_compare(summary: Mapping[str, Any], names: Sequence[str], source: str | None, lang: str,
                     today: dt.date | None) -> list[tuple[str, dict[str, str]]]:
    """Two SEUs side by side from a fleet summary: energy used, and how each stands against its baseline."""
    when = _when_of(summary, today, lang)
    items = []
    for name in names:
        rows = [i for i in summary.get("items") or [] if i["seu_name"] == name and (
            source is None or i["energy_source"] == source)]
        if not rows:
            return [("compare.missing", {"seu": name, "when": when})]
        items.append(rows[0])
    a, b = items
    lines = [("compare.energy", {"seu_a": a["seu_name"], "energy_a": wording.energy_words(float(a["actual_energy_kwh"]),
                                                                                         lang),
                                 "seu_b": b["seu_name"], "energy_b": wording.energy_words(float(b["actual_energy_kwh"]),
                                                                                         lang),
                                 "when": when})]
    for item in items:
        pct = float(item["deviation_percent"])
        lines.append(("compare.baseline_" + ("above" if pct >= 0 else "below"),
                      {"seu": item["seu_name"], "percent": wording.speakable_percent(abs(pct), lang)}))
    return lines
