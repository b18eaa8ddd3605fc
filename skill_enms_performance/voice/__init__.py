"""Spoken-language glue: SEU names, days and periods, numbers and units as a voice says them.

Imports no OVOS skill classes and no database code, so it can be used and tested on its own.
"""
from .dates import DayResolution, Period, resolve_day, resolve_period
from .names import MACHINE_TYPE_WORDS, NameResolution, SeuRef, SeuResolver, resolve_machine_type
from .wording import energy_words, power_words, speakable, speakable_money, speakable_percent

__all__ = ["DayResolution", "Period", "resolve_day", "resolve_period", "MACHINE_TYPE_WORDS", "NameResolution",
           "SeuRef", "SeuResolver", "resolve_machine_type", "energy_words", "power_words", "speakable",
           "speakable_money", "speakable_percent"]
