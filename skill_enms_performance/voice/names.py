"""Spoken SEU names -> SEUs of the plant, safely.

Names come from the database at run time, so everything here is derived from the given list. A canonical name is
split into tokens (``HVAC-EU-North`` -> hvac, eu, north; ``HydraulicPump1`` -> hydraulic, pump, 1). A spoken name
is normalised the same way (lower case, punctuation out, number words to digits, spelled letters joined: "h v a c"
-> hvac) and every spoken token must land on a token of the name: words fuzzily (a misheard kind is fine), unit
numbers and letters exactly (plain fuzzy matching maps "compressor three" to Compressor-1 at 0.92: never do that).
A name may be said in part ("the boiler"); when the part fits several names the caller must ask back.
"""
from __future__ import annotations

import contextlib
import itertools
import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from ovos_number_parser import numbers_to_digits
from rapidfuzz import fuzz, process

from .language import PerLanguage, cached, locale_dir, primary, table

__all__ = ["SeuRef", "NameResolution", "SeuResolver", "MACHINE_TYPE_WORDS", "resolve_machine_type", "name_tokens"]

WORD_MATCH = 80.0  # rapidfuzz ratio for a kind word to count as said ("moulding"/"molding" 93, "main"/"rain" 75)
SUGGEST_MATCH = 70.0  # looser bar for "did you mean" suggestions
MIN_FUZZY_LEN = 4  # shorter tokens ("eu", "ac") must match exactly
MAX_SUGGESTIONS = 3

# Per-language word lists, read from ``locale/<lang>/names.json`` on first use (see voice.language). Keys are primary
# language subtags; a language without a folder reads as English.
def _words(key: str, field: str) -> Any:
    return table("names", key)[field]


FILLERS: Mapping[str, frozenset[str]] = PerLanguage(lambda key: frozenset(_words(key, "fillers")))  # "a": Conveyor-A
# Spoken source words -> energy_sources.name. Longer phrases are tried first.
SOURCE_WORDS: Mapping[str, dict[str, str]] = PerLanguage(lambda key: dict(_words(key, "source_words")))
# Spoken words -> the (English) words plant names are usually made of. Applied only when the spoken word is not itself
# a token of some name, so a plant that really has a "Kessel-1" keeps it.
ALIASES: Mapping[str, dict[str, str]] = PerLanguage(lambda key: dict(_words(key, "aliases")))
# Endings a word of the language takes when declined: a spoken word that is no alias itself may be its stem plus
# one of them ("europäischen" -> europäisch, "norden" -> nord).
DECLENSION_ENDINGS: Mapping[str, tuple[str, ...]] = PerLanguage(lambda key: tuple(_words(key, "declension_endings")))
MIN_COMPOUND_PART = 3  # shorter parts ("eu", "a", "1") would split ordinary words into nonsense
#: machine type -> the words said for it, the singular first
MACHINE_TYPE_WORDS: Mapping[str, dict[str, tuple[str, ...]]] = PerLanguage(
    lambda key: {mtype: tuple(forms) for mtype, forms in _words(key, "machine_type_words").items()})
#: endings of a plural ("ahus", "lüftungsanlagen", "pressen")
_PLURAL_ENDINGS: Mapping[str, tuple[str, ...]] = PerLanguage(lambda key: tuple(_words(key, "plural_endings")))
# words around a machine type that do not change it ("all compressors in munich" once the place is taken out)
_TYPE_FILLERS: Mapping[str, frozenset[str]] = PerLanguage(lambda key: frozenset(_words(key, "type_fillers")))
#: endings that make a said kind a plural unless it is listed as a singular ("kompressoren", "pumps")
PLURAL_MARKERS: Mapping[str, tuple[str, ...]] = PerLanguage(lambda key: tuple(_words(key, "plural_markers")))


def compounds(key: str) -> bool:
    """Whether the language writes compounds as one word ("Gasverbrauch", "Spritzgussmaschine"): speech-to-text
    may write them apart, and a source or kind word may be the first or last part of one."""
    return bool(table("names", key)["compounds"])


_SPLIT = re.compile(r"[-_\s./,]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d])(?=\d)|(?<=\d)(?=[^\W\d])")


@cached
def locale_aliases(lang: str) -> dict[str, str]:
    """``locale/<lang>/alias.value``: "said,name words" lines, spoken words for the words plant names are made of
    ("kältemaschine,chiller", "air handler,ahu"). Adding a language or a machine word is editing that file. A word
    said for several ("ofen,furnace|oven|kiln") reads here as its first; a resolver picks the one its plant's names
    use (:func:`locale_alias_options`)."""
    return {said: options[0] for said, options in locale_alias_options(lang).items()}


def locale_alias_options(lang: str) -> dict[str, tuple[str, ...]]:
    """``alias.value`` with every name word a said word may stand for, in the file's order."""
    path = locale_dir() / (lang or "").lower().replace("_", "-") / "alias.value"
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    except OSError:
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for line in lines:
        pair = [w.strip().lower() for w in line.split(",")]
        if len(pair) == 2 and all(pair):
            options = tuple(o.strip() for o in pair[1].split("|") if o.strip())
            if options:
                out[pair[0]] = out.get(pair[0], ()) + options
    return out


def _lang(lang: str) -> str:
    """Primary subtag with a folder behind it ("de-DE" -> "de"); anything else reads as English."""
    return primary(lang)


def _canon(token: str) -> str:
    return str(int(token)) if token.isdigit() else token  # "01" and "1" are the same unit number


def _is_id(token: str) -> bool:
    """Unit numbers and unit letters: must be said exactly."""
    return token.isdigit() or len(token) == 1


def name_tokens(name: str) -> tuple[str, ...]:
    """``HVAC-EU-North`` -> ('hvac', 'eu', 'north'); ``HydraulicPump01`` -> ('hydraulic', 'pump', '1')."""
    parts = [p for chunk in _SPLIT.split(name.strip()) for p in _CAMEL.split(chunk)]
    return tuple(_canon(p.lower()) for p in parts if p)


#: readings of said words kept per resolver (a plant's words: thousands, not millions; cleared when full)
_MEMO_SIZE = 20_000


def _phrase_sub(text: str, table: dict[str, str], replace: bool = True) -> tuple[str, list[str]]:
    """Find whole-word phrases of ``table`` (longest first) and replace them by their value (or cut them out);
    returns the text and the values found, in order of phrase length."""
    found: list[str] = []
    for phrase in sorted(table, key=len, reverse=True):
        if phrase not in text:  # most phrases of a table are not said: no pattern for them
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)")
        if pattern.search(text):
            found.append(table[phrase])
            text = pattern.sub(f" {table[phrase]} " if replace else " ", text)
    return text, found


@cached(maxsize=8192)
def _clean(spoken: str, lang: str) -> str:
    """Lower case, punctuation to spaces, number words to digits (all languages the number parser knows); the
    latest readings kept (a question's n-grams are read again and again)."""
    text = re.sub(r"[^\w\s]", " ", (spoken or "").lower()).replace("_", " ")
    with contextlib.suppress(Exception):  # no number table for this language: digits already said still work
        # a number never spans a break word: "air handler one the fourth of november" is a unit and a day, not
        # the fraction the parser would make of "one the fourth"
        text = " ".join(numbers_to_digits(part, lang) if part.strip() and part not in _NUMBER_BREAKS[primary(lang)]
                        else part for part in _number_parts(text, lang))
    return " ".join(_LETTER_DIGIT.sub(" ", text).split())


#: words a number never spans (``number_breaks`` of ``locale/<lang>/names.json``)
_NUMBER_BREAKS: Mapping[str, frozenset[str]] = PerLanguage(lambda key: frozenset(_words(key, "number_breaks")))


def _number_parts(text: str, lang: str) -> list[str]:
    breaks = _NUMBER_BREAKS[primary(lang)]
    if not breaks:
        return [text]
    parts, current = [], []
    for word in text.split():
        if word in breaks:
            parts += [" ".join(current), word]
            current = []
        else:
            current.append(word)
    return [p for p in parts + [" ".join(current)] if p]


@dataclass(frozen=True)
class SeuRef:
    """One SEU as the database knows it; several may share a name (Boiler-1 per energy source)."""
    name: str
    energy_source: str
    machine_type: str | None = None
    factory: str | None = None


@dataclass(frozen=True)
class NameResolution:
    """Outcome of resolving a spoken name.

    ``candidates``: for ``ambiguous`` the names to ask about; for ``unknown`` up to three close names (may be empty).
    ``energy_source``: the source the utterance named (even one the SEU lacks: the engine reports that), or the
    only source of the matched name; ``None`` when the name has several sources and none was said.
    """
    status: Literal["match", "ambiguous", "unknown"]
    seu_name: str | None
    candidates: tuple[str, ...]
    energy_source: str | None


@dataclass(frozen=True)
class _Fit:
    name: str
    fits: bool  # every spoken token landed on a token of the name
    complete: bool  # and every token of the name was said


class SeuResolver:
    """Resolves spoken SEU names against the SEUs of the plant (see module docstring for the rules)."""

    _made = itertools.count(1)

    def __init__(self, seus: Sequence[SeuRef]) -> None:
        #: which resolver this is (a new one for every catalogue): readings of an utterance are kept per serial
        self.serial = next(SeuResolver._made)
        self._seus = tuple(seus)
        self._names: list[str] = list(dict.fromkeys(s.name for s in self._seus))
        self._tokens = {n: name_tokens(n) for n in self._names}
        self._sources: dict[str, list[str]] = {}
        for s in self._seus:
            self._sources.setdefault(s.name, [])
            if s.energy_source not in self._sources[s.name]:
                self._sources[s.name].append(s.energy_source)
        self._vocab = frozenset(t for toks in self._tokens.values() for t in toks)

    def refs(self) -> list[SeuRef]:
        """The SEUs it was made from, in the order given."""
        return list(self._seus)

    def names(self) -> list[str]:
        """Distinct SEU names in the order given."""
        return list(self._names)

    def sources(self, name: str) -> list[str]:
        """Energy sources of the SEUs called ``name``."""
        return list(self._sources.get(name, []))

    def resolve(self, spoken: str, lang: str = "en-us") -> NameResolution:
        """Resolve a raw slot value ("compressor one", "boiler one gas", "h vac north")."""
        tokens, source = self._spoken_tokens(spoken, lang)
        fillers = FILLERS[_lang(lang)]
        if not [t for t in tokens if t not in fillers]:
            return NameResolution("unknown", None, (), source)
        fits = [f for f in (self._fit(tokens, n, fillers) for n in self._could_fit(tokens, WORD_MATCH)) if f.fits]
        # a said source narrows the names ("boiler gas" with gas only on Boiler-2); when no fitting name has it
        # ("compressor one gas") the name still stands and the source is passed on, so the engine can say
        # which sources that SEU has
        if source:
            fits = [f for f in fits if source in self._sources[f.name]] or fits
        complete = [f for f in fits if f.complete]
        if len(fits) == 1 or len(complete) == 1:
            name = (fits if len(fits) == 1 else complete)[0].name
            srcs = self._sources[name]
            return NameResolution("match", name, (), source or (srcs[0] if len(srcs) == 1 else None))
        if fits:
            return NameResolution("ambiguous", None, tuple(f.name for f in fits), source)
        return NameResolution("unknown", None, self._suggest([t for t in tokens if t not in fillers]), source)

    def resolve_machine_type(self, spoken: str, lang: str = "en-us") -> str | None:
        """Like :func:`resolve_machine_type`, also knowing the machine types present in the data, and the kind words
        their machines are named with ("the AHUs" for AHU-1 and AHU-Nord, "die Lüftungsanlagen" by the alias of
        'ahu', "the cooling pumps" for Cooling-Pump-3); on a tie a type of the data wins. Kept per resolver (a
        question tries every n-gram of its words; the resolver's plant does not change)."""
        return self._memo("_type_memo", (spoken, lang), self._resolve_machine_type)

    def _resolve_machine_type(self, spoken: str, lang: str) -> str | None:
        extra = self._type_words(_lang(lang), lang)
        kinds = self.__dict__.setdefault("_kind_words", {}).get(lang)
        if kinds is None:
            kinds = {w for table in (MACHINE_TYPE_WORDS[_lang(lang)], extra) for forms in table.values()
                     for form in forms for w in form.split()}
            self._kind_words[lang] = kinds
        if any(w in self._vocab and w not in kinds for w in self._spoken_tokens(spoken, lang)[0]):
            return None  # a kind and a word of a name ("lüftungsgerät nord", "hvac main"): a machine, not a type
        return resolve_machine_type(spoken, lang, extra)

    def _type_words(self, key: str, lang: str) -> dict[str, tuple[str, ...]]:
        cache = self.__dict__.setdefault("_type_words_cache", {})
        if lang in cache:
            return cache[lang]
        extra: dict[str, tuple[str, ...]] = {}
        said_for = {}  # name words -> the words said for them (alias.value, ALIASES)
        for said, written in self.aliases(lang).items():
            said_for.setdefault(written, []).append(said)
        for ref in self._seus:
            if not (mtype := ref.machine_type):
                continue
            phrases = [mtype.replace("_", " ")]
            tokens = self._tokens.get(ref.name, ())
            ids = [i for i, t in enumerate(tokens) if _is_id(t)]
            kind = " ".join(tokens[:ids[0]]) if ids and ids[0] > 0 else ""
            if kind and all(t.isalpha() for t in kind.split()) and resolve_machine_type(kind, lang) is None:
                phrases.append(kind)  # "ahu" of AHU-1, "cooling pump" of Cooling-Pump-3
            words = list(phrases) + [s for p in phrases for s in said_for.get(p, ())]
            forms = tuple(w + end for w in words for end in ("", *_PLURAL_ENDINGS[key]))
            extra[mtype] = tuple(dict.fromkeys(extra.get(mtype, ()) + forms))
        cache[lang] = extra
        return extra

    def aliases(self, lang: str) -> dict[str, str]:
        """Said word -> the name word it stands for on this plant: of a word said for several ("ofen" for furnace,
        oven or kiln), the one this plant's names use, else the first listed."""
        cache = self.__dict__.setdefault("_aliases_cache", {})
        if lang not in cache:
            chosen = dict(ALIASES[_lang(lang)])
            for said, options in locale_alias_options(lang).items():
                chosen[said] = next((o for o in options if set(o.split()) <= self._vocab), options[0])
            cache[lang] = chosen
        return cache[lang]

    def names_of_type(self, machine_type: str) -> list[str]:
        """SEU names whose machine has ``machine_type`` or whose name says it (Conveyor-A is a 'motor' in the data)."""
        word = name_tokens(machine_type.replace("_", " "))
        by_type = {s.name for s in self._seus if s.machine_type == machine_type}
        return [n for n in self._names
                if n in by_type or _contains(self._tokens[n], word)]

    # -- internals -------------------------------------------------------------------------------------------
    def _spoken_tokens(self, spoken: str, lang: str) -> tuple[list[str], str | None]:
        """The words of a name as said, read as the plant's name words, and the source word said with them."""
        said, source = self._memo("_spoken_memo", (spoken, lang), self._read_spoken)
        return list(said), source

    def _memo(self, name: str, key: tuple[str, str], compute: Any) -> Any:
        """``compute(*key)``, kept per resolver in ``name`` (its plant does not change; cleared when full)."""
        memo = self.__dict__.setdefault(name, {})
        if key not in memo:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = compute(*key)
        return memo[key]

    def _read_spoken(self, spoken: str, lang: str) -> tuple[tuple[str, ...], str | None]:
        key = _lang(lang)
        text = _clean(spoken, lang)
        sources = dict(SOURCE_WORDS[key])
        for src in self._sources.values():  # sources in the data are sayable by their own name ("compressed air")
            for s in src:
                sources.setdefault(s.replace("_", " "), s)
        # a name made of that word ("Power-Unit-1") keeps it
        sources = {k: v for k, v in sources.items() if not set(k.split()) & self._vocab}
        text, found = _phrase_sub(text, sources, replace=False)
        aliases = {k: v for k, v in self.aliases(lang).items() if k not in self._vocab}
        if compounds(key):
            text = self._joined(text, key, aliases)
        text = " ".join(self._known_words(word, key, aliases) for word in text.split())
        text, _ = _phrase_sub(text, aliases)
        back = self._written_words()
        return tuple(_canon(back.get(t, t)) for t in text.split()), (found[0] if found else None)

    def _written_words(self) -> dict[str, str]:
        """Name words written in another language than the one spoken, by the word said for them: an English
        speaker's "north" for AHU-Nord, "main" for Klima-Haupt (each language's aliases read backwards, where the
        plant's names hold the said side and not the written one)."""
        if "_written" not in self.__dict__:
            from .speech import shipped_languages

            back: dict[str, str] = {}
            for lang in shipped_languages():
                for said, written in self.aliases(lang).items():
                    if " " not in said + written and said in self._vocab and written not in self._vocab:
                        back.setdefault(written, said)
            self.__dict__["_written"] = back
        return self.__dict__["_written"]

    def _joined(self, text: str, key: str, aliases: dict[str, str]) -> str:
        """A compound that speech-to-text wrote apart, joined again where the whole is a word of a name, an alias or
        a machine kind ("spritz guss maschine" -> spritzgussmaschine, "förder band" -> förderband)."""
        known = self._compound_words(key, aliases)
        words = text.split()
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in (3, 2):
                part = words[i:i + n]
                if len(part) == n and all(w.isalpha() for w in part) and "".join(part) in known:
                    out.append("".join(part))
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return " ".join(out)

    def compound_part(self, word: str, lang: str) -> bool:
        """Whether ``word`` may be the first or last part of a compound written apart ("spritz", "band")."""
        key = _lang(lang)
        if not compounds(key) or len(word) < 4:
            return False
        aliases = {k: v for k, v in self.aliases(lang).items() if k not in self._vocab}
        return any(c != word and (c.startswith(word) or c.endswith(word)) for c in self._compound_words(key, aliases))

    def _compound_words(self, key: str, aliases: dict[str, str]) -> frozenset[str]:
        cache = self.__dict__.setdefault("_compound_cache", {})
        if key not in cache:
            kinds = {f for forms in MACHINE_TYPE_WORDS[key].values() for f in forms if " " not in f}
            cache[key] = frozenset(w for w in {*aliases, *self._vocab, *kinds} if w.isalpha() and len(w) >= 6)
        return cache[key]

    def _known_words(self, word: str, key: str, aliases: dict[str, str]) -> str:
        """A word that is neither a name token nor an alias, as the words it is made of: a declined alias
        ("europäische" -> europäisch) or a compound of aliases and name tokens ("hauptklimaanlage" -> haupt
        klimaanlage, "nordkompressor" -> nord compressor when a name has 'compressor'). Unchanged otherwise."""
        if word in self._vocab or word in aliases or not word.isalpha():
            return word
        for ending in DECLENSION_ENDINGS[key]:
            if word.endswith(ending) and word[:-len(ending)] in aliases:
                return word[:-len(ending)]
        parts = frozenset(k for k in aliases if " " not in k) | {t for t in self._vocab if t.isalpha()}
        split = _decompound(word, parts)
        return " ".join(split) if split else word

    def _fit(self, spoken: list[str], name: str, fillers: frozenset[str]) -> _Fit:
        """Filler words count when they are part of the name ("a" of Conveyor-A, "h v a c") and are skipped
        otherwise ("the compressor")."""
        target = self._tokens[name]
        used: set[int] = set()
        i, words, ok = 0, 0, True
        while i < len(spoken):
            step = _take(spoken, i, target, used, WORD_MATCH)
            if step:
                i += step
                words += 0 if _is_id(spoken[i - 1]) and step == 1 else 1
            else:
                ok, i = ok and spoken[i] in fillers, i + 1
        complete = ok and len(used) == len(target)
        # a bare unit number or letter ("one", "a") names nothing unless it is the whole name
        return _Fit(name, ok and (words > 0 or complete), complete)

    def _could_fit(self, spoken: list[str], threshold: float, most: int = 4) -> list[str]:
        """The names (in catalogue order) with a token that some step of :func:`_take` could match on ``spoken`` at
        ``threshold``, joining at most ``most`` spoken words: every name that can fit (a fit takes at least one step),
        read from an index of the name tokens rather than by trying all names (a plant of 500 SEUs: 500 fits
        per n-gram of a question)."""
        index = self._index()
        hits: set[int] = set(index.tokenless)
        for i, word in enumerate(spoken):
            for span in range(1, min(most, len(spoken) - i) + 1):
                hits |= index.by_token.get(_canon("".join(spoken[i:i + span])), set())
            hits |= index.by_run.get(word, set())
            if not _is_id(word) and len(word) >= MIN_FUZZY_LEN and word.isalpha():
                for tok in index.fuzzy(word, threshold):
                    hits |= index.by_token[tok]
        return [self._names[k] for k in sorted(hits)]

    def _index(self) -> _TokenIndex:
        if "_token_index" not in self.__dict__:
            self.__dict__["_token_index"] = _TokenIndex(self._names, self._tokens)
        return self.__dict__["_token_index"]

    def _suggest(self, spoken: list[str]) -> tuple[str, ...]:
        """Names sharing a kind word with what was said, best first; empty for garbage."""
        said = " ".join(spoken)
        near = {self._names[k] for k, _ in self._index().near(said, 75)}
        ranked = []
        for name in self._could_fit([t for t in spoken if not _is_id(t)], SUGGEST_MATCH, most=1):
            near.discard(name)
            target, used = self._tokens[name], set()
            hits = sum(1 for t in spoken if not _is_id(t) and _take([t], 0, target, used, SUGGEST_MATCH))
            score = fuzz.ratio(said, " ".join(target))
            if hits or score >= 75:
                ranked.append((-hits, -score, name))
        ranked += [(0, -fuzz.ratio(said, " ".join(self._tokens[n])), n) for n in near]
        return tuple(n for *_, n in sorted(ranked)[:MAX_SUGGESTIONS])


class _TokenIndex:
    """The name tokens of a plant: which names hold a token, a run of tokens written as one word ("hvacmain"), and
    the words a said word fuzzily matches (kept per word said)."""

    def __init__(self, names: Sequence[str], tokens: Mapping[str, tuple[str, ...]]) -> None:
        self.by_token: dict[str, set[int]] = {}
        self.by_run: dict[str, set[int]] = {}
        self.tokenless = {k for k, name in enumerate(names) if not tokens[name]}
        for k, name in enumerate(names):
            target = tokens[name]
            for j, tok in enumerate(target):
                self.by_token.setdefault(tok, set()).add(k)
                for end in range(j + 2, len(target) + 1):
                    self.by_run.setdefault("".join(target[j:end]), set()).add(k)
        self._fuzzy_targets = [t for t in self.by_token if len(t) >= MIN_FUZZY_LEN and t.isalpha()]
        self._joined = [" ".join(tokens[name]) for name in names]
        self._fuzzy_memo: dict[tuple[str, float], tuple[str, ...]] = {}

    def fuzzy(self, word: str, threshold: float) -> tuple[str, ...]:
        key = (word, threshold)
        if key not in self._fuzzy_memo:
            if len(self._fuzzy_memo) >= _MEMO_SIZE:
                self._fuzzy_memo.clear()
            self._fuzzy_memo[key] = tuple(t for t in self._fuzzy_targets if fuzz.ratio(word, t) >= threshold)
        return self._fuzzy_memo[key]

    def near(self, said: str, cutoff: float) -> list[tuple[int, float]]:
        """(name position, score) of the names whose tokens, joined, are at least ``cutoff`` like ``said``."""
        return [(k, score) for _, score, k in process.extract(said, self._joined, scorer=fuzz.ratio, processor=None,
                                                               score_cutoff=cutoff, limit=None)]


def _take(spoken: list[str], i: int, target: tuple[str, ...], used: set[int], threshold: float) -> int:
    """Match spoken[i:] onto one unused target token; returns how many spoken tokens it took (0: none).

    Several spoken tokens may join into one name token only exactly ("h vac" -> hvac, "e u" -> eu); a single
    spoken word may match fuzzily when both are real words; unit numbers and letters match only exactly.
    """
    for span in range(min(4, len(spoken) - i), 0, -1):
        joined = _canon("".join(spoken[i:i + span]))  # "zero two" -> "2" for Pump-02
        for j, tok in enumerate(target):
            if j not in used and tok == joined:
                used.add(j)
                return span
    word = spoken[i]
    for span in range(len(target), 1, -1):  # one spoken word for several name tokens: "hvacmain"
        for j in range(len(target) - span + 1):
            if not used & set(range(j, j + span)) and "".join(target[j:j + span]) == word:
                used.update(range(j, j + span))
                return 1
    if _is_id(word) or len(word) < MIN_FUZZY_LEN or not word.isalpha():
        return 0
    best = max(((fuzz.ratio(word, tok), j) for j, tok in enumerate(target)
                if j not in used and len(tok) >= MIN_FUZZY_LEN and tok.isalpha()), default=(0.0, -1))
    if best[0] >= threshold:
        used.add(best[1])
        return 1
    return 0


def _decompound(word: str, parts: frozenset[str] | set[str]) -> list[str] | None:
    """``word`` as the fewest known ``parts`` that spell it exactly ("hauptklimaanlage" -> ['haupt',
    'klimaanlage']); None unless it splits into at least two."""
    best: dict[int, list[str]] = {0: []}
    for i in range(len(word)):
        if i not in best:
            continue
        for j in range(i + MIN_COMPOUND_PART, len(word) + 1):
            if word[i:j] in parts and (j not in best or len(best[j]) > len(best[i]) + 1):
                best[j] = best[i] + [word[i:j]]
    split = best.get(len(word))
    return split if split and len(split) > 1 else None


def _contains(tokens: tuple[str, ...], word: tuple[str, ...]) -> bool:
    n = len(word)
    return n > 0 and any(tokens[k:k + n] == word for k in range(len(tokens) - n + 1))


_MIN_FUZZY_KIND = 6  # kind words shorter than this match only exactly


def resolve_machine_type(spoken: str, lang: str = "en-us",
                         extra: dict[str, tuple[str, ...]] | None = None) -> str | None:
    """Fleet words -> machine type: "compressors" -> 'compressor', "air conditioning" -> 'hvac',
    "injection molding machines" -> 'injection_molding'. ``None`` when nothing is close.

    Note: the type is the word's meaning, not the data's label: "conveyors" gives 'conveyor' although Conveyor-A is
    stored as a 'motor'; use :meth:`SeuResolver.names_of_type`, which also matches by name.
    """
    key = _lang(lang)
    text = re.sub(r"[^\w\s]", " ", (spoken or "").lower())
    words = [w for w in text.split() if w not in _TYPE_FILLERS[key]]
    # join spelled letters: "h v a c units" -> "hvac units"
    joined = re.sub(r"\b(\w) (?=\w\b)", r"\1", " ".join(words))
    if not joined:
        return None
    extra = extra or {}
    # the types of ``extra`` first: on a tie the first best stays ("lüftungsanlagen" of a plant whose air handlers
    # are its own type, not 'hvac')
    table = {mtype: MACHINE_TYPE_WORDS[key].get(mtype, ()) + phrases for mtype, phrases in extra.items()}
    table |= {mtype: phrases for mtype, phrases in MACHINE_TYPE_WORDS[key].items() if mtype not in extra}
    best, best_score = None, 0.0
    for mtype, phrases in table.items():
        for phrase in phrases:
            # a short word is a kind only as written: "offen" (open) is no "ofen", "main" no "rain"
            score = fuzz.ratio(joined, phrase) if min(len(joined), len(phrase)) >= _MIN_FUZZY_KIND else \
                (100.0 if joined == phrase else 0.0)
            if score > best_score:
                best, best_score = mtype, score
    return best if best_score >= 85.0 else None


_MIN_COMPOUND_REST = 4  # what follows a source word in a compound is a word of its own ("verbrauch", "kosten")


def spoken_source(text: str, lang: str, extra: dict[str, str] | None = None) -> str | None:
    """The one energy source a piece of speech names ("how much gas ...", "the gas one", "den Strom",
    "der Gasverbrauch"), or None when it names none or several.

    Whole words and phrases of the language's source words (plus ``extra``: e.g. the words an ask-back offered);
    in a language of compounds also the first part of one ("gasverbrauch" -> gas), when what follows is a word of
    its own."""
    key = _lang(lang)
    table = {**SOURCE_WORDS[key], **{k.lower(): v for k, v in (extra or {}).items()}}
    cleaned = " ".join(re.sub(r"[^\w\s]", " ", (text or "").lower()).split())
    rest, found = _phrase_sub(cleaned, table, replace=False)
    if compounds(key):
        for token in rest.split():
            head = next((w for w in sorted(table, key=len, reverse=True)
                         if " " not in w and token.startswith(w) and len(token) - len(w) >= _MIN_COMPOUND_REST), None)
            if head:
                found.append(table[head])
    named = set(found)
    return named.pop() if len(named) == 1 else None


@cached
def kinds_only() -> SeuResolver:
    """A catalogue of one machine of every kind the locale knows (named by its kind), for reading an utterance
    when the plant's own catalogue cannot be read (the database is down or still being prepared): a question about
    "compressor one" is still recognised as this skill's, and answered with what is wrong."""
    kinds = sorted({kind for table in MACHINE_TYPE_WORDS.values() for kind in table})
    return SeuResolver([SeuRef(kind, "electricity", kind, None) for kind in kinds])
