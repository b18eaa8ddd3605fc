"""One request parser: the whole utterance -> what is asked (op, SEU(s) or group, source, ranking, save).

Names are *spotted* in the whole utterance, never taken from an intent's free-text slot: every word n-gram is
tried against the plant's names (``SeuResolver``: numbers normalised, the machine kind fuzzy, unit numbers and
letters exact), longest first, so "how's hvac main's consumption", "boiler one's gas" and "compressor one
yesterday" all find their machine whatever stands around it. The op comes from cue phrases of the language
(``locale/<lang>/cue.<op>.voc``), checked in a fixed order (no cue: a name alone asks how that machine did). Dates and
periods are read later, by ``conversation``, from what is left once the names are cut out.

Language data lives in locale files (cue.*.voc, we.voc, everything.voc, filler.voc); this module holds none.
"""
from __future__ import annotations

import collections
import copy
import dataclasses
import re
import threading
from typing import Any, Sequence

from rapidfuzz import fuzz

from .language import cached, languages, locale_dir, primary
from .names import SeuResolver, _clean, name_tokens, spoken_source

#: ops whose cue phrases are read, in the order they win (see ``_op``)
CUE_OPS = ("compare", "ranking", "why", "action_plan", "plans", "opportunities", "savings", "health", "summary")
MAX_NGRAM = 6
_KIND_MATCH = 90.0
#: single-word cue phrases at least this long are found inside compounds ("Energiedatenbank", "Druckluftleckagen")
_COMPOUND_CUE = 6


@dataclasses.dataclass
class Spotted:
    """A name found in the utterance: the words said and what they resolved to."""

    words: str
    start: int
    end: int
    seu_name: str | None            # a single SEU
    candidates: tuple[str, ...]      # several fit ("the compressor")
    energy_source: str | None


@dataclasses.dataclass
class Parsed:
    op: str | None
    names: list[Spotted]
    machine_type: str | None
    factory: str | None
    plural_type: bool                # "the compressors", "all pumps": a group, not one machine
    everything: bool                 # "we", "the plant", "all machines"
    energy_source: str | None
    ranking: dict[str, Any] | None
    save: bool
    rest: str                        # the utterance without the names (for dates and periods)
    plant_word: bool                 # a name, type or factory of this plant was said
    cue: bool                        # an op's cue phrase was said
    domain: bool = False             # a strong word of the domain was said (``domain_cue.voc``: "kilowatt hours")
    foreign: bool = False            # words of another skill's question (``not_ours.voc``: "the weather", "spell")
    scoped: bool = False             # the op's cue said of us or of a time: "how much did we save", "top three
    #                                  this week", "is the database ok" (health's own words)
    unknown: str = ""                # a unit of this plant's kind that it does not have ("compressor 3"), as said

    @property
    def ours(self) -> bool:
        """Whether the utterance is this skill's to answer: an op is read, a plant word or a strong domain word was
        said, and nothing marks it as another skill's. "how is my team doing" and "summary of the news" have no
        plant word; "what time is it in munich" names a place, not a plant; "what is a heat pump" asks about a
        kind of machine, not one of ours."""
        return self.op is not None and (self.plant_word or self.domain or self.scoped) and not self.foreign

    @property
    def seu(self) -> Spotted | None:
        """The machine asked about: the first name that fits one SEU, else the first that fits several."""
        return next((s for s in self.names if s.seu_name), None) or (self.names[0] if self.names else None)


def _voc(name: str, lang: str) -> list[str]:
    from .speech import _voc as load

    return load(name, lang)


@cached
def _contractions(lang: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """``locale/<lang>/contraction.value``: "expanded,said" lines ("an dem,am"), as patterns to fold back."""
    from .speech import _resources, read_resource_file

    try:
        path = _resources().find("contraction", ".value", lang)
        lines = read_resource_file(path) if path else []
    except (OSError, ValueError):
        lines = []
    pairs = [[w.strip().lower() for w in line.split(",")] for line in lines]
    return tuple((re.compile(rf"(?<!\w){re.escape(a)}(?!\w)", re.IGNORECASE), b)
                 for a, b in (p for p in pairs if len(p) == 2 and all(p)))


def said(utterance: str, lang: str) -> str:
    """The utterance with what a device's normaliser wrote out folded back as it is said ("an dem meisten" ->
    "am meisten", "bei dem Kessel" -> "beim Kessel"): cue phrases and dates are read in the said form."""
    for pattern, contracted in _contractions(lang):
        utterance = pattern.sub(contracted, utterance)
    return utterance


def without_greeting(utterance: str, lang: str) -> str:
    """The utterance without a greeting before the question ("top of the morning, how's the plant", "moin, wie
    lief ..."): its words are no cue ("top") and no time ("morning")."""
    text = utterance or ""
    for phrase in sorted(_voc("greeting", lang), key=len, reverse=True):
        found = re.match(rf"\s*{re.escape(phrase)}(?!\w)[\s,.!;:-]*", text, re.IGNORECASE)
        if found and found.end() < len(text):
            return text[found.end():]
    return text


def tokens(utterance: str, lang: str) -> list[str]:
    """Lower case, possessives off ("main's" -> main, "compressors'" -> compressors), punctuation out,
    number words to digits."""
    text = re.sub(r"(?<=\w)['’]s\b", "", said(utterance or "", lang).lower())
    text = re.sub(r"(?<=s)['’](?=\s|$)", "", text)
    text = text.replace("'", " ").replace("’", " ")
    return _clean(text, lang).split()


@cached
def _cue_phrases(name: str, lang: str) -> tuple[str, ...]:
    """A locale list of phrases, each read as utterances are read (``tokens``)."""
    return tuple(p for p in (" ".join(tokens(line, lang)) for line in _voc(name, lang)) if p)


def cue(words: Sequence[str], name: str, lang: str) -> bool:
    """Whether a phrase of ``locale/<lang>/<name>.voc`` is said in ``words``."""
    return has_cue(words, _cue_phrases(name, lang))


def has_cue(words: Sequence[str], phrases: Sequence[str]) -> bool:
    text = f" {' '.join(words)} "
    for phrase in phrases:
        cleaned = phrase
        if not cleaned:
            continue
        if f" {cleaned} " in text:
            return True
        if " " not in cleaned and len(cleaned) >= _COMPOUND_CUE and any(cleaned in w for w in words):
            return True
    return False


def _kinds(resolver: SeuResolver, name: str) -> set[str]:
    """The words of a name that say what kind of machine it is: its first word and the words of its machine type
    ("hydraulic" and "pump" of Hydraulic-Pump-1)."""
    kinds = {name_tokens(name)[0]}
    for ref in getattr(resolver, "_seus", ()):
        if ref.name == name and ref.machine_type:
            kinds |= set(name_tokens(ref.machine_type.replace("_", " ")))
    return kinds & set(name_tokens(name)) | {name_tokens(name)[0]}


def _kind_said(span: Sequence[str], name: str, resolver: SeuResolver, lang: str) -> bool:
    """A partial name counts only when its kind was said: "main" alone is not HVAC-Main, "the boiler" is
    Boiler-1, "pump one" is Hydraulic-Pump-1, "Kessel eins" is Boiler-1 (the resolver's aliases apply)."""
    span = resolver._spoken_tokens(" ".join(span), lang)[0] or list(span)
    joined = "".join(span)
    for kind in _kinds(resolver, name):
        if kind in joined or any(len(t) >= 4 and fuzz.ratio(t, kind) >= _KIND_MATCH for t in span):
            return True
    return False


def _nameish(word: str, lang: str, resolver: SeuResolver) -> bool:
    """Whether ``word`` may be (part of) a name of this plant: a name token, or a word the resolver reads as one
    (an alias, a declined or compound form, a near spelling of a kind). Cached per resolver."""
    cache = resolver.__dict__.setdefault("_nameish_cache", {})
    key = (word, lang)
    if key not in cache:
        vocab = getattr(resolver, "_vocab", frozenset())
        from .names import ALIASES, _lang, locale_aliases

        alias_words = {w for k in {**ALIASES[_lang(lang)], **locale_aliases(lang)} for w in k.split()}
        said = resolver._spoken_tokens(word, lang)[0]
        cache[key] = word in alias_words or resolver.compound_part(word, lang) or bool(said) and all(
            t in vocab or t.isdigit() or len(t) == 1 or t in _name_fillers(lang) or any(t in v for v in vocab) or
            len(t) >= 4 and any(len(v) >= 4 and fuzz.ratio(t, v) >= 80.0 for v in vocab) for t in said)
    return cache[key]


def _name_fillers(lang: str) -> frozenset[str]:
    from .names import FILLERS, _lang

    return FILLERS[_lang(lang)]


def _source_positions(words: list[str], lang: str) -> set[int]:
    """Positions of source words ("compressed air", "gas"): never part of a name."""
    out: set[int] = set()
    for phrase in sorted(_source_phrases(lang), key=len, reverse=True):
        ph = phrase.split()
        for i in range(len(words) - len(ph) + 1):
            if words[i:i + len(ph)] == ph:
                out |= set(range(i, i + len(ph)))
    return out


def _source_phrases(lang: str) -> list[str]:
    from .names import SOURCE_WORDS, _lang

    return list(SOURCE_WORDS[_lang(lang)])


def spot_names(words: list[str], lang: str, resolver: SeuResolver, fillers: set[str]) -> list[Spotted]:
    """Non-overlapping names in ``words``, longest n-gram first, in the order said. A plural type word ("the
    hydraulic pumps") is a group, not a name."""
    vocab = getattr(resolver, "_vocab", frozenset())
    taken: set[int] = {i for i in _source_positions(words, lang) if words[i] not in vocab}
    # only spans whose every word may belong to a name (or is a filler, a number, a letter) can fit one: the
    # resolver is asked about those alone
    usable = [w in fillers or w.isdigit() or len(w) == 1 or _nameish(w, lang, resolver) for w in words]
    found: list[Spotted] = []
    n_max = min(MAX_NGRAM, len(words))
    for n in range(n_max, 0, -1):
        for i in range(0, len(words) - n + 1):
            span = words[i:i + n]
            spelled = len(span) > 1 and len(span[0]) == 1 and len(span[1]) == 1  # "a h u 1"
            if taken & set(range(i, i + n)) or span[0] in fillers and not spelled \
                    or span[-1] in fillers and len(span[-1]) > 1 or span[0].isdigit() or not all(usable[i:i + n]):  # a unit number belongs to the name before it: "one and compressor eu"
                continue
            result = resolver.resolve(" ".join(span), lang)
            if result.status != "unknown" and _plural_type(span, resolver, lang):
                found.append(Spotted(" ".join(span), i, i + n, None, result.candidates or (result.seu_name,), None))
                taken |= set(range(i, i + n))
            elif result.status == "match" and _kind_said(span, result.seu_name or "", resolver, lang):
                found.append(Spotted(" ".join(span), i, i + n, result.seu_name, (), result.energy_source))
                taken |= set(range(i, i + n))
            elif result.status == "ambiguous":
                after = words[i + n] if i + n < len(words) else ""
                if after.isdigit() or len(after) == 1 and after.isalpha() and after not in fillers:
                    continue  # "compressor 3": a unit that does not exist, never a choice among the others
                fitting = tuple(c for c in result.candidates if _kind_said(span, c, resolver, lang))
                if fitting:
                    one = fitting[0] if len(fitting) == 1 else None
                    found.append(Spotted(" ".join(span), i, i + n, one, () if one else fitting,
                                         result.energy_source))
                    taken |= set(range(i, i + n))
    return sorted(found, key=lambda s: s.start)


def _when_said(text: str, lang: str) -> bool:
    """Whether a day or a period is said ("yesterday", "this week", "since january")."""
    import datetime as dt

    from .dates import resolve_day, resolve_period

    probe = dt.date(2025, 6, 15)  # any day: only whether a date is said counts, not which
    return resolve_day(text, probe, lang).day is not None or resolve_period(text, probe, lang) is not None


def _city_at_a_time(factory: str, seus: Sequence[Any], when: Sequence[str], words: Sequence[str], source: str | None,
                    lang: str) -> bool:
    """The city of one of our factories asked about at a time, as a plant: "how did Munich do last week", "wie lief
    es in Augsburg gestern", "how much power did Munich use this week". A country or state is not enough ("how much
    electricity did Germany use last year"), nor a city without a time or a "how did" ("events in Munich this
    weekend"); sports, weather and the clock are marked by their own words (``not_ours.voc``)."""
    if not when:
        return False
    said = factory.lower()
    cities = {(getattr(s, "location", None) or "").split(",")[0].strip().lower() for s in seus}
    if not any(c and (c == said or c.startswith(said + " ")) for c in cities):
        return False
    return cue(words, "how_did", lang) or source is not None


def _ranks_ours(words: Sequence[str], when: Sequence[str], seus: Sequence[Any], lang: str) -> bool:
    """A ranking at a site named by its city alone ranks our machines only in our words: "top five in Munich this
    week", "the biggest users in Munich", not "the top five restaurants in Munich this week"."""
    from .speech import _place_forms

    places = {w.lower() for s in seus for part in (getattr(s, "location", None) or "", getattr(s, "factory", None) or "")
              for w in part.replace(",", " ").split()}
    known = {w for name in ("cue.ranking", "rank.least", "rank.deviation", "rank.all", "filler", "article", "we",
                            "question_start", "everything", "unit_noun", "generic_place", "date_preposition",
                            "domain_cue", "consumption_verb")
             for p in _cue_phrases(name, lang) for w in p.split()} | {w for p in _source_phrases(lang) for w in p.split()}
    return all(w in known or w in when or w.isdigit() or _place_forms(w, lang) & places for w in words)


def _source_noun(words: Sequence[str], lang: str) -> bool:
    """A source word right before a saving or waste word ("any gas savings", "electricity waste", "Gas
    Einsparungen" as speech-to-text splits the compound): the plant's energy, not a price or a fact."""
    text = f" {' '.join(words)} "
    return any(f" {source} {noun} " in text for source in _source_phrases(lang) for noun in _cue_phrases("source_noun", lang))


def _plans_by_status(words: Sequence[str], lang: str) -> bool:
    """Plans asked about by their status, in nothing but those words: "how many plans are still open", "Wie viele
    Pläne sind noch offen?" ("how many plans are open on netflix" has words of its own)."""
    if not (cue(words, "plan_noun", lang) and cue(words, "plan_status", lang)):
        return False
    known = {w for name in ("cue.plans", "plan_noun", "plan_status", "question_start", "filler", "article", "we",
                            "politeness")
             for p in _cue_phrases(name, lang) for w in p.split()}
    return all(w in known for w in words)


def _time_words(utterance: str, lang: str, names: Sequence[str]) -> tuple[str, ...]:
    """The words of the day or period said in the utterance (the names cut out), as ``tokens`` reads them: "on
    10/20" -> {"10", "20"}, "letzte Woche" -> {"letzte", "woche"}."""
    import datetime as dt

    from .dates import resolve_day

    said = resolve_day(utterance, dt.date(2025, 6, 15), lang, strip=list(names)).said
    return tuple(tokens(said, lang)) if said else ()


def _terse(words: Sequence[str], op: str | None, when: Sequence[str], lang: str) -> bool:
    """A telegraphic question made of nothing but this skill's words and a time: "top three this week", "Gas letzte
    Woche". The op's own cue or a source word must be said, and a day or period; every other word is a number, a
    filler or "we". A word of any other kind ("top five songs this week", "news today") leaves it to the others."""
    if op not in ("summary", "ranking", "savings", "opportunities") or not words:
        return False
    if not when:
        return False
    text = f" {' '.join(words)} "
    said = {w for p in _cue_phrases(f"cue.{op}", lang) if f" {p} " in text for w in p.split()}
    sources = {w for p in _source_phrases(lang) if f" {p} " in text for w in p.split()}
    if not (said or sources):
        return False
    glue = {w for name in ("filler", "article", "we", "question_start", "politeness") for p in _cue_phrases(name, lang)
            for w in p.split()}
    return all(w in said or w in sources or w in when or w in glue or w.isdigit() for w in words)


def _general_sense(words: Sequence[str], names: list[Spotted], resolver: SeuResolver, lang: str) -> list[Spotted]:
    """Names said in a general sense: a kind without its unit after an indefinite article ("a boiler", "ein
    Kompressor") or right after a definition question ("what is injection molding", "Was ist Spritzguss")."""
    indefinite = set(_cue_phrases("indefinite", lang))
    openers = _cue_phrases("definition", lang)
    out = []
    named = {i for s in names for i in range(s.start, s.end)}
    for spot in names:
        said = spot.words.split()
        if any(w.isdigit() or len(w) == 1 for w in said) or resolver.resolve_machine_type(spot.words, lang) is None:
            continue  # a unit number or letter, or more than a kind ("hvac main"): one of ours
        if spot.start - 1 in named:
            continue  # "compare AHU one and AHU north": the "one" ("eins" reads as "ein") is the name before's
        before = list(words[:spot.start])
        kind = resolver.resolve_machine_type(spot.words, lang)
        if before and _indefinite_before(before, indefinite, lang) and not _is_plural(spot.words, kind, lang):
            out.append(spot)
        elif " ".join(before) in openers or (len(before) > 1 and " ".join(before[:-1]) in openers
                                             and before[-1] in indefinite):
            out.append(spot)
    return out


def _indefinite_before(before: Sequence[str], indefinite: set[str], lang: str) -> bool:
    """An indefinite article at most three words before a kind (one, not several), with only describing words
    between ("a new air compressor", "ein neuer Kompressor"), not a phrase of its own ("a list of compressors", "a
    summary for the boiler", "eine Zusammenfassung aller Kühlanlagen")."""
    glue = {w for name in ("date_preposition", "article") for p in _cue_phrases(name, lang) for w in p.split()}
    for back in range(1, min(3, len(before)) + 1):
        if before[-back] in indefinite:
            return not any(w in glue or w.isdigit() for w in before[len(before) - back + 1:])
    return False


def _shared_type(candidates: Sequence[str], resolver: SeuResolver) -> str | None:
    """The machine type all ``candidates`` have, if one ("chiller units" fits Chiller-1 and Chiller-DE-2)."""
    types = {ref.machine_type for ref in getattr(resolver, "_seus", ()) if ref.name in candidates}
    return types.pop() if len(types) == 1 and None not in types else None


def _plural_type(span: Sequence[str], resolver: SeuResolver, lang: str) -> bool:
    if span[-1] in getattr(resolver, "_vocab", ()) and resolver.resolve_machine_type(span[-1], lang) is None:
        return False  # ends in a word of a name that is no kind ("klimaanlage main"): a name
    phrase = " ".join(span)
    mtype = resolver.resolve_machine_type(phrase, lang)
    return mtype is not None and _is_plural(phrase, mtype, lang)


def _rank_count(words: Sequence[str], lang: str, when: Sequence[str]) -> int | None:
    """How many a ranking asks for: the number next to its cue ("top 5", "the 3 biggest", "what are the two
    biggest", "welche zwei Maschinen"), never one of the day or period ("on 10/20", "the last 30 days")."""
    timed: set[int] = set()  # the positions of the time phrase, found from its end ("top 10 on 10/20")
    digits = [w for w in tokens(" ".join(when), lang) if w.isdigit()] if when else []
    for i in range(len(words) - 1, -1, -1):
        if digits and words[i:i + len(digits)] == digits:
            timed = set(range(i, i + len(digits)))
            break
    taken_back = after_correction(words, lang)  # "the top three, actually make it five"
    if taken_back:
        start = len(words) - len(taken_back)
        said_last = [int(w) for i, w in enumerate(words) if i >= start and w.isdigit() and 0 < int(w) <= 100
                     and i not in timed]
        if said_last and any(w.isdigit() and i not in timed for i, w in enumerate(words[:start])):
            return said_last[0]
    cues = [i for i, w in enumerate(words) if any(w in p.split() for p in _cue_phrases("cue.ranking", lang))]
    near = [(abs(i - c), i) for i, w in enumerate(words) if w.isdigit() and 0 < int(w) <= 100 and i not in timed
            for c in cues if abs(i - c) <= 3]
    if near:
        return int(words[min(near)[1]])
    return _number_near([w for i, w in enumerate(words[:6]) if i not in timed])  # "which 2 machines used the most"


def _number_near(words: Sequence[str]) -> int | None:
    for w in words:
        if w.isdigit() and 0 < int(w) <= 100:
            return int(w)
    return None


#: the latest readings: one question is read up to three times (the fallback stage's can_answer, its handler, the
#: conversation's request); on a plant of 500 SEUs a reading takes milliseconds
_READ: collections.OrderedDict[tuple, Parsed] = collections.OrderedDict()
_READ_LOCK = threading.Lock()
_READ_KEEP = 64


def parse(utterance: str, lang: str, resolver: SeuResolver, seus: Sequence[Any]) -> Parsed:
    """What the utterance asks (the same reading again, a copy, for the same utterance, resolver and plant)."""
    key = (utterance, lang, getattr(resolver, "serial", id(resolver)), id(seus), len(seus))
    with _READ_LOCK:
        kept = _READ.get(key)
        if kept is not None:
            _READ.move_to_end(key)
            return copy.deepcopy(kept)
    parsed = _parse(utterance, lang, resolver, seus)
    with _READ_LOCK:
        _READ[key] = copy.deepcopy(parsed)
        while len(_READ) > _READ_KEEP:
            _READ.popitem(last=False)
    return parsed


def _parse(utterance: str, lang: str, resolver: SeuResolver, seus: Sequence[Any]) -> Parsed:
    from . import speech

    words = tokens(without_greeting(utterance, lang), lang)
    fillers = set(_voc("filler", lang)) | {"the", "a", "an"}
    names = _in_idioms(_corrected(spot_names(words, lang, resolver, fillers), words, lang), words, lang)
    general = _general_sense(words, names, resolver, lang)
    names = [s for s in names if s not in general]
    every = set(_cue_phrases("all", lang))
    for k, spot in enumerate(names):  # "all boilers", "alle Kessel": the kind, even when the plant has one
        if spot.start > 0 and words[spot.start - 1] in every and \
                (mtype := resolver.resolve_machine_type(spot.words, lang)) is not None:
            names[k] = Spotted(spot.words, spot.start, spot.end, None, resolver.names_of_type(mtype) and
                               tuple(resolver.names_of_type(mtype)) or (), None)
    used = {i for s in names for i in range(s.start, s.end)}
    rest_words = [w for i, w in enumerate(words) if i not in used]
    rest = " ".join(rest_words)
    # a type word that fits several machines is a group when plural or when the sentence is about a group
    machine_type = None
    plural_type = False
    unknown = ""  # "compressor 3" where the plant has compressors but no third one
    for spot in list(names):
        if spot.seu_name is None:
            mtype = resolver.resolve_machine_type(spot.words, lang) or _shared_type(spot.candidates, resolver)
            if mtype is not None:
                machine_type = mtype
                plural_type = _is_plural(spot.words, mtype, lang) or words[spot.start - 1:spot.start] in (
                    [w] for w in every) or words[spot.end:spot.end + 1] in (  # "die HVAC-Anlagen", "hvac units"
                    [w] for w in _cue_phrases("unit_noun", lang))
    if machine_type is None:
        machine_type, plural_type = _compound_type(rest_words, lang)
        machine_type = machine_type if plural_type else None  # "Wärmepumpe" is a kind of thing, not our pumps
    if machine_type is None:
        for n in (3, 2, 1):
            for i in range(len(rest_words) - n + 1):
                phrase = " ".join(rest_words[i:i + n])
                after = rest_words[i + n] if i + n < len(rest_words) else ""
                if any(w.isdigit() or len(w) == 1 for w in rest_words[i:i + n]):
                    continue
                if len(phrase) >= 4 and (mtype := resolver.resolve_machine_type(phrase, lang)) is not None:
                    plural = _is_plural(phrase, mtype, lang)
                    if not plural and (after.isdigit() or len(after) == 1 and after.isalpha()):
                        # "compressor 3": a unit that does not exist, not the compressors; a machine asked about
                        # by a name of this plant's kind, answered with the names there are
                        if resolver.names_of_type(mtype) and not unknown:
                            kind = rest_words[i:i + n]
                            while len(kind) > 1 and resolver.resolve_machine_type(" ".join(kind[1:]), lang) == mtype:
                                kind = kind[1:]  # "did compressor" -> "compressor"
                            unknown = f"{' '.join(kind)} {after}"
                        continue
                    machine_type, plural_type = mtype, plural
                    break
            if machine_type:
                break
    when = _time_words(without_greeting(utterance, lang), lang, [s.words for s in names])
    _, factory = speech.resolve_group(" ".join(w for w in rest_words if w not in ("all", "alle")), resolver, seus,
                                      lang) if rest_words else (None, None)
    everything = cue(rest_words, "we", lang) or cue(rest_words, "everything", lang)
    taken_back = after_correction(words, lang)  # "electricity, no wait, gas": the source said last
    source = (taken_back and spoken_source(" ".join(taken_back), lang)) or spoken_source(" ".join(words), lang) or \
        next((s.energy_source for s in names if s.energy_source), None)
    cues = {op: cue(words, f"cue.{op}", lang) for op in CUE_OPS}
    # "what's driving the consumption", "was treibt den Verbrauch hoch" ask why; "was treibt X heute so", "was hat X
    # so getrieben" ask what a machine has been doing: a verb of driving asks why only with what it drives
    cues["why"] = (cues["why"] or cue(words, "why_verb", lang) and cue(words, "why_object", lang)) and \
        not cue(words, "not_why", lang)  # "was hat X an Kosten verursacht": what it cost, not why
    # "pump one's plan, what is it": a plan noun right after a machine's name asks for its plan
    plan_nouns = {w for p in _cue_phrases("plan_noun", lang) for w in p.split()}
    cues["plans"] = cues["plans"] or any(s.end < len(words) and words[s.end] in plan_nouns for s in names)
    saved = _save_said(words, lang)
    cues["opportunities"] = cues["opportunities"] or saved is None and _could_save(words, lang)  # not "could you
    # save it"
    save = saved == "plan" or saved == "pronoun" and not cues["opportunities"]
    singles = [s for s in names if s.seu_name is not None]
    distinct = list(dict.fromkeys(s.seu_name for s in singles))
    unknown = "" if names or machine_type else unknown
    cues["advice"] = cue(words, "advice", lang)
    cues["realised"] = _realised(words, lang)
    op = _op(cues, names, distinct, machine_type, plural_type, factory, everything, save, source, bool(unknown))
    ranking = _ranking(words, lang, when) if op == "ranking" else None
    if op in ("summary", "ranking") and machine_type is not None:
        names = [s for s in names if s.seu_name is not None]
    if machine_type is not None and not resolver.names_of_type(machine_type):
        machine_type = None  # a kind of machine this plant does not have: "what does a compressor do"
    domain = cue(words, "domain_cue", lang) or _source_noun(words, lang)
    # a place alone is the weather's or the clock's ("what time is it in munich"): a factory needs a plant word
    site = factory is not None and (cue(words, "generic_place", lang) or domain or bool(names) or
                                    machine_type is not None or any(cues[o] for o in _SITE_OPS) or
                                    _city_at_a_time(factory, seus, when, words, source, lang))
    if site and op == "ranking" and not (names or machine_type or domain or cue(words, "generic_place", lang)):
        site = _ranks_ours(words, when, seus, lang)  # "top five restaurants in Munich": a ranking of the city's
    plant_word = bool(names) or machine_type is not None or site or bool(unknown)
    we = cue(words, "we", lang)
    # the price of a thing, not what we paid: "how much does electricity cost in germany", "Was kostet Erdgas"
    price = cue(words, "price", lang) and not names and not we and machine_type is None
    # a why about no machine, site or "we" of ours is a question about the world: "why is electricity so
    # expensive", "where does electricity come from"
    worldly = cues["why"] and op == "summary" and not (plant_word or we or everything)
    # "what's a relational database", "was ist eine Datenbank": a definition of a thing, not ours to look up
    defined = not names and _definition_of_a_kind(words, lang)
    foreign = cue(_without_phrases(words, "filler", lang), "not_ours", lang) or bool(general) or price or worldly or \
        defined or _control(words, lang) or _work_of_someone(words, when, lang)
    # no machine, type, site, "we" or "the plant" said: a source word alone (no summary asked) or an op's words said
    # of a time alone claim only a question made of nothing but our words: "what's the power consumption of a
    # typical fridge", "wie viel Strom braucht ein Föhn", "any tips for saving money on groceries this month" ask
    # about the world
    bare = not (plant_word or we or everything or foreign)
    if bare and (op == "summary" and not (cues["summary"] and domain) or not domain and op == "savings"):
        foreign = not _only_our_words(words, when, lang)
    op_cue = op is not None and (cues.get(op, False) or op == "savings" and cues["realised"])
    # an op's own words, said of us ("how much did we save", "how many plans do we have") or of a time ("the
    # summary for yesterday"); a ranking or a plan needs "we": "top five movies this year", "the plan for today"
    # are not ours. Health's words are ours alone ("is the database ok").
    scoped = op_cue and op != "action_plan" and (
        we or op == "health" or op not in ("ranking", "plans") and (bool(when) or _when_said(rest, lang))) or \
        op == "summary" and we and (bool(when) or _when_said(rest, lang)) or \
        op == "plans" and _plans_by_status(words, lang) or \
        op == "summary" and we and source is not None and cue(words, "consumption_verb", lang)
    scoped = scoped or _terse(words, op, when, lang) or \
        op == "opportunities" and op_cue and cue(words, "off_hours", lang)  # "anything running at night that shouldn't"
    return Parsed(op, names, machine_type, factory, plural_type, everything, source, ranking, save, rest,
                  plant_word, any(cues.values()), domain, foreign, scoped, unknown)


@cached
def _our_words(lang: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """Every word of this skill's vocabularies in ``lang`` (cue, glue and domain words; not the words that mark
    another skill's question) and the source words; and, where the language writes compounds as one word, the long
    ones a compound may end in ("Werksübersicht")."""
    from .names import _lang, compounds

    folder = languages().get(primary(lang))
    names = sorted(f.stem for f in (locale_dir() / folder).glob("*.voc")) if folder else []
    skip = {"not_ours", "price", "control_verb", "control_particle", "definition", "no", "yes"}
    words = {w for name in names if name not in skip for p in _cue_phrases(name, lang) for w in p.split()}
    words |= {w for p in _source_phrases(lang) for w in p.split()}
    heads = tuple(w for w in words if len(w) >= _COMPOUND_CUE) if compounds(_lang(lang)) else ()
    return frozenset(words), heads


def _only_our_words(words: Sequence[str], when: Sequence[str], lang: str) -> bool:
    """Whether every word is ours, a time's, a number or a compound ending in a long word of ours."""
    ours, heads = _our_words(lang)
    return all(w in ours or w in when or w.isdigit() or w.endswith(heads) for w in words)


def _work_of_someone(words: Sequence[str], when: Sequence[str], lang: str) -> bool:
    """"das Werk von Richard Strauss", "the works of Mozart": a plant word as someone's work (``work_of.voc``),
    followed by a word that is not a time's or ours ("das Werk von gestern", "im Werk von schlecht nach gut
    sortieren" are ours)."""
    ours, _ = _our_words(lang)
    return any(end < len(words) and not (words[end] in when or words[end] in ours or words[end].isdigit())
               for _, end in phrase_spans(words, ("work_of",), lang))


def _without_phrases(words: Sequence[str], name: str, lang: str) -> list[str]:
    """``words`` without the phrases of several words of ``locale/<lang>/<name>.voc`` ("ich mein", "i mean"): their
    words say nothing on their own ("mein" of "ich mein" is no "my")."""
    text = f" {' '.join(words)} "
    for phrase in sorted((p for p in _cue_phrases(name, lang) if " " in p), key=len, reverse=True):
        text = text.replace(f" {phrase} ", " ")
    return text.split()


def _control(words: Sequence[str], lang: str) -> bool:
    """A command to a device, not a question: "turn the fan off", "Mach den Ventilator an", "schalte Kessel eins
    aus" (a control verb first, its particle last). This skill reads energy data; switching belongs to others."""
    glue = {w for name in ("filler", "politeness") for p in _cue_phrases(name, lang) for w in p.split()}
    said = [w for w in words if w not in glue]
    return len(said) >= 2 and said[0] in set(_cue_phrases("control_verb", lang)) and \
        said[-1] in set(_cue_phrases("control_particle", lang)) and not cue(words, "plan_noun", lang)  # "mach einen
    # Plan für X und speicher ihn ab" makes a plan: the particle is the save verb's


def _realised(words: Sequence[str], lang: str) -> bool:
    """Savings already made are asked: "did the fix on X pay off", "what did the improvements on X save in
    october", "Sparen wir heuer was ein", "was haben die Verbesserungen gebracht" (not "where could we save")."""
    if cue(words, "realised", lang):
        return True
    aux = {w for p in _cue_phrases("realised_aux", lang) for w in p.split()}
    verbs = set(_cue_phrases("realised_verb", lang))
    first = next((i for i, w in enumerate(words) if w in aux), None)
    return first is not None and any(w in verbs for w in words[first + 1:])


def _definition_of_a_kind(words: Sequence[str], lang: str) -> bool:
    """A definition question about a kind of thing: "what's a relational database", "was ist eine Datenbank" (a
    kind in at most three words; "what's a good way to cut our energy use" asks for advice)."""
    text = " ".join(words)
    indefinite = set(_cue_phrases("indefinite", lang))
    for opener in _cue_phrases("definition", lang):
        if text.startswith(opener + " "):
            rest = text[len(opener) + 1:].split()
            return 1 < len(rest) <= 4 and rest[0] in indefinite
    return False


def _save_said(words: Sequence[str], lang: str) -> str | None:
    """Whether saving a plan is asked, and what is saved: "plan" for a plan said within two words after a save word
    ("save a plan for X", "save an improvement plan", "file the measures"), "pronoun" for "it" ("speichere ihn",
    "save that"), None otherwise. Saving energy is not ("how much did pump one save", "did the fix save anything"),
    nor a plan kept somewhere ("is there a plan on file")."""
    verbs = set(_cue_phrases("save_cue", lang))
    plans = {w for p in _cue_phrases("plan_noun", lang) for w in p.split()}
    pronouns = {w for p in _cue_phrases("save_object", lang) for w in p.split()}
    skip = {w for name in ("article", "politeness", "indefinite") for p in _cue_phrases(name, lang) for w in p.split()}
    for i, word in enumerate(words):
        if word not in verbs:
            continue
        after = [w for w in words[i + 1:i + 5] if w not in skip]
        if words[i + 1:i + 2] and words[i + 1] in pronouns or after[:1] and after[0] in pronouns:  # "speicher den"
            return "plan" if any(w in plans for w in after[1:3]) else "pronoun"  # "save the improvement plan"
        if any(w in plans for w in after[:2]):
            return "plan"
    return None


def _could_save(words: Sequence[str], lang: str) -> bool:
    """Savings still to be had, asked with a modal and a verb of cutting: "where do you reckon we could cut energy",
    "where's the fat we could trim", "wo könnten wir einsparen" (the verb within three words after the modal)."""
    modals = set(_cue_phrases("modal", lang))
    verbs = set(_cue_phrases("saving_verb", lang))
    return any(w in modals and any(v in verbs for v in words[i + 1:i + 4]) for i, w in enumerate(words))


def phrase_spans(words: Sequence[str], names: Sequence[str], lang: str) -> list[tuple[int, int]]:
    """(start, end) of every place in ``words`` where a phrase of ``locale/<lang>/<name>.voc`` (any of ``names``)
    is said, word for word."""
    text = list(words)
    spans = []
    for name in names:
        for phrase in _cue_phrases(name, lang):
            part = phrase.split()
            spans += [(i, i + len(part)) for i in range(len(text) - len(part) + 1) if part and text[i:i + len(part)] == part]
    return spans


def _in_idioms(names: list[Spotted], words: Sequence[str], lang: str) -> list[Spotted]:
    """The names without those said inside an idiom (``idiom.voc``): the "line" of "back in line with its
    baseline" is no Paint-Line, the "Reihe" of "aus der Reihe" no machine."""
    inside = {i for start, end in phrase_spans(words, ("idiom",), lang) for i in range(start, end)}
    return [s for s in names if not set(range(s.start, s.end)) <= inside]


def after_correction(words: Sequence[str], lang: str, also: str | None = None) -> list[str] | None:
    """The words after the last correction word ("no wait", "nein, ich mein"), or None when none was said ("rather
    than", "eher als" compare, they take nothing back). ``also``: a list of more correction words for one kind of
    value (``correction_day.voc``: a bare "no" between two days takes the first back, between two sources it may not:
    "electricity when there was no gas")."""
    text = list(words)
    contrast = {"than", "als"}
    marks = [end for _, end in phrase_spans(text, ("correction", *((also,) if also else ())), lang)
             if end == len(text) or text[end] not in contrast]
    if marks and max(marks) == len(text) and len(marks) > 1:  # "on tuesday, no, monday I mean": after the one before
        return text[sorted(marks)[-2]:max(marks)]
    return text[max(marks):] if marks else None


def _corrected(names: list[Spotted], words: Sequence[str], lang: str) -> list[Spotted]:
    """The names a speaker took back: "how has conveyor a, no sorry, injection moulding 1 been running", "wie
    Extruder-B, nein Moment, wie Presse 2 gelaufen ist": a correction word between two names drops the names before
    it. "compare X and Y" has none."""
    if len(names) < 2:
        return names
    for mark in sorted((start for start, _ in phrase_spans(words, ("correction",), lang)), reverse=True):
        before = [s for s in names if s.end <= mark]
        after = [s for s in names if s.start > mark]
        if before and after:
            return after
    return names


def _compound_type(words: Sequence[str], lang: str) -> tuple[str | None, bool]:
    """A machine type said as the last part of a compound ("Druckluftkompressoren", "Abluftpumpen")."""
    from .names import MACHINE_TYPE_WORDS, _lang, compounds

    key = _lang(lang)
    if not compounds(key):
        return None, False
    for word in words:
        for mtype, forms in MACHINE_TYPE_WORDS[key].items():
            for form in sorted(forms, key=len, reverse=True):
                if " " not in form and len(form) >= 5 and word.endswith(form) and len(word) - len(form) >= 3:
                    return mtype, _is_plural(form, mtype, lang)
    return None, False


def _factory_name(said: str | None, seus: Sequence[Any]) -> str | None:
    """A place said ("Munich", "San Jose") as the name of the one factory there; a factory's name as it is."""
    if said is None:
        return None
    names = {getattr(s, "factory", None) for s in seus} - {None}
    if said in names:
        return said
    there = {s.factory for s in seus if said.lower() in (getattr(s, "location", None) or "").lower()}
    return there.pop() if len(there) == 1 else said


def _is_plural(phrase: str, mtype: str, lang: str) -> bool:
    from .names import MACHINE_TYPE_WORDS, PLURAL_MARKERS, _lang

    forms = MACHINE_TYPE_WORDS.get(_lang(lang), {}).get(mtype, ())
    words = phrase.lower().split()
    last = words[-1] if words else ""
    singular = {f.split()[-1] for f in forms[:1]} | {mtype.split("_")[-1]}
    said_singular, said_plural = _alias_numbers(lang)
    if last in said_plural:  # "lüftungsgeräte", "kältemaschinen": a word of alias.value and a plural ending
        return True
    if last in said_singular:  # "der Brennofen" is one kiln, however it ends
        return False
    return last not in singular and last.endswith(PLURAL_MARKERS[_lang(lang)])


@cached
def _alias_numbers(lang: str) -> tuple[frozenset[str], frozenset[str]]:
    """The words said for machines (``alias.value``) in the singular, and their plurals: a listed word that is
    another listed word and a plural ending ("kältemaschinen") is a plural, any other listed word a singular."""
    from .names import _PLURAL_ENDINGS, ALIASES, _lang, locale_aliases

    endings = _PLURAL_ENDINGS[_lang(lang)]
    listed = {w for w in {**ALIASES[_lang(lang)], **locale_aliases(lang)} if " " not in w}
    plural = {w for w in listed if any(w.endswith(e) and w[:-len(e)] in listed for e in endings)}
    singular = listed - plural
    return frozenset(singular), frozenset(plural | {w + e for w in singular for e in endings})


def _op(cues: dict[str, bool], names: list[Spotted], distinct: list[str],
        machine_type: str | None, plural_type: bool, factory: str | None, everything: bool, save: bool,
        source: str | None, unknown: bool = False) -> str | None:
    one = len(distinct) == 1 or (len(names) == 1 and names[0].seu_name is None and not plural_type) or unknown
    if len(distinct) >= 2 and not cues["ranking"]:
        return "compare"
    if cues["ranking"] and not cues["opportunities"] and not (one and not plural_type and machine_type is None):
        return "ranking"
    if cues["why"] and one:
        return "why"
    if cues.get("realised"):  # "did the fix on X pay off", "what did the improvements save", "sparen wir was"
        return "savings"
    if save and (one or cues["action_plan"]):
        return "action_plan"
    if cues["plans"] and not cues.get("advice"):  # "which measures would you recommend for X" asks advice
        return "plans"
    if cues["action_plan"] and cues["opportunities"] and not one:
        return "opportunities"  # "any compressed air leaks we should fix": where, not what to do about one
    if cues["action_plan"] or cues.get("advice"):
        return "action_plan"
    if cues["opportunities"]:
        return "opportunities"
    if cues["savings"]:
        return "savings"
    if cues["health"]:
        return "health"
    if one and not plural_type:
        return "analyze"
    if machine_type or factory or everything or cues["summary"] or source and not names:
        return "summary"
    return None


#: ops whose cue makes a place a site of ours: "summary of Munich", "what has Augsburg saved"
_SITE_OPS = ("summary", "savings", "opportunities", "ranking")

def _ranking(words: Sequence[str], lang: str, when: Sequence[str] = ()) -> dict[str, Any]:
    deviation_phrases = _cue_phrases("rank.deviation", lang)
    by_deviation = has_cue(words, deviation_phrases)
    text = f" {' '.join(words)} "
    for phrase in deviation_phrases:  # "least efficient" is the most over its baseline, not the least
        text = text.replace(f" {phrase} ", " ")
    most_first = _cue_phrases("rank.most_first", lang)  # "from most to least": all of them, the most first
    every = has_cue(words, most_first)
    for phrase in most_first:
        text = text.replace(f" {phrase} ", " ")
    least = cue(text.split(), "rank.least", lang)
    saved = cue(words, "cue.savings", lang)
    order = "least" if least or saved else "most"
    if saved:
        by_deviation = True
    n = _rank_count(words, lang, when)
    if n is None:
        n = None if every or cue(words, "rank.all", lang) else 1
    return {"n": n, "order": order, "by": "deviation" if by_deviation else "energy"}
