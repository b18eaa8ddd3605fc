"""Spoken days and periods -> local calendar dates of the factory.

A small grammar per language (word lists in :data:`LEXICONS`) handles what people ask an energy assistant:
"today", "yesterday", "the day before yesterday", "two days ago", "on monday", "last tuesday", "tuesday last week",
"on November 6th", "the 6th", "2025-11-05", "next monday" (future); periods "this week", "last month",
"this quarter", "q2 2025", "the last 7 days", "in october", "in 2025", "since monday", "from monday to wednesday".
Anything else goes to ovos_date_parser, but only when the text holds a date word, and its known
faults (measured with ovos-date-parser 0.29.0) are repaired:

- the machine name is cut out before parsing (``strip``): "compressor one on november 6th" parsed whole gives the 7th,
  and "compressor one" alone parses as today 13:00;
- a day and month without a year mean the most recent such day (the parser's future bias gives next year);
  a year said is kept as said, and a day after ``today`` then has status ``"future"``;
- "last week" is a period, not the day a week ago: ``resolve_day`` answers ``status="none"`` with ``said`` set,
  so a caller can tell "no date words" (``said is None``) from "a period was said" (use :func:`resolve_period`);
- "this quarter" is not "this 0.25": words the number parser would turn into fractions are kept (``keep``).

Choices: a bare weekday ("on monday", "monday") is the most recent such day, today included (asked on a Monday it
is today, a partial day); "last monday" is strictly before today. "last 7 days" / "past 30 days" are that many
complete days before today, and today (the engine leaves today out, as it does for "this week" (Monday..today),
"this month", "this quarter", "this year"). "last week" is the previous Monday..Sunday; "past week" is the rolling
7 days; "over the weekend" / "am Wochenende" the last weekend (the one under way on a Saturday or Sunday). A period reaching past ``today`` is cut at ``today``;
one starting after ``today`` is ``None``.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Callable, Literal, Sequence

from ovos_date_parser import extract_datetime
from ovos_number_parser import numbers_to_digits

__all__ = ["DayResolution", "Period", "resolve_day", "resolve_period", "DateLexicon", "LEXICONS"]


@dataclass(frozen=True)
class DayResolution:
    """``day`` is None when no day was said (``status="none"``; ``said`` then holds a period phrase, if any)."""
    day: date | None
    status: Literal["ok", "future", "none"]
    said: str | None


@dataclass(frozen=True)
class Period:
    """Inclusive local dates."""
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def _en_ordinals() -> dict[str, int]:
    base = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
            "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth").split()
    words = {w: i + 1 for i, w in enumerate(base)}
    words |= {"twentieth": 20, "thirtieth": 30, "thirty first": 31}
    words |= {f"twenty {w}": 20 + i + 1 for i, w in enumerate(base[:9])}
    return words


def _de_ordinals() -> dict[str, int]:
    stems = {1: "erst", 2: "zweit", 3: "dritt", 4: "viert", 5: "fünft", 6: "sechst", 7: "siebt", 8: "acht",
             9: "neunt", 10: "zehnt", 11: "elft", 12: "zwölft", 13: "dreizehnt", 14: "vierzehnt", 15: "fünfzehnt",
             16: "sechzehnt", 17: "siebzehnt", 18: "achtzehnt", 19: "neunzehnt", 20: "zwanzigst", 30: "dreißigst"}
    units = {1: "ein", 2: "zwei", 3: "drei", 4: "vier", 5: "fünf", 6: "sechs", 7: "sieben", 8: "acht", 9: "neun"}
    stems |= {20 + u: f"{w}undzwanzigst" for u, w in units.items()} | {31: "einunddreißigst"}
    return {f"{stem}{end}": n for n, stem in stems.items() for end in ("e", "en", "er", "es", "em")}


def _en_suffix(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


@dataclass(frozen=True)
class DateLexicon:
    """The words of one language. Patterns are regular expressions over normalised text (lower case, number words
    as digits, ordinals as ``<n>ord``); ``{M}`` stands for the month names, ``{W}`` for the weekday names, ``{Y}``
    for a year."""
    relative: dict[str, int]                  # phrase -> days before today
    weekdays: tuple[tuple[str, ...], ...]     # Monday..Sunday, spellings of each
    last: tuple[str, ...]                     # "last tuesday": strictly before today
    months: dict[str, int]
    month_intro: tuple[str, ...]              # "in october": words that make a bare month name a period
    ordinals: dict[str, int]
    ordinal_text: Callable[[int], str]        # how ``said`` shows an ordinal
    date_patterns: tuple[str, ...]            # groups d, m (name or number), y (optional)
    ago: str                                  # groups n, u ({U}: the words of ago_units)
    ago_units: dict[str, tuple[str, int]]     # "weeks" -> ("day", 7), "years" -> ("month", 12)
    counts: dict[str, int]                    # "a week ago", "a couple of days ago"
    next: tuple[str, ...]                     # "next monday", "next week": after today
    units: dict[str, str]                     # word -> day | week | weekend | month | quarter | year
    this: tuple[str, ...]
    previous: tuple[str, ...]                 # calendar unit before this one
    rolling: tuple[str, ...]                  # with a number: "last 7 days"; ends today
    rolling_bare: tuple[str, ...]             # without a number: "past week"
    compounds: dict[str, tuple[str, str]]     # "vorjahr" -> ("year", "previous"), "year to date" -> ("year", "this")
    weekday_last_week: tuple[str, ...]        # groups w
    day_of_month: str                         # "the 6th": group d
    year_only: str                            # "in 2025": group y
    quarter: str = ""                         # "q2 2025", "the second quarter": groups q (1-4), y (optional)
    keep: tuple[str, ...] = ()                # words the number parser must not touch ("quarter" -> 0.25)
    dotted_ordinals: bool = False             # "am 6. november": a digit and a dot is an ordinal
    since: str = ""                           # "since monday": group a (a day); the period runs to today
    between: str = ""                         # "from monday to wednesday": groups a, b (days)
    parser_gate: tuple[str, ...] = ()         # words that let ovos_date_parser try the rest


_EN_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_EN_MONTHS |= {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m and m.lower() not in {"may"}}
_EN_MONTHS |= {"sept": 9}
_DE_MONTHS = {"januar": 1, "jänner": 1, "februar": 2, "feber": 2, "märz": 3, "maerz": 3, "april": 4, "mai": 5,
              "juni": 6, "juli": 7, "august": 8, "september": 9, "oktober": 10, "november": 11, "dezember": 12,
              "jan": 1, "feb": 2, "mär": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
              "okt": 10, "nov": 11, "dez": 12}

LEXICONS: dict[str, DateLexicon] = {
    "en": DateLexicon(
        relative={"the day before yesterday": 2, "day before yesterday": 2, "yesterday": 1, "today": 0,
                  "this morning": 0, "this afternoon": 0, "this evening": 0, "tonight": 0, "last night": 1},
        weekdays=tuple((d.lower(),) for d in calendar.day_name),
        last=("last", "past", "previous"),
        months=_EN_MONTHS,
        month_intro=("in", "during", "for", "of", "last", "this"),
        ordinals=_en_ordinals(),
        ordinal_text=_en_suffix,
        date_patterns=(r"\b(?P<m>{M})\.? (?:the )?(?P<d>\d{1,2})(?:ord)?\b(?:,? (?:of )?(?P<y>{Y}))?",
                       r"\b(?P<d>\d{1,2})(?:ord)? (?:of )?(?P<m>{M})\b(?:,? (?P<y>{Y}))?",
                       r"\b(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})\b",
                       # "on 10/20": the last October 20th (after a day's preposition: "3/4 of them" is a share)
                       r"\b(?:on|for|since|from|to|until|till|through|and|of|by) (?P<m>\d{1,2})/(?P<d>\d{1,2})(?P<y>)"
                       r"(?![/\d])"),
        ago=r"\b(?P<n>\d+|{N}) (?P<u>{U}) ago\b",
        ago_units={"day": ("day", 1), "days": ("day", 1), "week": ("day", 7), "weeks": ("day", 7),
                   "fortnight": ("day", 14), "fortnights": ("day", 14), "month": ("month", 1),
                   "months": ("month", 1), "year": ("month", 12), "years": ("month", 12)},
        counts={"a": 1, "an": 1, "one": 1, "a couple of": 2, "couple of": 2, "a few": 3},
        next=("next", "this coming", "coming", "the next", "the coming"),
        units={"day": "day", "days": "day", "week": "week", "weeks": "week", "weekend": "weekend",
               "month": "month", "months": "month", "quarter": "quarter", "quarters": "quarter",
               "year": "year", "years": "year"},
        this=("this", "the current", "current"),
        previous=("last", "previous", "the previous"),
        rolling=("last", "past", "previous"),
        rolling_bare=("the past", "past"),
        compounds={"week to date": ("week", "this"), "month to date": ("month", "this"),
                   "quarter to date": ("quarter", "this"), "year to date": ("year", "this"),
                   "ytd": ("year", "this"), "mtd": ("month", "this"),
                   **{f"since the {edge} of the {unit}": (unit, "this") for edge in ("start", "beginning")
                      for unit in ("week", "month", "quarter", "year")},
                   **{f"{intro} the weekend": ("weekend", "recent") for intro in ("over", "on", "at", "during",
                                                                                  "for", "from")}},
        weekday_last_week=(r"\b(?P<w>{W}) (?:of )?last week\b", r"\blast week(?: on)? (?P<w>{W})\b"),
        day_of_month=r"\bthe (?P<d>\d{1,2})ord\b(?! (?:quarter|week|month|year|day|time))",
        year_only=r"\b(?:in|during|for|of) (?:the year )?(?P<y>\d{4})\b",
        quarter=r"\b(?:q(?P<q>[1-4])|(?P<o>[1-4])ord quarter)\b(?: (?:of )?(?P<y>\d{4})\b)?",
        keep=("quarter", "quarters", "half", "couple"),
        since=r"\bsince (?P<a>.+)",
        between=r"\b(?:from|between) (?P<a>.+?) (?:to|until|till|through|and) (?P<b>.+)",
        parser_gate=("ago", "tomorrow", "next", "coming", "fortnight", "weekend", "week", "month", "year",
                     "morning", "afternoon", "evening", "night", "noon", "midnight"),
    ),
    "de": DateLexicon(
        relative={"vorgestern": 2, "gestern": 1, "heute": 0,  # and as adjectives: "der gestrige Tag"
                  **{f"{stem}{end}": n for stem, n in (("vorgestrig", 2), ("gestrig", 1), ("heutig", 0))
                     for end in ("e", "en", "er", "es", "em")}},
        weekdays=(("montag",), ("dienstag",), ("mittwoch",), ("donnerstag",), ("freitag",),
                  ("samstag", "sonnabend"), ("sonntag",)),
        last=("letzten", "letzter", "letztes", "letzte", "vergangenen", "vergangener", "vorigen", "voriger"),
        months=_DE_MONTHS,
        month_intro=("im", "in", "für", "letzten", "diesen"),
        ordinals=_de_ordinals(),
        ordinal_text=lambda n: f"{n}.",
        date_patterns=(r"\b(?P<d>\d{1,2})(?:ord|\.)? (?P<m>{M})\b(?: (?P<y>{Y}))?",
                       r"(?<![\d.])\b(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})?(?![\d.])"),
        ago=r"\bvor (?P<n>\d+|{N}) (?P<u>{U})\b",
        ago_units={"tag": ("day", 1), "tagen": ("day", 1), "woche": ("day", 7), "wochen": ("day", 7),
                   "monat": ("month", 1), "monaten": ("month", 1), "jahr": ("month", 12), "jahren": ("month", 12)},
        counts={"einem": 1, "einer": 1, "eins": 1, "ein paar": 3},
        next=("nächste", "nächsten", "nächster", "nächstes", "kommende", "kommenden", "kommender", "kommendes"),
        units={"tag": "day", "tage": "day", "tagen": "day", "woche": "week", "wochen": "week",
               "wochenende": "weekend", "monat": "month", "monats": "month", "monate": "month", "monaten": "month",
               "quartal": "quarter", "quartals": "quarter", "quartale": "quarter", "quartalen": "quarter",
               "jahr": "year", "jahres": "year", "jahre": "year", "jahren": "year"},
        this=("diese", "dieser", "diesem", "diesen", "dieses", "laufende", "laufenden", "laufendes", "laufender",
              "aktuelle", "aktuellen", "aktuelles", "aktueller"),
        previous=("letzte", "letzten", "letzter", "letztem", "letztes", "vergangene", "vergangenen", "vergangener",
                  "vergangenes", "vorige", "vorigen", "voriger", "voriges", "vorherige", "vorherigen"),
        rolling=("letzten", "vergangenen", "zurückliegenden"),
        rolling_bare=(),
        compounds={"vorjahr": ("year", "previous"), "vorjahres": ("year", "previous"),
                   "vormonat": ("month", "previous"), "vormonats": ("month", "previous"),
                   "vorwoche": ("week", "previous"), "vorquartal": ("quarter", "previous"),
                   "seit jahresbeginn": ("year", "this"), "seit monatsbeginn": ("month", "this"),
                   "seit wochenbeginn": ("week", "this"), "seit quartalsbeginn": ("quarter", "this"),
                   **{f"{intro} wochenende": ("weekend", "recent") for intro in ("am", "übers", "über das",
                                                                                  "während des", "vom", "fürs")}},
        weekday_last_week=(r"\b(?P<w>{W}) (?:der |in der )?(?:letzte|letzten|vergangene|vergangenen|vorige|vorigen)"
                           r" woche\b",
                           r"\b(?:letzte|vergangene|vorige) woche(?: am)? (?P<w>{W})\b"),
        day_of_month=r"\bam (?P<d>\d{1,2})ord(?! ?\d)",
        year_only=r"\b(?:im jahr|im jahre|in|für) (?P<y>\d{4})\b",
        quarter=r"\b(?:q(?P<q>[1-4])|(?P<o>[1-4])ord quartal)\b(?: (?P<y>\d{4})\b)?",
        keep=("viertel", "halbes", "halben", "halbe"),
        dotted_ordinals=True,
        since=r"\bseit (?P<a>.+)",
        between=r"\b(?:von|vom|zwischen) (?P<a>.+?) (?:bis|bis zum|und) (?P<b>.+)",
        parser_gate=("morgen", "übermorgen", "nächste", "nächsten", "nächstes", "kommende", "kommenden", "wochenende",
                     "woche", "monat", "jahr", "vor"),
    ),
}

_YEAR = r"\d{4}|(?:19|20) \d{2}"  # "twenty twenty five" reaches here as "20 25"
_ISO = r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"  # 2025-11-05, in every language


def _key(lang: str) -> str:
    primary = (lang or "en").lower().replace("_", "-").split("-")[0]
    return primary if primary in LEXICONS else "en"


def _alt(words) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


@dataclass(frozen=True)
class _Compiled:
    relative: re.Pattern
    dates: tuple[re.Pattern, ...]
    weekday_last_week: tuple[re.Pattern, ...]
    ago: re.Pattern
    weekday: re.Pattern
    day_of_month: re.Pattern
    ordinals: re.Pattern
    rolling: re.Pattern
    unit: re.Pattern
    compounds: re.Pattern | None
    month_only: re.Pattern
    year_only: re.Pattern
    quarter: re.Pattern | None
    gate: re.Pattern
    weekday_index: dict[str, int]


@lru_cache(maxsize=None)
def _compiled(key: str) -> _Compiled:
    lx = LEXICONS[key]
    wd = {w: i for i, names in enumerate(lx.weekdays) for w in names}
    fill = lambda p: (p.replace("{M}", _alt(lx.months)).replace("{W}", _alt(wd)).replace("{Y}", _YEAR)  # noqa: E731
                      .replace("{U}", _alt(lx.ago_units)).replace("{N}", _alt(lx.counts)))
    units = _alt(lx.units)
    unit_pat = (rf"\b(?:(?P<next>{_alt(lx.next)})|(?P<this>{_alt(lx.this)})|(?P<prev>{_alt(lx.previous)})"
                + (rf"|(?P<bare>{_alt(lx.rolling_bare)})" if lx.rolling_bare else "") + rf") (?P<u>{units})\b")
    return _Compiled(
        relative=re.compile(rf"\b{_alt(lx.relative)}\b"),
        dates=tuple(re.compile(fill(p)) for p in (_ISO, *lx.date_patterns)),
        weekday_last_week=tuple(re.compile(fill(p)) for p in lx.weekday_last_week),
        ago=re.compile(fill(lx.ago)),
        weekday=re.compile(rf"\b(?:(?:(?P<next>{_alt(lx.next)})|(?P<last>{_alt(lx.last)})) )?(?P<w>{_alt(wd)})\b"),
        day_of_month=re.compile(lx.day_of_month),
        ordinals=re.compile(rf"\b{_alt(lx.ordinals)}\b"),
        rolling=re.compile(rf"\b{_alt(lx.rolling)} (?P<n>\d+) (?P<u>{units})\b"),
        unit=re.compile(unit_pat),
        compounds=re.compile(rf"\b{_alt(lx.compounds)}\b") if lx.compounds else None,
        month_only=re.compile(rf"\b(?:(?P<intro>{_alt(lx.month_intro)}) )?(?P<m>{_alt(lx.months)})\b"
                              rf"(?: (?P<y>{_YEAR})\b)?"),
        year_only=re.compile(lx.year_only),
        quarter=re.compile(lx.quarter) if lx.quarter else None,
        gate=re.compile(rf"\b{_alt((*lx.parser_gate, *wd))}\b"),  # not months: "how may i help"
        weekday_index=wd,
    )


def _to_digits(text: str, lang: str) -> str:
    """Number words as digits; the text unchanged for a language the number parser has no table for."""
    try:
        return numbers_to_digits(text, lang)
    except Exception:  # noqa: BLE001 - digits already said still work
        return text


def _normalise(text: str, lang: str, strip: Sequence[str]) -> str:
    """Lower case, machine names cut out (before number words become digits: "compressor one two days ago"
    would read "compressor 12 days ago"), punctuation out, ordinals as ``<n>ord``, number words as digits."""
    key = _key(lang)
    text = f" {(text or '').lower()} "
    for name in sorted((s for s in strip if s and s.strip()), key=len, reverse=True):
        for variant in {name.lower().strip(), re.sub(r"[-_]", " ", name.lower()).strip()}:
            text = re.sub(rf"(?<!\w){re.escape(variant)}(?!\w)", " ", text)
    text = re.sub(r"(?<=[^\W\d])-|-(?=[^\W\d])|[,;:!?\"()]|'s\b|’s\b", " ", text)  # keep 2025-11-05 and 6.11.2025
    text = re.sub(r"\b(\d{1,2})(?:st|nd|rd|th)\b", r"\1ord", text)
    if LEXICONS[key].dotted_ordinals:
        # "am 20.10" as a normaliser leaves "am 20.10.", its closing dot gone (after a day's preposition only: the
        # number parser reads a bare "20.10" as 20.1)
        text = re.sub(r"\b(am|an dem|vom|von dem|zum|zu dem|bis|seit|ab|den) (\d{1,2})\.(\d{1,2})(?=\s)", r"\1 \2.\3.", text)
        text = re.sub(r"(?<![\d.])\b(\d{1,2})\.(?=\s)", r"\1ord", text)  # "am 6. november"
    # sentence dots and "h. v. a. c." (not 6.11.2025, nor the closing dot of "am 20.10.")
    text = re.sub(r"(?<!\d\.\d)(?<!\d\.\d\d)\.(?!\d)|(?<!\d)\.", " ", text)
    text = _compiled(key).ordinals.sub(lambda m: f"{LEXICONS[key].ordinals[m.group(0)]}ord", " ".join(text.split()))
    kept = LEXICONS[key].keep
    text = " ".join(f"zzkeep{kept.index(w)}zz" if w in kept else w for w in text.split())
    text = re.sub(r"(?<=\d)/(?=\d)", " zzslashzz ", text)  # "10/20" is a date, not the fraction 0.5
    text = _to_digits(text, lang)
    text = re.sub(r"zzkeep(\d+)zz", lambda m: kept[int(m.group(1))], text)
    text = re.sub(r" zzslashzz ", "/", text)
    for name in strip:  # the name said with digits where the slot has words ("compressor 1" / "compressor one")
        if name and name.strip():
            digits = _to_digits(re.sub(r"[-_]", " ", name.lower()), lang).strip()
            text = re.sub(rf"(?<!\w){re.escape(digits)}(?!\w)", " ", text)
    return " ".join(text.split())


def _said(text: str, key: str) -> str:
    text = re.sub(r"\b(19|20) (\d\d)$", r"\1\2", text)  # a year said as "twenty twenty five"
    return re.sub(r"(\d+)ord\b", lambda m: LEXICONS[key].ordinal_text(int(m.group(1))), text)


def _year(raw: str) -> int:
    return int(raw.replace(" ", ""))


def _month(raw: str, key: str) -> int:
    return int(raw) if raw.isdigit() else LEXICONS[key].months[raw.rstrip(".")]


def _recent(month: int, day: int, today: date) -> date | None:
    """The most recent ``month``/``day`` on or before today (Feb 29 looks back to a leap year)."""
    for year in range(today.year, today.year - 9, -1):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found <= today:
            return found
    return None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _explicit_day(text: str, today: date, key: str) -> tuple[date | None, bool, str] | None:
    """(day, year said, phrase) from the grammar; day None for a date that does not exist."""
    c = _compiled(key)
    found = sorted((m.start(), m) for p in c.dates for m in p.finditer(text))
    for _, m in found:
        d, mo, y = int(m["d"]), _month(m["m"], key), m["y"]
        if not 1 <= mo <= 12:
            continue
        if y:
            try:
                return date(_year(y), mo, d), True, m.group(0)
            except ValueError:
                return None, True, m.group(0)
        return _recent(mo, d, today), False, m.group(0)
    for p in c.weekday_last_week:
        if m := p.search(text):
            monday = today - timedelta(days=today.weekday() + 7)
            return monday + timedelta(days=c.weekday_index[m["w"]]), False, m.group(0)
    if m := c.ago.search(text):
        n = LEXICONS[key].counts.get(m["n"]) or int(m["n"])
        unit, size = LEXICONS[key].ago_units[m["u"]]
        if unit == "day":
            return today - timedelta(days=n * size), False, m.group(0)
        return _add_months(today, -n * size), False, m.group(0)
    if m := c.relative.search(text):
        return today - timedelta(days=LEXICONS[key].relative[m.group(0)]), False, m.group(0)
    if m := c.weekday.search(text):
        back = (today.weekday() - c.weekday_index[m["w"]]) % 7
        if m["next"]:  # "next monday": the first one after today
            return today + timedelta(days=(7 - back) or 7), False, m.group(0)
        if m["last"] and back == 0:
            back = 7
        return today - timedelta(days=back), False, m.group(0)
    if m := c.day_of_month.search(text):
        d = int(m["d"])
        for step in range(0, 12):
            first = _add_months(today.replace(day=1), -step)
            if d <= calendar.monthrange(first.year, first.month)[1] and first.replace(day=d) <= today:
                return first.replace(day=d), False, m.group(0)
    return None


def _period_phrase(text: str, today: date, key: str) -> tuple[Period | None, str] | None:
    """A period the grammar knows ("last week", "the last 7 days", "vorjahr"), or None."""
    c = _compiled(key)
    units = LEXICONS[key].units
    if m := c.rolling.search(text):
        n, unit = int(m["n"]), units[m["u"]]
        return _rolling(today, n, unit), m.group(0)
    if c.compounds and (m := c.compounds.search(text)):
        unit, which = LEXICONS[key].compounds[m.group(0)]
        return _calendar(today, unit, which), m.group(0)
    if m := c.unit.search(text):
        unit = units[m["u"]]
        if m["next"]:
            return None, m.group(0)  # "next week": nothing to analyse yet
        if m.groupdict().get("bare"):
            return _rolling(today, 1, unit), m.group(0)
        return _calendar(today, unit, "this" if m["this"] else "previous"), m.group(0)
    return None


def _rolling(today: date, n: int, unit: str) -> Period | None:
    """The last ``n`` units: their complete days before today, and today (which the engine leaves out, as it does
    for "this week"): "the last 30 days" asked on November 6th are October 7th to November 5th."""
    if n < 1:
        return None
    if unit in ("day", "week", "weekend"):
        return Period(today - timedelta(days=n * (1 if unit == "day" else 7)), today)
    months = n * {"month": 1, "quarter": 3, "year": 12}[unit]
    return Period(_add_months(today, -months), today)


def _calendar(today: date, unit: str, which: str) -> Period | None:
    back = 1 if which == "previous" else 0
    if which == "recent":  # "over the weekend": the one under way on a Saturday or Sunday, else the last one
        back = 0 if today.weekday() >= 5 else 1
    if unit == "day":
        day = today - timedelta(days=back)
        return Period(day, day)
    if unit in ("week", "weekend"):
        monday = today - timedelta(days=today.weekday() + 7 * back)
        start, end = (monday, monday + timedelta(days=6)) if unit == "week" else \
            (monday + timedelta(days=5), monday + timedelta(days=6))
    elif unit == "month":
        start = _add_months(today.replace(day=1), -back)
        end = _add_months(start, 1) - timedelta(days=1)
    elif unit == "quarter":
        start = _add_months(date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), -3 * back)
        end = _add_months(start, 3) - timedelta(days=1)
    else:
        start, end = date(today.year - back, 1, 1), date(today.year - back, 12, 31)
    return _clip(start, end, today)


def _clip(start: date, end: date, today: date) -> Period | None:
    return None if start > today else Period(start, min(end, today))


def _parser_day(text: str, today: date, lang: str, key: str) -> tuple[date, str, str] | None:
    """ovos_date_parser for what the grammar does not cover; only with a date word in the text."""
    if not text or not _compiled(key).gate.search(text):
        return None
    try:
        found = extract_datetime(text, lang, anchorDate=datetime.combine(today, time(12)))
    except Exception:  # a parser fault must not cost the answer
        return None
    if not found:
        return None
    day, left = found[0].date(), (found[1] or "").split()
    said = []
    for word in text.split():  # the words the parser used: the text minus its remainder
        if word in left:
            left.remove(word)
        else:
            said.append(word)
    has_month = any(w in LEXICONS[key].months for w in text.split())
    if day > today and has_month and not re.search(r"\b\d{4}\b", text):
        day = _recent(day.month, day.day, today) or day  # the parser's future bias: "november 6th" -> next year
    return day, "ok" if day <= today else "future", " ".join(said) or text


def _month_or_year(text: str, today: date, key: str) -> tuple[Period | None, str] | None:
    """ "in october", "october 2025", "last october", "q2 2025", "in 2025": a month, quarter or year (cut at
    today)."""
    c = _compiled(key)
    if c.quarter and (m := c.quarter.search(text)):
        first = 3 * (int(m["q"] or m["o"]) - 1) + 1
        start = date(int(m["y"]) if m["y"] else today.year, first, 1)
        if not m["y"] and start > today:
            start = date(today.year - 1, first, 1)
        return _clip(start, _add_months(start, 3) - timedelta(days=1), today), m.group(0)
    for m in c.month_only.finditer(text):
        if not m["y"] and not (m["intro"] and m["m"] in _FULL_MONTHS[key]):
            continue  # a bare "may" or "march" is a verb; "in may" is a month
        month = _month(m["m"], key)
        if m["y"]:
            start = date(_year(m["y"]), month, 1)
        else:
            start = date(today.year, month, 1)
            strict = m["intro"] in LEXICONS[key].last or m["intro"] in LEXICONS[key].previous
            if start > today or (strict and start.month == today.month):
                start = date(today.year - 1, month, 1)
        return _clip(start, _add_months(start, 1) - timedelta(days=1), today), m.group(0)
    if m := c.year_only.search(text):
        year = int(m["y"])
        return (_clip(date(year, 1, 1), date(year, 12, 31), today) if 1900 < year < 2200 else None), m.group(0)
    return None


def _span(text: str, today: date, key: str) -> tuple[Period | None, str] | None:
    """ "since monday" (to today) and "from monday to wednesday": two days the grammar knows, as a period."""
    lx = LEXICONS[key]
    if lx.between and (m := re.search(lx.between, text)):
        a, b = _explicit_day(m["a"], today, key), _explicit_day(m["b"], today, key)
        if a and b and a[0] and b[0]:
            start, end = sorted((a[0], b[0]))
            return _clip(start, end, today), m.group(0)
    if lx.since and (m := re.search(lx.since, text)):
        if (a := _explicit_day(m["a"], today, key)) and a[0]:
            return _clip(a[0], today, today), m.group(0)
        if (p := _period_phrase(m["a"], today, key)) and p[0]:  # "since last week": from its first day
            return _clip(p[0].start, today, today), m.group(0)
        month = _month_or_year(f"{'in' if key == 'en' else 'im'} {m['a']}", today, key)
        if month and month[0]:  # "since january", "seit märz": from the first of the last such month
            return _clip(month[0].start, today, today), m.group(0)
    return None


def resolve_day(utterance: str, today: date, lang: str = "en-us", strip: Sequence[str] = ()) -> DayResolution:
    """The day an utterance names, relative to the factory's local ``today``.

    ``strip``: the machine name as said (the slot), cut out first. ``said``: the words read as the day, normalised
    ("november 6th", "2 days ago"). No day words -> ``DayResolution(None, "none", None)``; the caller uses today.
    """
    key = _key(lang)
    text = _normalise(utterance, lang, strip)
    if (span := _span(text, today, key)) is not None:
        return DayResolution(None, "none", _said(span[1], key))
    hit = _explicit_day(text, today, key)
    if hit is not None:
        day, year_said, phrase = hit
        if day is None:
            return DayResolution(None, "none", _said(phrase, key))
        return DayResolution(day, "future" if day > today else "ok", _said(phrase, key))
    if (period := _period_phrase(text, today, key) or _month_or_year(text, today, key)) is not None:
        return DayResolution(None, "none", _said(period[1], key))
    if parsed := _parser_day(text, today, lang, key):
        return DayResolution(parsed[0], parsed[1], _said(parsed[2], key))  # type: ignore[arg-type]
    return DayResolution(None, "none", None)


def resolve_period(utterance: str, today: date, lang: str = "en-us", strip: Sequence[str] = ()) -> Period | None:
    """The period an utterance names: a period phrase, a single day (as a one-day period), a month ("in october",
    "october 2025") or a year ("in 2025"). None when nothing is said or the period lies wholly after ``today``."""
    key = _key(lang)
    text = _normalise(utterance, lang, strip)
    if (period := _span(text, today, key) or _period_phrase(text, today, key)) is not None:
        return period[0]
    hit = _explicit_day(text, today, key)
    if hit is not None:
        day = hit[0]
        return Period(day, day) if day is not None and day <= today else None
    if (month := _month_or_year(text, today, key)) is not None:
        return month[0]
    if parsed := _parser_day(text, today, lang, key):
        return Period(parsed[0], parsed[0]) if parsed[1] == "ok" else None
    return None


_FULL_MONTHS = {"en": frozenset(m.lower() for m in calendar.month_name if m) | {"sept"},
                "de": frozenset(k for k in _DE_MONTHS if len(k) > 4) | {"mai", "juni", "juli", "märz"}}
