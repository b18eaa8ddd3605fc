"""Pictures: the analysis chart and the fleet chart are real PNGs of the engine's numbers."""
from __future__ import annotations

import pytest

from skill_enms_performance.engine import Engine

from .conftest import REF_NOW, run

pytest.importorskip("matplotlib")


def test_analysis_and_fleet_charts_are_written(plant_dsn, tmp_path):
    from skill_enms_performance import chart

    async def go():
        engine = Engine(plant_dsn, clock=lambda: REF_NOW)
        try:
            series = await engine.chart_series("HVAC-Main", None, "2025-10-20", days=56)
            summary = await engine.summary(analysis_date="2025-11-05")
            return series, summary.to_dict()
        finally:
            await engine.close()

    series, summary = run(go())
    assert len(series["days"]) == 56 and series["days"][-1] == "2025-10-20"
    assert all(lo <= e <= hi for lo, e, hi in zip(series["lower_kwh"], series["expected_kwh"], series["upper_kwh"], strict=True))
    # the HVAC fault days lie above the band and the savings CUSUM falls
    assert series["actual_kwh"][-1] > series["upper_kwh"][-1] and series["cusum_kwh"][-1] < series["cusum_kwh"][-5]
    for path in (chart.performance_chart(series, tmp_path / "a.png"), chart.fleet_chart(summary, tmp_path / "f.png")):
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
