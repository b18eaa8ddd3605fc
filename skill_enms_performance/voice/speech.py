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
from ovos_spec_tools.resources import LocaleResources

from . import wording

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


def date_words(day: dt.date, today: dt.date | None, lang: str) -> str:
    moment = dt.datetime.combine(day, dt.time(12))
    now = dt.datetime.combine(today, dt.time(12)) if today else None
    try:
        return nice_date(moment, lang, now=now)
    except Exception:  # noqa: BLE001 - a language without date words still gets an ISO date
        return day.isoformat()


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


def describe_error(error: Mapping[str, Any], lang: str, today: dt.date | None = None) -> tuple[str, dict[str, str]]:
    """The dialog name and slots that speak an engine error (``EnmsError.to_dict()``)."""
    code = str(error.get("code", "internal_error"))
    if code == "unknown_seu":
        suggestions = list(error.get("suggestions") or [])
        name = str(error.get("seu_name", ""))
        if suggestions:
            return "error.unknown_seu", {"name": name, "suggestions": join_options(suggestions, lang)}
        return "error.unknown_seu_no_suggestion", {"name": name}
    if code == "no_data":
        day = dt.date.fromisoformat(str(error["date"]))
        if error.get("first_date") and error.get("last_date"):
            first = dt.date.fromisoformat(str(error["first_date"]))
            last = dt.date.fromisoformat(str(error["last_date"]))
            return "error.no_data", {"seu": str(error["seu_name"]), "date": date_words(day, today, lang),
                                     "first": date_words(first, None, lang), "last": date_words(last, None, lang)}
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
    if code in {"database_unavailable", "database_preparing", "timeout", "invalid_request"}:
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
    "error.internal_error", "ask.which_seu", "ask.energy_source", "ask.no_answer",
)
