"""One SEU over a period (issue 15, part 1): the engine against the reference plant and an independent SQL sum,
the M&V rules on synthetic days, the bus, and the command line."""
from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pytest

from skill_enms_performance.engine import Engine
from skill_enms_performance.engine.errors import FutureDateError

from .conftest import REF_NOW, run
from .test_engine import _independent_daily

LAST_WEEK = {"start": "2025-10-27", "end": "2025-11-02"}   # Monday..Sunday before REF_NOW (Thursday 2025-11-06)


def period(dsn, *args, **kwargs):
    async def go():
        engine = Engine(dsn, clock=lambda: REF_NOW)
        try:
            return await engine.analyze_seu_period(*args, **kwargs)
        finally:
            await engine.close()

    return run(go())


@pytest.fixture(scope="module")
def last_week(plant_dsn):
    return period(plant_dsn, "Compressor-1", None, LAST_WEEK)


def test_period_actual_is_the_sum_of_the_days_read_the_plain_way(plant_dsn, last_week):
    result = last_week.to_dict()
    json.dumps(result)
    daily = run(_independent_daily(plant_dsn, "Compressor-1", ["energy", "electricity", "electrical"],
                                   "America/Los_Angeles", dt.date(2025, 10, 27), dt.date(2025, 11, 2)))
    assert result["days"] == 7 and result["data_quality"]["days_excluded"] == 0
    assert result["actual_energy_kwh"] == pytest.approx(sum(daily.values()), rel=1e-6)
    assert result["deviation_kwh"] == pytest.approx(result["actual_energy_kwh"] - result["baseline_energy_kwh"],
                                                    abs=0.01)
    assert result["baseline_energy_kwh"] == pytest.approx(sum(d["expected_kwh"] for d in result["daily"]), abs=0.05)
    assert result["period"] == LAST_WEEK and result["requested_period"] == LAST_WEEK
    # the period sum's interval: wider than one day's, narrower than seven days' added up
    half = [d["upper_kwh"] - d["expected_kwh"] for d in result["daily"]]
    assert max(half) < result["uncertainty_kwh"] < sum(half)
    assert result["significant"] == (abs(result["deviation_kwh"]) > result["uncertainty_kwh"])
    deviations = [abs(d["deviation_kwh"]) for d in result["top_days"]]
    assert deviations == sorted(deviations, reverse=True) and len(deviations) == 3
    assert result["deviation_cost"] == pytest.approx(result["deviation_kwh"] * result["price_per_kwh"], abs=0.05)
    from .test_engine import SEED_FIELDS

    assert set(SEED_FIELDS) <= set(result), set(SEED_FIELDS) - set(result)  # a period reply holds the seed's fields
    assert result["date"] == LAST_WEEK["end"] and result["recommendations"] == []
    for key in ("actual_energy_kwh", "baseline_energy_kwh", "deviation_kwh", "deviation_percent", "uncertainty_kwh",
                "iso50001_status", "primary_factor", "episode", "effects"):
        assert key in result


def test_a_period_reaching_today_is_cut_at_yesterday_and_says_so(plant_dsn):
    result = period(plant_dsn, "Compressor-1", None, {"start": "2025-11-03", "end": "2025-11-06"}).to_dict()
    assert result["period"] == {"start": "2025-11-03", "end": "2025-11-05"}
    assert result["requested_period"]["end"] == "2025-11-06" and result["days"] == 3
    assert {"code": "today_not_included", "params": {"date": "2025-11-06"}} in result["data_quality"]["note_codes"]


def test_a_period_word_is_the_complete_days_up_to_yesterday(plant_dsn):
    result = period(plant_dsn, "Boiler-1", "natural_gas", "week").to_dict()
    assert result["period"] == {"start": "2025-10-30", "end": "2025-11-05"} and result["energy_source"] == "natural_gas"


def test_a_future_period_is_an_error(plant_dsn):
    with pytest.raises(FutureDateError):
        period(plant_dsn, "Compressor-1", None, {"start": "2025-11-10", "end": "2025-11-20"})


# --- speaking it: the style rules that a period answer follows -----------------------------------------------
def _result(**changes):
    base = {"seu_name": "Press-7", "energy_source": "electricity", "period": LAST_WEEK,
            "actual_energy_kwh": 5310.0, "baseline_energy_kwh": 4980.0, "deviation_kwh": 330.0,
            "deviation_percent": 6.63, "uncertainty_kwh": 150.0, "significant": True, "deviation_cost": 41.3,
            "currency": "EUR", "top_days": [{"date": "2025-10-28", "deviation_kwh": 140.0, "significant": True}],
            "episode": {"start": "2025-10-29", "detected": "2025-10-31", "direction": "above"},
            "data_quality": {"days_excluded": 0, "days_drivers_imputed": 0, "days_out_of_range": 0}}
    return {**base, **changes}


@pytest.mark.parametrize("lang", ["en-us", "de-de"])
def test_a_period_is_said_in_the_past_with_the_days_that_drove_it(lang):
    from skill_enms_performance.voice import period_speech

    lines = period_speech.describe_period(_result(), lang, dt.date(2025, 11, 6))
    assert [d for d, _ in lines] == ["period.above", "period.top_day_above", "period.episode_above"]
    text = period_speech.speak_lines(lines, lang)
    assert ("6.6 percent" if lang == "en-us" else "6,6 Prozent") in text
    assert ("used" if lang == "en-us" else "hat") in text and ("41 euros" in text or "41 Euro" in text)
    assert not re.search(r"(?<![\d.,])0 ", text)  # no zero count said
    # a run that started on the period's first day began before it: no "began" on that day
    early = _result(episode={"start": LAST_WEEK["start"], "detected": "2025-10-30", "direction": "above"})
    assert "period.episode_above" not in [d for d, _ in period_speech.describe_period(early, lang, None)]


@pytest.mark.parametrize("lang", ["en-us", "de-de"])
def test_inside_the_uncertainty_is_about_as_expected_without_a_percentage(lang):
    from skill_enms_performance.voice import period_speech

    lines = period_speech.describe_period(_result(deviation_kwh=90.0, actual_energy_kwh=5070.0, significant=False,
                                                  deviation_percent=1.81), lang, dt.date(2025, 11, 6))
    assert [d for d, _ in lines] == ["period.as_expected"]
    text = period_speech.speak_lines(lines, lang)
    assert "percent" not in text.lower() and "prozent" not in text.lower()


@pytest.mark.parametrize("lang", ["en-us", "de-de"])
def test_a_near_zero_expectation_is_said_in_amounts_and_days_left_out_are_counted(lang):
    from skill_enms_performance.voice import period_speech

    lines = period_speech.describe_period(_result(actual_energy_kwh=504.0, baseline_energy_kwh=43.1,
                                                  deviation_kwh=460.9, deviation_percent=1069.4, uncertainty_kwh=30.0,
                                                  data_quality={"days_excluded": 2}), lang, dt.date(2025, 11, 6))
    assert lines[0][0] == "period.above_amounts" and lines[-1] == ("period.days_left_out", {"count": "2"})
    text = period_speech.speak_lines(lines, lang)
    assert "1,069" not in text and "1069" not in text and "percent" not in text.lower()


def test_every_period_dialog_exists_in_every_language():
    from skill_enms_performance.voice import period_speech, speech

    for lang in speech.shipped_languages():
        for name in period_speech.PERIOD_DIALOGS:
            assert speech.phrases(name, lang), f"{lang} lacks {name}.dialog"


# --- the bus and the command line ------------------------------------------------------------------------
def test_the_bus_schema_takes_a_period_and_keeps_a_day_request_unchanged():
    from skill_enms_performance.answers import Request
    from skill_enms_performance.engine.errors import InvalidRequestError

    day = Request.from_bus("analyze", {"seu_name": "Compressor-1", "analysis_date": "2025-11-05"})
    assert day.period is None and day.event() == {"op": "analyze", "seu_name": "Compressor-1", "energy_source": None,
                                                  "analysis_date": "2025-11-05"}
    span = Request.from_bus("analyze", {"seu_name": "Compressor-1", "period": LAST_WEEK})
    assert span.period == LAST_WEEK and span.event()["period"] == LAST_WEEK
    assert Request.from_bus("analyze", {"seu_name": "Compressor-1", "period": "Month"}).period == "month"
    for bad in ({"seu_name": "C", "period": {"start": "2025-11-02", "end": "2025-10-27"}},
                {"seu_name": "C", "period": "fortnight"},
                {"seu_name": "C", "period": LAST_WEEK, "analysis_date": "2025-11-05"}):
        with pytest.raises(InvalidRequestError):
            Request.from_bus("analyze", bad)


def test_the_command_line_analyses_a_period_said_or_written(plant_dsn, tmp_path):
    from .test_cli import NOW, cli

    proc = cli("analyze", "Compressor-1", "--period", "last_week", "--json", "--dsn", plant_dsn, "--now", NOW)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["period"] == LAST_WEEK
    chart = tmp_path / "week.png"
    proc = cli("analyze", "Compressor-1", "--start", "2025-10-27", "--end", "2025-11-02", "--lang", "de-de",
               "--chart", str(chart), "--dsn", plant_dsn, "--now", NOW)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Compressor-1 hat vom 27. Oktober bis 2. November") and "verbraucht" in proc.stdout
    assert chart.stat().st_size > 1000
    proc = cli("analyze", "Compressor-1", "--period", "a fortnight hence", "--dsn", plant_dsn, "--now", NOW)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr


@pytest.mark.parametrize("lang", ["en-us", "de-de"])
def test_why_over_a_period_leads_with_what_moved_it_the_way_the_answer_goes(lang):
    """Less production lowered the week, but the machine used more than expected: the answer to "why" leads with
    what raised it (the excess), never with what lowered it."""
    from skill_enms_performance.voice import period_speech

    result = _result(effects={"production_effect_kwh": -610.0, "weather_effect_kwh": 20.0,
                              "calendar_effect_kwh": 0.0, "performance_effect_kwh": 330.0})
    lines = period_speech.describe_period_why(result, lang, dt.date(2025, 11, 6))
    assert lines[0][0] == "period.why_up" and lines[1][0] == "period.above"
    assert lines[0][1]["factor"] == period_speech.render("factor.excess_consumption", lang)
    quiet = _result(significant=False, deviation_kwh=60.0, effects={"production_effect_kwh": -610.0,
                                                                    "performance_effect_kwh": 60.0})
    lines = period_speech.describe_period_why(quiet, lang, dt.date(2025, 11, 6))
    assert lines[0][0] == "period.why_down"
    assert lines[0][1]["factor"] == period_speech.render("factor.reduced_production", lang)


# --- the M&V rules on synthetic days (no database) -------------------------------------------------------
def test_a_reporting_day_under_coverage_leaves_both_sides_and_a_real_excess_is_found_where_it_began():
    from skill_enms_performance.engine import period_analysis
    from skill_enms_performance.engine.baseline import DailyData, fit_baseline
    from tests.test_baseline import plant

    d = plant(seed=5, n=365 + 28)
    model = fit_baseline(DailyData(**{k: v[:365] for k, v in d.items()}))
    report = DailyData(**{k: v[365:] for k, v in d.items()})
    expected = model.predict_many(report).expected_kwh
    energy = expected.copy()
    energy[14:] += 0.15 * expected[14:]                 # 15 % more from the 15th day on
    coverage = np.ones(28)
    energy[3], coverage[3] = energy[3] * 0.3, 0.3        # one day with 30 % of its readings
    report = DailyData(day=report.day, energy_kwh=energy, production=report.production,
                       temp_mean_c=report.temp_mean_c, calendar=report.calendar, coverage=coverage)
    predicted = model.predict_many(report)
    verdict = period_analysis.period_verdict(model, report, predicted, 0.9, 0.5)
    assert verdict.comparison.days == 27 and verdict.comparison.days_excluded == 1
    # the incomplete day is on neither side: the excess is exactly the 14 days' 15 %
    assert verdict.comparison.deviation_kwh == pytest.approx(0.15 * expected[14:].sum(), rel=1e-9)
    assert verdict.significant and verdict.effects["performance"] == verdict.comparison.deviation_kwh
    assert all(dt.date.fromisoformat(d["date"]) >= dt.date.fromisoformat(str(report.day[14]))
               for d in verdict.top_days)
    assert verdict.episode is not None and verdict.episode["direction"] == "above"
    assert dt.date.fromisoformat(verdict.episode["start"]) >= dt.date.fromisoformat(str(report.day[10]))
    codes = period_analysis.period_note_codes(model, verdict, 0.5, None)
    assert {"code": "days_excluded", "params": {"count": 1, "min_coverage_percent": 50}} in codes
