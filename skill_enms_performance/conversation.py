"""The spoken conversation, per session, in one place: a question heard (``Draft``) becomes a ``Request``, or a
question asked back (which SEU, which energy source, whether to save a plan), or a sentence (an unknown name).
The answer to a question asked back and the follow-ups ("why?", "and yesterday?", "how about compressor one?")
come back here with the session's state, which holds only data (the draft waiting for a slot), no callbacks.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import time
from typing import Any, Sequence, Union

from .answers import Line, Request
from .engine.errors import FutureDateError, UnknownEnergySourceError, UnknownSeuError
from .engine.timeutil import local_today
from .voice import parse, speech
from .voice.dates import resolve_day, resolve_period
from .voice.names import SeuResolver, spoken_source

#: ops about one SEU and one energy source (the others are about the machine: any source will do)
NEEDS_SOURCE = ("analyze", "why")


@dataclasses.dataclass
class Draft:
    """A spoken question on its way to a ``Request``: what the intent and the utterance said so far."""

    op: str
    utterance: str = ""
    spoken: str = ""                   # the words that named the SEU (the intent's slot)
    seu_name: str | None = None        # decided (a follow-up, an answer asked back)
    energy_source: str | None = None   # said or decided
    day: dt.date | None = None         # decided by a follow-up
    period: dict[str, str] | None = None  # decided by a follow-up: one SEU over {start, end}
    group: str = ""                    # summary: the group as said
    factory_words: str = ""            # opportunities: the factory as said
    save: bool = False                 # action plan: the speaker asked to save it
    parsed: bool = False               # the whole utterance has been read (voice.parse): the fields below hold
    machine_type: str | None = None    # summary, ranking: the group as read
    factory: str | None = None
    ranking: dict[str, Any] | None = None
    spoken_b: str = ""                 # compare: the words that named the second SEU
    seu_name_b: str | None = None


@dataclasses.dataclass
class Ask:
    """A question asked back: speak it and wait for the answer."""

    dialog: str
    slots: dict[str, str]
    slot: str = ""                          # what the answer fills: seu_name, energy_source, save
    draft: Any = None                       # the question so far (a Draft or a Request)

    def event(self) -> dict[str, Any]:
        """The ``enms.performance.ask_back`` record: the question so far and the slot asked for."""
        d = self.draft
        return {"op": getattr(d, "op", None), "seu_name": getattr(d, "seu_name", None),
                "energy_source": getattr(d, "energy_source", None), "slot": self.slot,
                "options": list(self.options)}

    options: tuple[str, ...] = ()


@dataclasses.dataclass
class Say:
    """Sentences that end the turn."""

    lines: list[Line]


Outcome = Union[Request, Ask, Say, Draft]


@dataclasses.dataclass
class _Question:
    """A question asked back: ``slot`` is what the answer fills in ``draft`` ("seu_name", "energy_source",
    "save"); ``options`` what may be chosen; ``words`` the spoken words of each option (sources)."""

    slot: str
    draft: Draft | Request
    options: list[str]
    words: dict[str, str]
    asked_at: float


@dataclasses.dataclass
class _Context:
    """The last machine answered about, for follow-ups."""

    seu_name: str
    energy_source: str | None
    day: dt.date | None
    at: float
    period: dict[str, str] | None = None


class Conversation:
    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._questions: dict[str, _Question] = {}
        self._context: dict[str, _Context] = {}
        self._lock = threading.Lock()

    # --- a question heard ---------------------------------------------------------------------------
    def understand(self, session: str, draft: Draft, lang: str, seus: Sequence[Any], resolver: SeuResolver,
                   engine: Any) -> Outcome:
        """The request a draft makes, or what to ask back or say first."""
        if not draft.parsed and draft.seu_name is None:
            draft = read_utterance(draft, lang, seus, resolver)
        if draft.op == "request":  # read by the parser, and still no question in it
            return Say([("request.unclear", {})])
        tz = seus[0].timezone if seus else "UTC"
        if draft.op == "compare":
            return self._compare(session, draft, lang, seus, resolver, engine)
        if draft.op in ("analyze", "why", "action_plan") or draft.spoken:
            outcome = self._resolve_seu(session, draft, lang, seus, resolver)
            if outcome is not None:
                return outcome
            tz = next((s.timezone for s in seus if s.name == draft.seu_name), tz)
        today = local_today(engine.now(), tz)
        if draft.op in NEEDS_SOURCE:
            period = draft.period if draft.day is None else None
            said = None
            if period is None and draft.day is None:
                said = resolve_day(draft.utterance, today, lang, strip=[draft.spoken])
                if said.day is None:  # no day said ("tuesday last week" is one): "last week" is a period
                    period = _span(resolve_period(draft.utterance, today, lang, strip=[draft.spoken]))
            direction = speech.asked_direction(draft.utterance, lang, [draft.spoken]) if draft.op == "why" else None
            if period is not None:
                return Request(draft.op, seu_name=draft.seu_name, energy_source=draft.energy_source, period=period,
                               direction=direction)
            if draft.day is not None:
                day = draft.day
            else:
                said = said or resolve_day(draft.utterance, today, lang, strip=[draft.spoken])
                if said.status == "future" and said.day is not None:
                    return _error(FutureDateError(said.day, today), lang, today)
                day = said.day or today
            if day > today:
                return _error(FutureDateError(day, today), lang, today)
            return Request(draft.op, seu_name=draft.seu_name, energy_source=draft.energy_source,
                           day=day.isoformat(), direction=direction)
        if draft.op in ("summary", "ranking"):
            return self._summary(draft, lang, seus, resolver, today)
        if draft.op in ("opportunities", "savings"):
            factory = None
            if draft.op == "opportunities":
                factory = draft.factory if draft.parsed else self._factory(draft, lang, seus, resolver)
            said = resolve_period(draft.utterance, today, lang, strip=[draft.spoken, draft.factory_words])
            if said is not None:
                period = said.to_dict()
            else:
                start, end = engine.period_days("month", today)
                period = {"start": start.isoformat(), "end": end.isoformat()}
            machine_type = draft.machine_type if draft.op == "opportunities" and not draft.seu_name else None
            return Request(draft.op, seu_name=draft.seu_name, factory=factory, period=period,
                           machine_type=machine_type)
        if draft.op == "action_plan":
            return Request("action_plan", seu_name=draft.seu_name, save=draft.save)
        if draft.op == "plans":
            return Request("action_plans", seu_name=draft.seu_name)
        return Request(draft.op)

    def _compare(self, session: str, draft: Draft, lang: str, seus: Sequence[Any], resolver: SeuResolver,
                 engine: Any) -> Outcome:
        """Two SEUs on one day or period: each must be named exactly (a name fitting several is asked back)."""
        names = []
        for spoken in (draft.spoken, draft.spoken_b):
            found = resolver.resolve(spoken, lang) if spoken else None
            if found is None or found.status == "unknown":
                return Say([speech.describe_error(UnknownSeuError(spoken, list(found.candidates) if found else [])
                                                  .to_dict(), lang)])
            if found.status == "ambiguous":
                options = list(found.candidates)
                ask = _Question("seu_name", dataclasses.replace(draft, op="analyze", spoken=spoken), options, {},
                                time.monotonic())
                self._ask(session, ask)
                return Ask("ask.which_seu", {"options": speech.join_options(options, lang)}, "seu_name", ask.draft,
                           tuple(options))
            names.append(found.seu_name)
        tz = next((s.timezone for s in seus if s.name == names[0]), seus[0].timezone if seus else "UTC")
        today = local_today(engine.now(), tz)
        period = resolve_period(draft.utterance, today, lang)
        said = resolve_day(draft.utterance, today, lang)
        if period is not None and period.start != period.end:
            return Request("compare", seu_name=names[0], seu_name_b=names[1], energy_source=draft.energy_source,
                           period=period.to_dict())
        if said.status == "future" and said.day is not None:
            return _error(FutureDateError(said.day, today), lang, today)
        day = said.day or (period.start if period else None) or today
        return Request("compare", seu_name=names[0], seu_name_b=names[1], energy_source=draft.energy_source,
                       day=day.isoformat())

    def _resolve_seu(self, session: str, draft: Draft, lang: str, seus: Sequence[Any],
                     resolver: SeuResolver) -> Ask | Say | None:
        """Fill ``draft.seu_name`` (and its source where the question needs one) or say what is missing.

        An unknown name is said; a name that fits several SEUs, or an SEU with several energy sources when the
        utterance names none, is asked back. A source word anywhere in the utterance counts ("how much gas did
        boiler one use"), not only in the slot."""
        if draft.seu_name is None:
            spoken = draft.spoken
            found = resolver.resolve(spoken, lang)
            name_only = spoken
            if found.status == "unknown":  # the slot may have swallowed the date: "... one on october 29th"
                name_only = speech.split_name_and_when(spoken, lang)
                if name_only != spoken:
                    retry = resolver.resolve(name_only, lang)
                    if retry.status != "unknown":
                        found, spoken = retry, name_only
            if found.status == "unknown":  # ... or a verb: "how much gas did boiler one use" -> "boiler one use",
                # also before a period: "compressor one do this month" -> "compressor one do"
                for part in _shorter(spoken) + (_shorter(name_only) if name_only != spoken else []):
                    retry = resolver.resolve(part, lang)
                    if retry.status == "match":
                        found, spoken = retry, part
                        break
            if found.status == "unknown":
                return Say([speech.describe_error(UnknownSeuError(spoken, list(found.candidates)).to_dict(), lang)])
            draft.spoken = spoken
            # the slot had its say in resolve(); the words around it may name the source too
            draft.energy_source = draft.energy_source or found.energy_source or \
                spoken_source(_without(draft.utterance, spoken), lang)
            if found.status == "ambiguous":
                options = list(found.candidates)
                self._ask(session, _Question("seu_name", draft, options, {}, time.monotonic()))
                return Ask("ask.which_seu", {"options": speech.join_options(options, lang)}, "seu_name", draft,
                           tuple(options))
            draft.seu_name = found.seu_name
        if draft.op not in NEEDS_SOURCE:
            return None
        sources = [s.energy_source for s in seus if s.name == draft.seu_name]
        if draft.energy_source is None and len(sources) == 1:
            draft.energy_source = sources[0]
        if draft.energy_source is None and len(sources) > 1:
            words = {speech.source_words(s, lang): s for s in sources}
            self._ask(session, _Question("energy_source", draft, sources, words, time.monotonic()))
            return Ask("ask.energy_source", {"seu": draft.seu_name, "options": speech.join_options(list(words), lang)},
                       "energy_source", draft, tuple(sources))
        if sources and draft.energy_source not in sources:  # "compressor one gas": said, not asked for
            return Say([speech.describe_error(
                UnknownEnergySourceError(draft.seu_name, draft.energy_source, sources).to_dict(), lang)])
        return None

    def _summary(self, draft: Draft, lang: str, seus: Sequence[Any], resolver: SeuResolver,
                 today: dt.date) -> Request | Say:
        if draft.parsed:
            machine_type, factory = draft.machine_type, draft.factory
        else:
            machine_type, factory = speech.resolve_group(draft.group, resolver, seus, lang)
            if machine_type is None and factory is None and not speech.means_everything(draft.group, lang):
                return Say([("error.unknown_group", {"group": speech.without_article(draft.group, lang)})])
        op, ranking = draft.op, draft.ranking
        period = resolve_period(draft.utterance, today, lang, strip=[draft.group])
        if period is not None and period.start != period.end:
            return Request(op, machine_type=machine_type, factory=factory, period=period.to_dict(),
                           group_words=draft.group, ranking=ranking)
        said = resolve_day(draft.utterance, today, lang, strip=[draft.group])
        if said.status == "future" and said.day is not None:
            return _error(FutureDateError(said.day, today), lang, today)
        day = said.day or (period.start if period else None) or today
        return Request(op, machine_type=machine_type, factory=factory, day=day.isoformat(),
                       group_words=draft.group, ranking=ranking)

    @staticmethod
    def _factory(draft: Draft, lang: str, seus: Sequence[Any], resolver: SeuResolver) -> str | None:
        """The factory an opportunities question names: its slot, else a place anywhere in the utterance
        ("where can we save in the munich plant" is matched without the slot)."""
        if draft.factory_words:
            return speech.resolve_group(draft.factory_words, resolver, seus, lang)[1]
        if draft.spoken:
            return None
        return speech.resolve_group(_place_part(draft.utterance), resolver, seus, lang)[1]

    # --- questions asked back -----------------------------------------------------------------------
    def _ask(self, session: str, question: _Question) -> None:
        with self._lock:
            self._questions[session] = question

    def ask_to_save(self, session: str, request: Request) -> Ask:
        """After a proposed plan: shall it be saved? Nothing is written without a yes."""
        self._ask(session, _Question("save", request, ["yes", "no"], {}, time.monotonic()))
        return Ask("plan.ask_save", {}, "save", request)

    def open_question(self, session: str, take: bool) -> _Question | None:
        """The question this session was asked, if it is still open (``take``: and close it)."""
        with self._lock:
            question = self._questions.get(session)
            if question is None:
                return None
            if time.monotonic() - question.asked_at > float(self.settings.get("ask_back_s", 20.0)):
                self._questions.pop(session, None)
                return None
            if take:
                self._questions.pop(session, None)
            return question

    def close(self, session: str) -> None:
        with self._lock:
            self._questions.pop(session, None)

    def forget(self, session: str | None = None) -> None:
        """Drop the session's open question and its follow-up context (a new conversation); all sessions' when
        ``session`` is None."""
        with self._lock:
            if session is None:
                self._questions.clear()
                self._context.clear()
            else:
                self._questions.pop(session, None)
                self._context.pop(session, None)

    def take_answer(self, question: _Question, reply: str, lang: str, seus: Sequence[Any],
                    resolver: SeuResolver | None) -> Outcome | None:
        """What the reply to ``question`` leads to (without changing anything: the core asks ``can_converse``
        first); None: the reply is a question of its own, for the pipeline to answer."""
        if question.slot == "save":
            said = speech.yes_or_no(reply, lang)
            if said is True:
                return dataclasses.replace(question.draft, save=True)
            if said is None and speech.is_new_question(reply, lang):
                return None
            return Say([("plan.not_saved", {})])
        draft = question.draft
        chosen = None
        if question.slot == "seu_name" and resolver is not None:
            chosen = _pick_seu(reply, question.options, lang, seus, resolver)
        elif question.slot == "energy_source":
            chosen = _pick_source(reply, question.words, lang)
        if chosen in question.options:
            return dataclasses.replace(draft, **{question.slot: chosen})
        if speech.is_new_question(reply, lang):
            return None
        return Say([("ask.no_answer", {})])

    # --- follow-ups ---------------------------------------------------------------------------------
    def remember(self, session: str, request: Request, payload: dict[str, Any]) -> None:
        """Keep the machine an answer was about, for "why?", "and yesterday?" and "what should we do about it"."""
        if "error" in payload:
            return
        if request.op in NEEDS_SOURCE:
            context = _Context(payload.get("seu_name") or request.seu_name or "", payload.get("energy_source"),
                               dt.date.fromisoformat(request.day) if request.day else None, time.monotonic(),
                               request.period if isinstance(request.period, dict) else None)
        elif request.op == "opportunities" and payload.get("opportunities"):
            last = self.last(session)
            context = _Context(payload["opportunities"][0]["seu_name"], None, last.day if last else None,
                               time.monotonic())
        else:
            return
        with self._lock:
            self._context[session] = context

    def last(self, session: str) -> _Context | None:
        with self._lock:
            context = self._context.get(session)
        if context is None or time.monotonic() - context.at > float(self.settings.get("followup_s", 300.0)):
            return None
        return context

    def followup(self, session: str, utterance: str, lang: str, seus: Sequence[Any],
                 resolver: SeuResolver | None, now: dt.datetime) -> Draft | None:
        """A short follow-up to the last answer about a machine: what to do about it, why, another day, another
        machine (with its own day, if said). None when the utterance is none of these. Never touches the
        database."""
        context = self.last(session)
        if context is None or resolver is None:
            return None
        utterance = parse.said(utterance, lang)  # "und an dem Montag" as the normaliser wrote it: "und am Montag"
        if speech.is_followup_plan(utterance, lang):  # "what should we do about it?"
            return Draft("action_plan", utterance, seu_name=context.seu_name, energy_source=context.energy_source,
                         save=speech.has_phrase(utterance, "save_cue", lang))
        if context.day is None and context.period is None:
            return None
        if speech.is_followup_why(utterance, lang):
            return Draft("why", utterance, seu_name=context.seu_name, energy_source=context.energy_source,
                         day=context.day, period=context.period)
        rest = speech.followup_rest(utterance, lang)
        if rest is None:
            return None
        tz_of = {s.name: s.timezone for s in seus}
        found = resolver.resolve(rest, lang)
        name = rest
        if found.status != "match":  # "how about compressor one yesterday": the name, then its day
            name = speech.split_name_and_when(rest, lang)
            found = resolver.resolve(name, lang) if name != rest else found
        if found.status == "match":
            today = local_today(now, tz_of.get(found.seu_name, "UTC"))
            said = resolve_day(rest, today, lang, strip=[name]) if name != rest else None
            span = _span(resolve_period(rest, today, lang, strip=[name])) if name != rest else None
            sources = [s.energy_source for s in seus if s.name == found.seu_name]
            source = found.energy_source or (context.energy_source if context.energy_source in sources else None) \
                or (sources[0] if sources else None)
            day = said.day if said is not None and said.day else None
            # another machine, for the day or period said, else for the last answer's
            return Draft("analyze", utterance, spoken=name, seu_name=found.seu_name, energy_source=source,
                         day=day or (None if span else context.day),
                         period=None if day else (span or (None if context.day else context.period)))
        today = local_today(now, tz_of.get(context.seu_name, "UTC"))
        said = resolve_day(rest, today, lang)
        span = _span(resolve_period(rest, today, lang))
        if said.day is not None or span is not None:
            sources = [s.energy_source for s in seus if s.name == context.seu_name]
            source = context.energy_source if context.energy_source in sources else (sources[0] if sources else None)
            return Draft("analyze", utterance, seu_name=context.seu_name, energy_source=source, day=said.day,
                         period=None if said.day is not None else span)
        return None


def read_utterance(draft: Draft, lang: str, seus: Sequence[Any], resolver: SeuResolver) -> Draft:
    """The draft of an intent, re-read from the whole utterance (voice.parse): the names spotted in it, not the
    intent's slot; the op its cue words say. When nothing of the plant is found the intent's own reading stays (so
    an unknown name is still answered with the closest names)."""
    parsed = parse.parse(draft.utterance, lang, resolver, seus)
    if parsed.op is None or not (parsed.ours or parsed.plant_word):
        return draft
    if parsed.op in ("analyze", "why", "action_plan", "compare") and parsed.seu is None:
        if parsed.unknown:  # "how did compressor three do": a unit this plant does not have, answered with those it has
            return dataclasses.replace(draft, op=parsed.op, spoken=parsed.unknown, parsed=True,
                                       energy_source=draft.energy_source or parsed.energy_source,
                                       save=draft.save or parsed.save)
        return draft  # a machine question whose machine was not found
    group_words = ""  # the group is read (machine_type, factory); its words are not spoken back
    # "the compressors" is a group, not a machine to ask back about ("anything we could save on the compressors")
    group_only = parsed.seu is not None and parsed.seu.seu_name is None and parsed.plural_type
    spoken = parsed.seu.words if parsed.seu is not None and not group_only else ""
    others = [s for s in parsed.names[1:] if s.seu_name != (parsed.seu.seu_name if parsed.seu else None)]
    # days and periods are read from the utterance as said ("on 2025-11-05", "11/03/2025", "am 20. Oktober" where
    # the normaliser wrote "an dem 20. Oktober"), the names cut out
    utterance = parse.said(parse.without_greeting(draft.utterance, lang), lang)
    for spot in parsed.names:
        utterance = _without(utterance, spot.words) if spot.words.lower() in utterance.lower() else utterance
    return dataclasses.replace(
        draft, op=parsed.op, utterance=utterance, spoken=spoken, parsed=True,
        energy_source=draft.energy_source or parsed.energy_source, group=group_words,
        machine_type=parsed.machine_type, factory=parsed.factory, ranking=parsed.ranking,
        spoken_b=others[0].words if others else "", save=draft.save or parsed.save)


def _span(period: Any) -> dict[str, str] | None:
    """A period said that is more than one day, as {start, end} (one day is a day)."""
    return period.to_dict() if period is not None and period.start != period.end else None


def _error(err: Exception, lang: str, today: dt.date) -> Say:
    return Say([speech.describe_error(err.to_dict(), lang, today)])  # type: ignore[attr-defined]


def _pick_seu(reply: str, options: list[str], lang: str, seus: Sequence[Any], resolver: SeuResolver) -> str | None:
    """The SEU a reply names out of ``options``: by name ("compressor one", "uh, the e u one please"), else by
    its factory ("the one in munich please")."""
    for text in (reply, speech.strip_fillers(reply, lang)):
        found = resolver.resolve(text, lang)
        if found.status == "match" and found.seu_name in options:
            return found.seu_name
        inside = [c for c in found.candidates if c in options]
        if found.status == "ambiguous" and len(inside) == 1:
            return inside[0]
    _, factory = speech.resolve_group(speech.strip_fillers(reply, lang), resolver, seus, lang)
    if factory is not None:  # a factory's name, or a word of its location ("Munich")
        place = factory.lower()
        there = sorted({s.name for s in seus if s.name in options and (
            place in (s.factory or "").lower() or place in (getattr(s, "location", None) or "").lower())})
        if len(there) == 1:
            return there[0]
    return None


def _pick_source(reply: str, words: dict[str, str], lang: str) -> str | None:
    """The source a reply names, out of ``words`` (spoken word -> source): "natural gas", "uh, the gas one
    please", "den Strom"; None when it names none of them or several."""
    for text in (reply, speech.strip_fillers(reply, lang)):
        named = spoken_source(text, lang, extra=words)
        if named in words.values():
            return named
    return None


def _shorter(spoken: str, most: int = 2) -> list[str]:
    """The slot without up to ``most`` words at its end, then at its start: where a padatious slot took a word
    of the sentence around the name. Only an exact match of what is left counts (the caller checks)."""
    words = spoken.split()
    cuts = [words[:-n] for n in range(1, most + 1)] + [words[n:] for n in range(1, most + 1)]
    return [" ".join(c) for c in cuts if len(c) >= 1 and len(c) < len(words)]


def _without(utterance: str, part: str) -> str:
    """The utterance with ``part`` (a slot's words) cut out, case-insensitively."""
    if not part.strip():
        return utterance
    return re.sub(re.escape(part.strip()), " ", utterance, flags=re.IGNORECASE)


def _place_part(utterance: str) -> str:
    """The words after the last "in"/"at"/"im"/"in der" of an utterance: where a place is said."""
    words = utterance.lower().replace("?", " ").split()
    cut = max((i for i, w in enumerate(words) if w in ("in", "at", "im", "bei", "für")), default=-1)
    return " ".join(words[cut + 1:]) if cut >= 0 else ""
