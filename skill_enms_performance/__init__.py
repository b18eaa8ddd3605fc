"""skill-enms-performance: an OVOS skill with an embedded ISO 50001 energy-performance engine.

The skill class lives in ``skill.py`` and is loaded lazily, so that the engine, the store and
the command line can be imported without the OVOS stack (small devices, benchmarks).
"""
from __future__ import annotations

from typing import Any

SKILL_ID = "skill-enms-performance.enms"
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "EnmsPerformanceSkill":
        from .skill import EnmsPerformanceSkill

        return EnmsPerformanceSkill
    raise AttributeError(name)
