"""Numbers and units as a voice says them: "1,009 kilowatt hours", "4.3 percent", "62 dollars".

Each function returns only the number and its unit; the sentence around it is a dialog template.
Rounding for speech (half up, never banker's):
- below 1: two significant digits (0.043 -> "0.043", 0.126 -> "0.13");
- 1 to 100: one decimal, dropped when it is zero (12.46 -> "12.5", 40.02 -> "40");
- 100 to 10,000: whole numbers (1008.85 -> "1,009");
- 10,000 to a million: three significant digits (12,345 -> "12,300");
- a million and more: "1.23 million".
English groups thousands with a comma, which TTS engines read as one number ("1,009" is never "ten oh nine");
German writes a decimal comma and no grouping (a grouping dot would read as a decimal point to some engines).
Negative values are spoken with the word for minus ("minus 5.2"), which every TTS says the same way.
Percentages keep two significant digits ("41 percent", "4.3 percent", "1,100 percent"), and below 1 they are
"less than 1 percent": no listener can use "0.12 percent". Energies compared in one sentence share one unit
(:func:`energy_words_together`): "13.7 megawatt hours, plus or minus 2 megawatt hours", never "... plus or minus
2,040 kilowatt hours". Whether a percentage is worth saying at all is :func:`percent_is_meaningful`.

Dates: a language listed in ``DATE_FORMATS`` writes them with digits for its TTS; the others speak them with
ovos_date_parser's ``nice_date`` (English "monday, october twentieth"). A German TTS reads "Montag, 20. Oktober" as
"Montag, zwanzigster Oktober", and in the case the sentence needs ("am Montag, dem zwanzigsten Oktober"), which
the number words ``nice_date`` writes cannot do ("zwanzigster Oktober, zwei tausend fünf und zwanzig").
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from .language import PerLanguage, primary, table

__all__ = ["speakable", "speakable_percent", "speakable_money", "energy_words", "energy_words_together",
           "power_words", "hours_words", "percent_is_meaningful", "written_date"]

# Per-language words, read from ``locale/<lang>/wording.json`` on first use (see voice.language). Keys are primary
# language subtags; unknown languages use "en".
def _wording(key: str) -> dict[str, Any]:
    return table("wording", key)


def _tuples(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


WORDS: Mapping[str, dict[str, object]] = PerLanguage(
    lambda key: {name: _tuples(v) for name, v in _wording(key)["words"].items()})
# currency code -> (unit singular, unit plural, sub-unit singular, sub-unit plural); no sub-unit: None
CURRENCIES: Mapping[str, dict[str, tuple[str, str, str | None, str | None]]] = PerLanguage(
    lambda key: {code: tuple(names) for code, names in _wording(key)["currencies"].items()})
# How a language writes a date for its TTS: names Monday..Sunday and January..December, the template of a day
# ("am {date}") and of a day inside a period ("vom {date} bis ..."), each without and with the year. Only languages
# whose file has a "date_format" are listed.
DATE_FORMATS: Mapping[str, dict[str, tuple[str, ...]]] = PerLanguage(
    lambda key: {k: tuple(v) for k, v in formats.items()} if (formats := _wording(key).get("date_format")) else None)
ENERGY_STEP = 10_000  # switch kWh -> MWh -> GWh at 10,000 of the smaller unit (12,345 kWh -> "12.3 megawatt hours")
#: a percentage is said only against an expectation of at least this much energy ("1,073 percent above the expected
#: 43.1 kilowatt hours" tells a listener nothing; "504 kilowatt hours against an expected 43" does)
MEANINGFUL_EXPECTED_KWH = 50.0
#: ... and only below this size: "twelve times the expected" is heard better as the two amounts
MEANINGFUL_PERCENT_MAX = 100.0


def _lang(lang: str) -> str:
    return primary(lang)


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _sig(value: Decimal, digits: int) -> Decimal:
    """Round to ``digits`` significant digits (half up)."""
    if value == 0:
        return value
    return _round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _format(value: Decimal, lang: str) -> str:
    """Digits of a non-negative rounded value in the language's notation, without trailing zeros."""
    words = WORDS[_lang(lang)]
    text = f"{value:f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    if words["group"] and len(whole) > 3:
        whole = f"{int(whole):,}".replace(",", str(words["group"]))
    return f"{whole}{words['decimal']}{frac}" if frac else whole


def _plain(value: float | Decimal) -> Decimal:
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"cannot speak {value!r}")
    return number


def _number(value: float, lang: str) -> tuple[str, bool]:
    """(spoken digits with sign word, whether it reads as exactly one: "1" takes the singular unit)."""
    number = _plain(value)
    words = WORDS[_lang(lang)]
    size = abs(number)
    if size >= 999_500:
        millions = _sig(size / 1_000_000, 3)
        singular, plural = words["million"]  # type: ignore[misc]
        text, one = f"{_format(millions, lang)} {singular if millions == 1 else plural}", False
    else:
        if size >= 10_000:
            rounded = _sig(size, 3)
        elif size >= 100:
            rounded = _round(size, 0)
        elif size >= 1:
            rounded = _round(size, 1)
        else:
            rounded = _sig(size, 2)
        text, one = _format(rounded, lang), rounded == 1
    if number < 0 and text != "0":
        return f"{words['minus']} {text}", False
    return text, one


def speakable(value: float, lang: str = "en-us") -> str:
    """A measured value rounded for speech: 1008.85 -> "1,009", 40.72 -> "40.7", 4.27 -> "4.3" ("4,3" in German)."""
    return _number(value, lang)[0]


def speakable_percent(value: float, lang: str = "en-us") -> str:
    """A percentage (40.72 means 40.72 %) to two significant digits: "41 percent", "4.3 percent", "1,100 percent";
    below 1 (after rounding) "less than 1 percent" (German "weniger als 1 Prozent")."""
    number = _plain(value)
    words = WORDS[_lang(lang)]
    rounded = _sig(number.copy_abs(), 2)
    if rounded < 1:
        return str(words["under_one_percent"])
    text = _format(rounded, lang)
    sign = f"{words['minus']} " if number < 0 else ""
    return f"{sign}{text} {words['percent']}"


def percent_is_meaningful(expected_kwh: float, percent: float) -> bool:
    """Whether a deviation is worth saying as a percentage of its expectation: the expectation is at least
    ``MEANINGFUL_EXPECTED_KWH`` and the percentage below ``MEANINGFUL_PERCENT_MAX`` (in size). Otherwise the
    sentence says the amounts."""
    return (math.isfinite(expected_kwh) and math.isfinite(percent) and expected_kwh >= MEANINGFUL_EXPECTED_KWH
            and abs(percent) < MEANINGFUL_PERCENT_MAX)


def speakable_money(amount: float, currency: str = "USD", lang: str = "en-us") -> str:
    """Money as said aloud: "62 dollars" (whole units from 10 up), "4 dollars 50 cents", "50 cents",
    "1,200 euros", "12,300 dollars", "1.23 million euros"; German "4 Euro 50 Cent". An unknown currency code is
    spoken as its code ("12 SEK")."""
    key = _lang(lang)
    code = (currency or "USD").upper()
    one, many, sub_one, sub_many = CURRENCIES[key].get(code, (code, code, None, None))
    number = _round(_plain(amount), 2)
    size = abs(number)
    sign = f"{WORDS[key]['minus']} " if number < 0 and size >= Decimal("0.01") else ""
    if size >= 10 or sub_one is None:
        text, single = _number(float(_round(size, 0) if size < 100 else size), lang)
        return f"{sign}{text} {one if single else many}"
    whole, cents = int(size), int((size - int(size)) * 100)
    if whole == 0 and cents:
        return f"{sign}{cents} {sub_one if cents == 1 else sub_many}"
    text = f"{sign}{whole} {one if whole == 1 else many}"
    return f"{text} {cents} {sub_one if cents == 1 else sub_many}" if cents else text


def _unit_step(values: list[Decimal]) -> int:
    """How many times to divide by 1000 so the largest of ``values`` stays below 10,000 of its unit."""
    largest = max((abs(v) for v in values), default=Decimal(0))
    step = 0
    while largest >= ENERGY_STEP - Decimal("0.5"):
        largest /= 1000
        step += 1
    return step


def _with_unit(values: list[float], units: list[str], lang: str) -> list[str]:
    """Each value in one unit, kWh, MWh or GWh (or kW, MW): the one that keeps the largest below 10,000."""
    words = WORDS[_lang(lang)]
    numbers = [_plain(v) for v in values]
    step = min(_unit_step(numbers), len(units) - 1)
    singular, plural = words[units[step]]  # type: ignore[misc]
    out = []
    for number in numbers:
        text, one = _number(float(number / (1000 ** step)), lang)
        out.append(f"{text} {singular if one else plural}")
    return out


def energy_words(kwh: float, lang: str = "en-us") -> str:
    """Energy in kWh as said aloud: "598 kilowatt hours", "1,200 kilowatt hours", "12.3 megawatt hours"
    (from 10,000 kWh on), "45 gigawatt hours"; German "598 Kilowattstunden"."""
    return _with_unit([kwh], ["kwh", "mwh", "gwh"], lang)[0]


def energy_words_together(values: list[float], lang: str = "en-us") -> list[str]:
    """Energies said in one comparison, in one unit chosen by the largest: [13_700, 2_040] -> "13.7 megawatt
    hours", "2 megawatt hours"; [598, 43.1] -> "598 kilowatt hours", "43.1 kilowatt hours"."""
    return _with_unit(list(values), ["kwh", "mwh", "gwh"], lang)


def power_words(kw: float, lang: str = "en-us") -> str:
    """Power in kW as said aloud: "55 kilowatts", "12.5 megawatts" (from 10,000 kW on)."""
    return _with_unit([kw], ["kw", "mw"], lang)[0]


def hours_words(hours: float, lang: str = "en-us") -> str:
    """A number of hours with its word in the right number: "1 hour", "2.5 hours", German "1 Stunde"."""
    text, one = _number(hours, lang)
    singular, plural = WORDS[_lang(lang)]["hour"]  # type: ignore[misc]
    return f"{text} {singular if one else plural}"


def written_date(day: dt.date, lang: str, *, in_period: bool = False, year: bool = True) -> str | None:
    """A date as the language's TTS reads it best ("Montag, 20. Oktober 2025"; in a period "1. November"), or
    ``None`` for a language that speaks dates in words (see ``DATE_FORMATS``)."""
    formats = DATE_FORMATS.get((lang or "").lower().replace("_", "-").split("-")[0])
    if formats is None:
        return None
    template = formats["in_period" if in_period else "day"][1 if year else 0]
    return template.format(weekday=formats["weekdays"][day.weekday()], day=day.day,
                           month=formats["months"][day.month - 1], year=day.year)
