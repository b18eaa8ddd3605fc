"""Pictures of answers for screens and files: an SEU's daily actual vs expected with the
prediction band and a CUSUM panel, and fleet summaries as a ranked bar chart.

Optional: needs matplotlib (``pip install skill-enms-performance[chart]``); without it
``ChartUnavailable`` is raised and nothing else is affected.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Mapping

STATUS_COLOURS = {"excellent": "#2e7d32", "on_target": "#1565c0", "requires_attention": "#ef6c00",
                  "non_compliant": "#c62828"}


class ChartUnavailable(RuntimeError):
    pass


def _figure(**kwargs: Any):
    """A matplotlib Figure drawn with the object API: no pyplot, no global backend or figure manager.

    pyplot keeps global state and must not be imported from two threads at once (the skill draws on its
    engine thread while OVOS threads run; the CLI once died with "partially initialized module
    'matplotlib.pyplot'"). A Figure saved to PNG renders with Agg on its own canvas."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # the extra is not installed: a headless device without plotting
        raise ChartUnavailable("install skill-enms-performance[chart] for pictures") from err
    return Figure(**kwargs)


def performance_chart(series: Mapping[str, Any], path: str | Path) -> Path:
    """Daily actual (points) vs expected (line) with the prediction band, the analysed day
    marked, and the cumulative savings (expected - actual) below."""
    days = [dt.date.fromisoformat(d) for d in series["days"]]
    marked = dt.date.fromisoformat(series["analysis_date"])
    fig = _figure(figsize=(8, 5.5), dpi=100)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    band = f"{int(round(100 * float(series.get('confidence', 0.9))))}% prediction interval"
    top.fill_between(days, series["lower_kwh"], series["upper_kwh"], color="#90caf9", alpha=0.5, label=band)
    top.plot(days, series["expected_kwh"], color="#1565c0", linewidth=1.5, label=f"expected ({series['method']})")
    outside = [a > u or a < lo for a, lo, u in zip(series["actual_kwh"], series["lower_kwh"], series["upper_kwh"],
                                                  strict=True)]
    top.scatter(days, series["actual_kwh"], s=14, c=["#c62828" if o else "#212121" for o in outside],
                zorder=3, label="actual")
    for axis in (top, bottom):
        axis.axvline(marked, color="#6a1b9a", linestyle="--", linewidth=1)
        axis.grid(alpha=0.3)
    top.set_ylabel("kWh per day")
    top.set_title(f"{series['seu_name']} ({series['energy_source'].replace('_', ' ')})")
    top.legend(loc="upper left", fontsize=8)
    bottom.plot(days, series["cusum_kwh"], color="#2e7d32")
    bottom.axhline(0, color="#9e9e9e", linewidth=0.8)
    bottom.set_ylabel("CUSUM kWh\n(+ = saved)")
    fig.autofmt_xdate()
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    return out


def fleet_chart(summary: Mapping[str, Any], path: str | Path) -> Path:
    """SEUs ranked by normalised deviation as horizontal bars of their deviation in percent."""
    items = list(summary.get("items") or [])[::-1]
    labels = [f"{i['seu_name']} ({i['energy_source'].replace('_', ' ')})" for i in items]
    fig = _figure(figsize=(8, 0.45 * max(len(items), 3) + 1.2), dpi=100)
    axis = fig.subplots()
    axis.barh(labels, [i["deviation_percent"] for i in items],
              color=[STATUS_COLOURS.get(i["iso50001_status"], "#757575") for i in items])
    axis.axvline(0, color="#212121", linewidth=0.8)
    axis.set_xlabel("deviation from the normalised baseline (%)")
    when = summary.get("date") or (f"{summary['period']['start']} to {summary['period']['end']}"
                                   if summary.get("period") else "")
    axis.set_title(f"Fleet summary {when}")
    axis.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    return out


def period_chart(analysis: Mapping[str, Any], path: str | Path) -> Path:
    """One SEU over a period (a ``PeriodAnalysis`` as a dict): its days drawn as :func:`performance_chart` draws
    an analysis, the period's first day marked; days left out (too few readings) are not drawn."""
    daily = [d for d in analysis.get("daily") or [] if d.get("counted") and d.get("actual_kwh") is not None]
    if not daily:
        raise ChartUnavailable("no complete day in the period")
    expected = [float(d["expected_kwh"]) for d in daily]
    actual = [float(d["actual_kwh"]) for d in daily]
    saved, total = [], 0.0
    for e, a in zip(expected, actual, strict=True):
        total += e - a
        saved.append(total)
    series = {"seu_name": analysis["seu_name"], "energy_source": analysis["energy_source"],
              "analysis_date": analysis["period"]["start"], "days": [d["date"] for d in daily],
              "actual_kwh": actual, "expected_kwh": expected,
              "lower_kwh": [float(d["lower_kwh"]) for d in daily], "upper_kwh": [float(d["upper_kwh"]) for d in daily],
              "cusum_kwh": saved, "method": (analysis.get("baseline") or {}).get("method", ""),
              "confidence": analysis.get("confidence", 0.9)}
    return performance_chart(series, path)
