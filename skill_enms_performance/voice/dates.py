"""Spoken days and periods -> local calendar dates of the factory.

A small grammar per language (word lists in :data:`LEXICONS`, read from ``locale/<lang>/dates.json``) handles what
people ask an energy assistant: "today", "yesterday", "the day before yesterday", "two days ago", "on monday",
"last tuesday", "tuesday last week", "on November 6th", "the 6th", "2025-11-05", "next monday" (future); periods
"this week", "last month", "this quarter", "q2 2025", "the last 7 days", "in october", "in 2025", "since monday",
"from monday to wednesday". Anything else goes to ovos_date_parser, but only when the text holds a date word, and its
known faults (measured with ovos-date-parser 0.29.0) are repaired:

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
import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Literal, Mapping, Sequence

from ovos_date_parser import extract_datetime
from ovos_number_parser import numbers_to_digits

from .language import PerLanguage, cached, primary, table

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


@dataclass(frozen=True)
class DateLexicon:
    """The words of one language. Patterns are regular expressions over normalised text (lower case, number words
    as digits, ordinals as ``<n>ord``); ``{M}`` stands for the month names, ``{W}`` for the weekday names, ``{Y}``
    for a year."""
    relative: dict[str, int]                  # phrase -> days before today
    weekdays: tuple[tuple[str, ...], ...]     # Monday..Sunday, spellings of each
    last: tuple[str, ...]                     # "last tuesday": strictly before today
    months: dict[str, int]
    month_intro: tuple[str, ...]              # "in october": words that make a bare month name a period (the
    #                                           first one is put before a month said bare: "since march")
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
    between: tuple[str, ...] = ()             # "from monday to wednesday", "monday through wednesday": groups
    #                                           a, b (days); tried in order
    month_compounds: tuple[str, ...] = ()     # "Oktoberverbrauch": the words after which a month starting a
    #                                           compound is that month
    parser_gate: tuple[str, ...] = ()         # words that let ovos_date_parser try the rest


def _ordinal_text(suffixes: dict[str, str]) -> Callable[[int], str]:
    """How ``said`` writes ordinal ``n``: the suffix of its last two digits, else of its last digit, else the
    default ("11th", "21st", "6.")."""
    return lambda n: f"{n}{suffixes.get(str(n % 100)) or suffixes.get(str(n % 10)) or suffixes['default']}"


def _lexicon(key: str) -> DateLexicon:
    """``locale/<lang>/dates.json`` as a lexicon: lists as tuples, each ordinal with each of its endings."""
    data = table("dates", key)
    fields = {f.name for f in dataclasses.fields(DateLexicon)} - {"ordinals", "ordinal_text"}
    values = {name: _tuples(data[name]) for name in fields if name in data}
    values["ordinals"] = {f"{stem}{end}": n for stem, n in data["ordinals"].items() for end in data["ordinal_endings"]}
    values["ordinal_text"] = _ordinal_text(data["ordinal_suffixes"])
    if isinstance(values.get("between"), str):
        values["between"] = (values["between"],)
    return DateLexicon(**values)


def _tuples(value: Any) -> Any:
    """JSON lists as the tuples a lexicon holds (a dict's values too: "weeks" -> ("day", 7))."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


#: the words of days and periods per primary language subtag, read from ``locale/<lang>/dates.json`` on first use
LEXICONS: Mapping[str, DateLexicon] = PerLanguage(_lexicon)
#: month names that, with an intro word and no year, are a month ("in may"; a bare "may" is a verb)
_FULL_MONTHS: Mapping[str, frozenset[str]] = PerLanguage(lambda key: frozenset(table("dates", key)["full_months"]))
#: month names that are a month when said alone ("Kompressor eins Oktober", "how did it do across october as a
#: whole" reads "october" too); English leaves out "may" and "march", which are words of their own
_BARE_MONTHS: Mapping[str, frozenset[str]] = PerLanguage(
    lambda key: frozenset(table("dates", key).get("bare_months", ())))

_YEAR = r"\d{4}|(?:19|20) \d{2}"  # "twenty twenty five" reaches here as "20 25"
_ISO = r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"  # 2025-11-05, in every language


def _key(lang: str) -> str:
    return primary(lang)


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


@cached
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
    if LEXICONS[key].month_compounds:  # "der Oktoberverbrauch" -> "der oktober verbrauch"
        text = _month_compound(key).sub(r"\1 ", text)
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


@cached
def _month_compound(key: str) -> re.Pattern[str]:
    months = "|".join(sorted(map(re.escape, _FULL_MONTHS[key]), key=len, reverse=True))
    heads = "|".join(sorted(map(re.escape, LEXICONS[key].month_compounds), key=len, reverse=True))
    return re.compile(rf"\b({months})(?=(?:{heads})\b)")


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
        if unit == "fortnight":  # "the last fortnight", "over the past fortnight": the last 14 days
            return _rolling(today, 1, unit), m.group(0)
        if m.groupdict().get("bare"):
            return _rolling(today, 1, unit), m.group(0)
        return _calendar(today, unit, "this" if m["this"] else "previous"), m.group(0)
    return None


def _rolling(today: date, n: int, unit: str) -> Period | None:
    """The last ``n`` units: their complete days before today, and today (which the engine leaves out, as it does
    for "this week"): "the last 30 days" asked on November 6th are October 7th to November 5th."""
    if n < 1:
        return None
    if unit in ("day", "week", "weekend", "fortnight"):
        return Period(today - timedelta(days=n * {"day": 1, "fortnight": 14}.get(unit, 7)), today)
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
        if not m["y"] and not (m["intro"] and m["m"] in _FULL_MONTHS[key]) and m["m"] not in _BARE_MONTHS[key]:
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


def _bare_day(said: str, key: str) -> re.Match[str] | None:
    """A day of the month said without its month ("the 5th", "dem 26."), an article before it at most."""
    bare = re.fullmatch(r"(?:(\w+) )?(\d{1,2})(?:ord)?", said.strip())
    return bare if bare and (bare.group(1) is None or bare.group(1) not in LEXICONS[key].months) else None


def _span(text: str, today: date, key: str) -> tuple[Period | None, str] | None:
    """ "since monday" (to today) and "from monday to wednesday": two days the grammar knows, as a period."""
    lx = LEXICONS[key]
    for m in (m for pattern in lx.between if (m := re.search(pattern, text))):
        a, b = _explicit_day(m["a"], today, key), _explicit_day(m["b"], today, key)
        if b and b[0] and (bare := _bare_day(m["a"], key)):
            # "vom 20. bis 26. Oktober", "from the 1st to the 10th of october": the first day in the second's month
            try:
                a = (b[0].replace(day=int(bare.group(2))),)
            except ValueError:
                a = None
        if a and a[0] and (bare := _bare_day(m["b"], key)):
            try:  # "between october 3rd and the 5th": the second day in the first's month
                b = (a[0].replace(day=int(bare.group(2))),)
            except ValueError:
                b = None
        if a and b and a[0] and b[0]:
            start, end = sorted((a[0], b[0]))
            return _clip(start, end, today), m.group(0)
    if lx.since and (m := re.search(lx.since, text)):
        if (a := _explicit_day(m["a"], today, key)) and a[0]:
            return _clip(a[0], today, today), m.group(0)
        if (p := _period_phrase(m["a"], today, key)) and p[0]:  # "since last week": from its first day
            return _clip(p[0].start, today, today), m.group(0)
        month = _month_or_year(f"{lx.month_intro[0]} {m['a']}", today, key)
        if month and month[0]:  # "since january", "seit märz": from the first of the last such month
            return _clip(month[0].start, today, today), m.group(0)
    return None


def _taken_back(utterance: str, lang: str) -> str | None:
    """The words said after the speaker took something back ("on tuesday, no, monday I mean"), or None."""
    from .parse import after_correction, tokens

    tail = after_correction(tokens(utterance, lang), lang, also="correction_day")
    return " ".join(tail) if tail else None


def resolve_day(utterance: str, today: date, lang: str = "en-us", strip: Sequence[str] = ()) -> DayResolution:
    """The day an utterance names, relative to the factory's local ``today``.

    ``strip``: the machine name as said (the slot), cut out first. ``said``: the words read as the day, normalised
    ("november 6th", "2 days ago"). No day words -> ``DayResolution(None, "none", None)``; the caller uses today.
    A day said after a correction ("on tuesday, no, monday I mean") is the one meant.
    """
    tail = _taken_back(utterance, lang)
    if tail is not None and (later := _resolve_day(tail, today, lang, strip)).said is not None:
        return later
    return _resolve_day(utterance, today, lang, strip)


def _resolve_day(utterance: str, today: date, lang: str, strip: Sequence[str]) -> DayResolution:
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
    "october 2025") or a year ("in 2025"). None when nothing is said or the period lies wholly after ``today``.
    A period said after a correction ("last week, no, last month") is the one meant."""
    tail = _taken_back(utterance, lang)
    if tail is not None and (later := _resolve_period(tail, today, lang, strip)) is not None:
        return later
    return _resolve_period(utterance, today, lang, strip)


def _resolve_period(utterance: str, today: date, lang: str, strip: Sequence[str]) -> Period | None:
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
