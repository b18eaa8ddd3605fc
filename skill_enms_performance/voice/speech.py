"""From engine results to sentences: which dialog to speak and the words that fill it.

Every sentence is a ``.dialog`` template in ``locale/<lang>/``; this module only chooses the
template and formats numbers, dates and units in the language's own words.
"""
from __future__ import annotations

import datetime as dt
import random
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

from ovos_date_parser import nice_date
from ovos_spec_tools.dialog import render as render_phrases
from ovos_spec_tools.resources import LocaleResources, read_resource_file

from . import wording
from .names import DECLENSION_ENDINGS, MACHINE_TYPE_WORDS

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_LANG = "en-us"


def resources_dir() -> Path:
    """The folder holding ``locale/``: the installed package, or the repository in a checkout."""
    for candidate in (PACKAGE_DIR, PACKAGE_DIR.parent):
        if (candidate / "locale" / DEFAULT_LANG).is_dir():
            return candidate
    return PACKAGE_DIR


def locale_dir() -> Path:
    return resources_dir() / "locale"


def shipped_languages() -> list[str]:
    return sorted(p.name for p in locale_dir().iterdir() if p.is_dir() and not p.name.startswith("_"))


@lru_cache(maxsize=1)
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


def describe_analysis(result: Mapping[str, Any], lang: str, today: dt.date | None = None) -> tuple[str, dict[str, str]]:
    """The dialog name and slot values that speak a ``PerformanceAnalysis`` (as a dict)."""
    day = dt.date.fromisoformat(str(result["date"]))
    window = result.get("window") or {}
    partial = bool(window.get("partial"))
    today = today or day
    pct = float(result["deviation_percent"])
    status = result["iso50001_status"]
    if status == "on_target":
        dialog = "performance.on_target"
    elif pct > 0:
        dialog = "performance.above"
    else:
        dialog = "performance.below"
    slots = {
        "seu": result["seu_name"],
        "when": when_words(day, today, partial, lang),
        "actual": wording.energy_words(float(result["actual_energy_kwh"]), lang),
        "expected": wording.energy_words(float(result["baseline_energy_kwh"]), lang),
        "percent": wording.speakable_percent(abs(pct), lang),
        "direction": render("direction.above" if pct >= 0 else "direction.below", lang),
        "cost": wording.speakable_money(abs(float(result["deviation_cost_usd"])), result.get("currency", "USD"), lang),
    }
    return dialog, slots


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
            return "error.no_data", {"seu": str(error["seu_name"]), "date": date_words(day, today, lang),
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
    if code in {"database_unavailable", "database_preparing", "timeout", "invalid_request", "busy",
                "read_only_database"}:
        return f"error.{code}", {}
    return "error.internal_error", {}


def speak(dialog: str, slots: Mapping[str, Any], lang: str) -> str:
    return render(dialog, lang, slots)


#: every dialog name the code can speak (checked against every shipped language by a test)
SPOKEN_DIALOGS: tuple[str, ...] = (
    "performance.on_target", "performance.above", "performance.below",
    "when.today", "when.yesterday", "when.date", "direction.above", "direction.below",
    "source.electricity", "source.natural_gas", "source.steam", "source.compressed_air",
    "word.or", "word.and",
    "error.unknown_seu", "error.unknown_seu_no_suggestion", "error.no_data", "error.no_data_at_all",
    "error.future_date", "error.insufficient_history", "error.unknown_energy_source",
    "error.database_unavailable", "error.database_preparing", "error.timeout", "error.invalid_request",
    "error.internal_error", "error.read_only_database", "error.ambiguous_seu", "error.busy",
    "plan.ask_save", "plan.not_saved", "followup.not_ours", "ask.which_seu", "ask.energy_source", "ask.no_answer",
    "why.factor", "why.performance_excess", "why.performance_saving", "why.performance_normal", "why.normal",
    "factor.reduced_production", "factor.increased_production", "factor.weather", "factor.calendar",
    "factor.excess_consumption", "factor.efficiency_gain",
    "summary.header", "summary.worst", "summary.all_ok", "group.all", "group.all_one", "group.factory", "when.period",
    "health.ok", "health.stale", "error.unknown_group",
    "opportunities.none", "opportunities.header", "opportunities.header_one", "opportunity.excessive_idle", "opportunity.equipment_degradation",
    "opportunity.equipment_degradation_ended", "opportunity.inefficient_scheduling", "plan.summary", "plan.saved",
    "plan.none", "plan.no_context", "action.excessive_idle", "action.equipment_degradation_compressor",
    "action.equipment_degradation_hvac", "action.equipment_degradation", "action.inefficient_scheduling",
    "plans.count", "savings.saved", "savings.excess", "subject.plant", "error.no_opportunity",
    *(f"machines.{kind}" for kind in MACHINE_TYPE_WORDS["en"]),  # the plural of every machine type known by word
    *(f"machine.{kind}" for kind in MACHINE_TYPE_WORDS["en"]),   # ... and its singular (a group of one)
)


def _factor_words(factor: str, lang: str) -> str:
    try:
        return render(f"factor.{factor}", lang)
    except (FileNotFoundError, ValueError):
        return factor.replace("_", " ")


def describe_attribution(result: Mapping[str, Any], lang: str, today: dt.date | None = None
                         ) -> list[tuple[str, dict[str, str]]]:
    """Dialogs that say why an SEU used what it used: the largest effect, then the performance part."""
    day = dt.date.fromisoformat(str(result["date"]))
    when = when_words(day, today or day, bool((result.get("window") or {}).get("partial")), lang)
    factor = result["root_cause_analysis"]["primary_factor"]
    attribution = result.get("attribution") or {}
    if factor == "normal_operation" or not attribution:
        return [("why.normal", {"seu": result["seu_name"], "when": when})]
    out: list[tuple[str, dict[str, str]]] = []
    primary = attribution.get("primary", "performance")
    effect = float(attribution.get(f"{primary}_effect_kwh", 0.0))
    out.append(("why.factor", {"seu": result["seu_name"], "when": when, "factor": _factor_words(factor, lang),
                               "effect": wording.energy_words(effect, lang)}))
    if primary != "performance":
        excess = float(attribution.get("performance_effect_kwh", 0.0))
        if result.get("significant") and excess > 0:
            out.append(("why.performance_excess", {"excess": wording.energy_words(excess, lang)}))
        elif result.get("significant") and excess < 0:
            out.append(("why.performance_saving", {"excess": wording.energy_words(-excess, lang)}))
        else:
            out.append(("why.performance_normal", {}))
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
    """The factory a group names (see :func:`resolve_group`) and the positions of the words that named it."""
    forms = [_place_forms(w, lang) for w in said]

    def positions(words: Sequence[str]) -> set[int]:
        return {i for i, f in enumerate(forms) if f & {w.lower() for w in words}}

    places = [(getattr(s, "location", None) or "", getattr(s, "factory", None) or "") for s in seus]
    for place in (p for pair in places for p in pair):
        if place and place.lower() in text:
            return place, positions(place.replace(",", " ").split())
    for location, _ in places:  # a city first: "the Munich plant"
        words = location.replace(",", " ").split()
        for word in words:
            if len(word) > 2 and word.lower() not in generic and positions([word]):
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
    return frozenset({word})


@lru_cache(maxsize=None)
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
    else:
        day = dt.date.fromisoformat(str(summary["date"]))
        when = when_words(day, today or day, day == today, lang)
    group = _group_words(summary, lang, one=len(items) == 1)
    counts = {s: sum(1 for i in items if i["iso50001_status"] == s)
              for s in ("on_target", "requires_attention", "non_compliant", "excellent")}
    out = [("summary.header", {"count": str(len(items)), "group": group, "when": when,
                               "on_target": str(counts["on_target"]),
                               "attention": str(counts["requires_attention"] + counts["non_compliant"]),
                               "excellent": str(counts["excellent"])})]
    worst = next((i for i in items if i["significant"] and i["deviation_kwh"] > 0), None)
    if worst:
        out.append(("summary.worst", {"seu": worst["seu_name"],
                                      "percent": wording.speakable_percent(worst["deviation_percent"], lang),
                                      "cost": wording.speakable_money(abs(worst["deviation_cost"]),
                                                                      summary.get("currency", "USD"), lang)}))
    else:
        out.append(("summary.all_ok", {}))
    return out


def describe_health(report: Mapping[str, Any], lang: str, stale_after_minutes: float = 120.0
                    ) -> tuple[str, dict[str, str]]:
    from ovos_date_parser import nice_duration

    machines = [m for m in report.get("machines", []) if m.get("minutes_since_newest") is not None]
    models = report.get("models", [])
    valid = sum(1 for m in models if m.get("valid"))
    if not machines:
        return "health.ok", {"age": "?", "valid": str(valid), "models": str(len(models))}
    stalest = max(machines, key=lambda m: m["minutes_since_newest"])
    freshest = min(machines, key=lambda m: m["minutes_since_newest"])
    if stalest["minutes_since_newest"] > stale_after_minutes:
        return "health.stale", {"machine": stalest["name"],
                                "age": nice_duration(stalest["minutes_since_newest"] * 60, lang=lang),
                                "valid": str(valid), "models": str(len(models))}
    return "health.ok", {"age": nice_duration(max(freshest["minutes_since_newest"], 1) * 60, lang=lang),
                         "valid": str(valid), "models": str(len(models))}


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
                                                       "hours": wording.speakable(details.get("idle_hours_per_working_day", 0.0), lang)}))
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
                out.append(("opportunity.equipment_degradation_ended", {
                    "seu": item["seu_name"], "kwh_day": kwh_day,
                    "start": date_words(began, today, lang, "start") if began else "",
                    "end": date_words(dt.date.fromisoformat(item["end_date"]), today, lang, "end")}))
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
    currency = report.get("currency", "USD")
    slots = {"subject": subject, "when": when, "kwh": wording.energy_words(abs(saved), lang),
             "uncertainty": wording.energy_words(float(report.get("total_uncertainty_kwh", 0.0)), lang),
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
