"""Pictures: the analysis chart and the fleet chart are real PNGs of the engine's numbers."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

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


CLI = Path(sys.executable).parent / "enms-performance"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ["ask", "how did hvac main perform yesterday"],
    ["analyze", "HVAC-Main", "--date", "2025-10-20"],
    ["summary", "--date", "2025-11-05"],
], ids=["ask", "analyze", "summary"])
def test_installed_command_writes_the_chart(plant_dsn, tmp_path, command):
    """Through the console script as a user runs it: `ask` boots OVOS threads before it draws (it once died
    with "partially initialized module 'matplotlib.pyplot'")."""
    out = tmp_path / "out.png"
    env = {k: v for k, v in os.environ.items() if k not in ("ENMS_DSN", "ENMS_NOW")}
    proc = subprocess.run([str(CLI), *command, "--dsn", plant_dsn, "--now", REF_NOW.isoformat(), "--chart", str(out)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "chart written to" in proc.stderr, proc.stderr
    data = out.read_bytes()
    width, height = _png_size(data)
    # 8 inches at 100 dpi, and enough bytes that axes, points and labels were drawn (an empty figure is ~2 kB)
    assert width == 800 and height >= 300 and len(data) > 20_000, (width, height, len(data))
