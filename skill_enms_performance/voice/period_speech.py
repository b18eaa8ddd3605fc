"""Speaking one SEU over a period (``PeriodAnalysis``): which ``period.*`` dialogs and the words that fill them.

The style the spoken answers follow (README, "How the skill speaks"):
- past tense: a period is made of complete past days;
- one unit per comparison: actual, expected and the difference are scaled together (all kWh or all MWh);
- percentages with two significant figures, and only where the expectation is large enough to make them
  meaningful (``percent_is_meaningful``), otherwise the amounts;
- inside the period's uncertainty the answer is "about as expected", with no percentage;
- zero counts are left out (no sentence about 0 days left out).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from . import wording
from .speech import period_words, render, when_words

Line = tuple[str, dict[str, str]]

#: every dialog this module can speak (checked against each shipped language with the others)
PERIOD_DIALOGS: tuple[str, ...] = (
    "period.above", "period.above_amounts", "period.below", "period.below_amounts", "period.as_expected",
    "period.not_judged_drivers", "period.not_judged_baseline", "period.top_day_above", "period.top_day_below",
    "period.episode_above", "period.episode_below", "period.day_left_out", "period.days_left_out",
    "period.why_up", "period.why_down",
)

#: a percentage is said only where ``wording.percent_is_meaningful`` allows it and the expectation is at least this
#: many times the period's uncertainty (a percentage of an expectation that is mostly noise is noise too)
PERCENT_MIN_EXPECTED_PER_UNCERTAINTY = 2.0


def percent_is_meaningful(expected_kwh: float, percent: float, uncertainty_kwh: float) -> bool:
    return wording.percent_is_meaningful(expected_kwh, percent) \
        and expected_kwh >= PERCENT_MIN_EXPECTED_PER_UNCERTAINTY * uncertainty_kwh


def describe_period(result: Mapping[str, Any], lang: str, today: dt.date | None) -> list[Line]:
    """The verdict over the period, then (when the deviation is real) the day that drove it most and the start of
    a run of such days, then what was left out."""
    seu = str(result["seu_name"])
    when = period_words(result["period"], today, lang)
    actual, expected = float(result["actual_energy_kwh"]), float(result["baseline_energy_kwh"])
    deviation, band = float(result["deviation_kwh"]), float(result.get("uncertainty_kwh") or 0.0)
    spoken_actual, spoken_expected, difference = wording.energy_words_together([actual, expected, abs(deviation)],
                                                                                lang)
    slots = {"seu": seu, "when": when, "actual": spoken_actual, "expected": spoken_expected,
             "difference": difference}
    quality = result.get("data_quality") or {}
    lines: list[Line] = []
    if result.get("significant"):
        side = "above" if deviation > 0 else "below"
        slots["cost"] = wording.speakable_money(abs(float(result.get("deviation_cost") or 0.0)),
                                                str(result.get("currency") or "USD"), lang)
        pct = float(result["deviation_percent"])
        if percent_is_meaningful(expected, pct, band):
            slots["percent"] = wording.speakable_percent(abs(pct), lang)
            lines.append((f"period.{side}", slots))
        else:
            lines.append((f"period.{side}_amounts", slots))
        lines.extend(_drivers(result, side, lang, today or dt.date.fromisoformat(result["period"]["end"])))
    elif abs(deviation) <= band or not band:
        lines.append(("period.as_expected", slots))
    elif quality.get("days_drivers_imputed") or quality.get("days_out_of_range"):
        lines.append(("period.not_judged_drivers", slots))
    else:
        lines.append(("period.not_judged_baseline", slots))
    excluded = int(quality.get("days_excluded") or 0)
    if excluded == 1:
        lines.append(("period.day_left_out", {}))
    elif excluded > 1:
        lines.append(("period.days_left_out", {"count": str(excluded)}))
    return lines


def describe_period_why(result: Mapping[str, Any], lang: str, today: dt.date | None,
                        direction: str | None = None) -> list[Line]:
    """Why an SEU used what it used over a period: what moved its energy most in the direction asked ("more": why
    so much, "less": why so little; not said: above or below expected when that is real, else against its typical
    days), then the verdict. Effects:
    production, weather and calendar against the typical day of each day's class; performance = actual -
    expected, counted only when it is real (inside the uncertainty it is noise, not a reason)."""
    effects = {k.removesuffix("_effect_kwh"): float(v) for k, v in (result.get("effects") or {}).items()}
    verdict = describe_period(result, lang, today)
    deviation = float(result.get("deviation_kwh") or 0.0)
    toward = {"more": 1.0, "less": -1.0}.get(direction or "") or \
        (deviation if result.get("significant") else sum(effects.values()))
    if not effects or toward == 0:
        return verdict
    sign = 1.0 if toward > 0 else -1.0
    same_way = {k: v for k, v in effects.items() if sign * v > 0 and (k != "performance" or result.get("significant"))}
    if not same_way:
        return verdict
    primary = max(same_way, key=lambda k: abs(same_way[k]))
    factor = {"production": "increased_production" if sign > 0 else "reduced_production",
              "performance": "excess_consumption" if sign > 0 else "efficiency_gain"}.get(primary, primary)
    line = ("period.why_up" if sign > 0 else "period.why_down",
            {"seu": str(result["seu_name"]), "when": period_words(result["period"], today, lang),
             "factor": render(f"factor.{factor}", lang),
             "effect": wording.energy_words(abs(same_way[primary]), lang)})
    return [line, *verdict]


def _drivers(result: Mapping[str, Any], side: str, lang: str, today: dt.date) -> list[Line]:
    """The day that moved the period most in its direction (when that day is itself outside its interval), and
    the day a persistent run in that direction began."""
    out: list[Line] = []
    sign = 1 if side == "above" else -1
    top = next((d for d in result.get("top_days") or [] if d.get("significant")
                and sign * float(d["deviation_kwh"]) > 0), None)
    if top is not None:
        day = dt.date.fromisoformat(top["date"])
        out.append((f"period.top_day_{side}", {
            "when": when_words(day, today, False, lang),
            "difference": wording.energy_words(abs(float(top["deviation_kwh"])), lang)}))
    episode = result.get("episode") or {}
    # a run from the period's first day began before it: "began" on that day would be wrong, so it is not said
    if episode.get("direction") == side and episode["start"] != result["period"]["start"] \
            and (top is None or episode["start"] != top["date"]):
        start = dt.date.fromisoformat(episode["start"])
        out.append((f"period.episode_{side}", {"when": when_words(start, today, False, lang)}))
    return out


def speak_lines(lines: list[Line], lang: str) -> str:
    return " ".join(render(d, lang, s) for d, s in lines)
