"""skill-enms-performance: spoken ISO 50001 energy-performance answers from an EnMS database.

The skill is thin: it reads slots, resolves spoken names and dates (``voice``), calls the engine
on its own event-loop thread and speaks a dialog. It holds no SQL. Bus API:
``enms.performance.analyze`` -> ``enms.performance.analyze.response``.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import re
import threading
from pathlib import Path
import time
from typing import Any, Callable, Coroutine

from ovos_bus_client.message import Message
from ovos_bus_client.session import SessionManager
from ovos_workshop.decorators import intent_handler
from ovos_workshop.skills.converse import ConversationalSkill

from . import SKILL_ID  # noqa: F401 - the skill id, for callers of this module
from .engine import Engine, EngineSettings
from .engine.errors import (BusyError, DatabasePreparingError, DatabaseUnavailableError, EnmsError, FutureDateError,
                            NoOpportunityError, UnknownSeuError)
from .engine.errors import TimeoutError_ as EngineTimeout
from .engine.timeutil import local_today
from .runtime import LoopThread
from .validation import validate
from .store import redact_dsn
from .voice import speech
from .voice.dates import resolve_day, resolve_period
from .voice.names import SeuRef, SeuResolver, spoken_source


DEFAULT_SETTINGS: dict[str, Any] = {
    "dsn": "",                      # empty: ENMS_DSN, else the embedded demo database
    "currency": "USD",
    "answer_timeout_s": 3.0,        # a spoken question is answered (or apologised for) within this
    "warm_up_timeout_s": 300.0,     # first rollup build of a large database at start
    "bus_timeout_s": 10.0,          # a bus request's work, from its turn on (waiting for a turn does not count)
    "bus_concurrency": 16,          # bus requests worked on at once; the rest wait for a turn, first come first served
    "bus_queue_timeout_s": 30.0,    # a request that gets no turn within this is answered with code "busy"
    "summary_timeout_s": 5.0,       # fleet summaries and health read every SEU
    "connect_timeout_s": 2.0,
    "statement_timeout_s": 10.0,
    "pool_max_size": 8,
    "confidence": 0.90,
    "demo_resolution_minutes": 15,
    "baseline_days": 365,           # rolling baseline before the analysed day ...
    "baseline_start": "",           # ... or a fixed EnB period (YYYY-MM-DD, both or neither)
    "baseline_end": "",
    "holiday_countries": {},        # factory name -> "DE-BY" where location/time zone do not tell
    "save_action_plans": True,      # a spoken "what should we do" saves the plan as planned
    "followup_s": 300.0,            # "what should we do about it?" refers to the last machine this long
    "ask_back_s": 20.0,             # a question asked back ("which energy of Boiler-1?") waits this long for its answer
    "show_charts": True,            # on a device with a screen (and matplotlib), show answers as pictures
}

#: skill settings handed to the engine unchanged (see EngineSettings)
ENGINE_SETTING_KEYS = ("currency", "confidence", "connect_timeout_s", "statement_timeout_s", "pool_max_size",
                       "baseline_days", "baseline_start", "baseline_end", "holiday_countries")

#: emitted for every engine call a question leads to; `enms-performance ask --json` reports it
REQUEST_EVENT = "enms.performance.request"


def _clock_from_env() -> Callable[[], dt.datetime] | None:
    """``ENMS_NOW`` (ISO 8601) pins the clock, as ``enms-performance --now`` does."""
    pinned = os.environ.get("ENMS_NOW")
    if not pinned:
        return None
    moment = dt.datetime.fromisoformat(pinned)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return lambda: moment


class EnmsPerformanceSkill(ConversationalSkill):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # locale/ is shipped inside the package; in a source checkout it sits next to it
        kwargs.setdefault("resources_dir", str(speech.resources_dir()))
        self._loop: LoopThread | None = None
        self._engine: Engine | None = None
        self._engine_error: EnmsError | None = None
        self._ready = threading.Event()
        self._resolver: SeuResolver | None = None
        self._resolver_source: list | None = None
        self._maintenance: Any = None
        self._last_seu: tuple[str | None, float] = (None, 0.0)   # for "what should we do about it?"
        self._last_day: dt.date | None = None
        self._last_source: str | None = None                      # "and yesterday?" keeps the energy source
        self._questions: dict[str, _Question] = {}                 # session id -> the question asked back
        self._questions_lock = threading.Lock()
        self._turns: asyncio.Semaphore | None = None              # bus requests worked on at once (loop only)
        self._gui_checked: tuple[float, bool] | None = None       # (when, whether a GUI answered)
        super().__init__(*args, **kwargs)

    # --- lifecycle --------------------------------------------------------------------
    def initialize(self) -> None:
        self.settings.merge(DEFAULT_SETTINGS, new_only=True)
        self._loop = LoopThread()
        threading.Thread(target=self._start_engine, name="enms-engine-setup", daemon=True).start()
        self.add_event("enms.performance.analyze", self.handle_bus_analyze)
        self.add_event("enms.performance.summary", self.handle_bus_summary)
        self.add_event("enms.performance.health", self.handle_bus_health)
        self.add_event("enms.performance.opportunities", self.handle_bus_opportunities)
        self.add_event("enms.performance.action_plan", self.handle_bus_action_plan)
        self.add_event("enms.performance.savings", self.handle_bus_savings)

    def _start_engine(self) -> None:
        """Connect to the configured database, or prepare the embedded demo database."""
        dsn = os.environ.get("ENMS_DSN") or self.settings.get("dsn") or ""
        clock = _clock_from_env()
        try:
            if not dsn:
                from .demo.embedded import demo_dsn

                self._engine_error = DatabasePreparingError()
                now = clock() if clock else None
                dsn = demo_dsn(now, log=self.log.info,
                               resolution_minutes=int(self.settings.get("demo_resolution_minutes", 15)))
            settings = EngineSettings.from_mapping({k: self.settings.get(k) or None for k in ENGINE_SETTING_KEYS})
            engine = Engine(dsn, settings, clock=clock)
            try:  # catalogue and rollups before the first question; a database down now may be up later
                self._loop.run(engine.warm_up(), timeout=float(self.settings.get("warm_up_timeout_s", 300.0)))
            except Exception as err:  # noqa: BLE001 - the engine retries on the next question
                self.log.warning(f"energy database warm-up incomplete: {redact_dsn(type(err).__name__ + ': ' + str(err))}")
            self._maintenance = self._loop.submit(engine.keep_fresh())
            self._engine = engine
            self._engine_error = None
        except Exception as err:  # noqa: BLE001 - the skill stays loaded and says what is wrong
            self.log.error(f"energy database not available: {redact_dsn(str(err))}")
            self._engine_error = DatabaseUnavailableError()
        finally:
            self._ready.set()

    def shutdown(self) -> None:
        if self._maintenance is not None:
            self._maintenance.cancel()
        if self._loop is not None:
            engine = self._engine
            self._loop.stop(cleanup=engine.close if engine else None, timeout=2.0)
        super().shutdown()

    # --- plumbing ---------------------------------------------------------------------
    def _engine_now(self) -> Engine:
        self._ready.wait(float(self.settings.get("answer_timeout_s", 3.0)))
        if self._engine is None:
            raise self._engine_error or DatabasePreparingError()
        return self._engine

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        timeout = timeout or float(self.settings.get("answer_timeout_s", 3.0))
        try:
            return self._loop.run(coro, timeout=timeout)
        except TimeoutError:
            raise EngineTimeout(timeout) from None

    def _resolver_for(self, engine: Engine) -> SeuResolver:
        seus = self._run(engine.seus())
        if self._resolver is None or self._resolver_source is not seus:
            self._resolver = SeuResolver([SeuRef(s.name, s.energy_source,
                                                 s.machine_types[0] if s.machine_types else None, s.factory)
                                          for s in seus])
            self._resolver_source = seus
        return self._resolver

    def _speak_error(self, err: EnmsError) -> None:
        dialog, slots = speech.describe_error(err.to_dict(), self.lang)
        self.speak_dialog(dialog, slots)

    def _emit_request(self, message: Message, op: str, **args: Any) -> None:
        self.bus.emit(message.forward(REQUEST_EVENT, {"op": op, **args}))

    def _ask(self, message: Message, dialog: str, slots: dict[str, str], options: list[str],
             match: Callable[[str], str | None], then: Callable[[Message, str], None]) -> None:
        """Ask back and return: the answer comes in ``converse`` (first in the pipeline while the question is
        open), is mapped onto one of ``options`` and handed to ``then`` with the answer's message.

        This is ``get_response`` without its two 100 ms polling loops and without a handler thread parked
        while the user thinks: the question lives in ``self._questions`` (per session) for ``ask_back_s``."""
        question = _Question(options, match, then, time.monotonic())
        with self._questions_lock:
            self._questions[_session_id(message)] = question
        self.speak_dialog(dialog, slots, expect_response=True)

    def _open_question(self, message: Message, take: bool) -> _Question | None:
        """The question this session was asked, if it is still open (``take``: and close it)."""
        sid = _session_id(message)
        with self._questions_lock:
            question = self._questions.get(sid)
            if question is None:
                return None
            if time.monotonic() - question.asked_at > float(self.settings.get("ask_back_s", 20.0)):
                self._questions.pop(sid, None)
                return None
            if take:
                self._questions.pop(sid, None)
            return question

    def _answer_question(self, message: Message, question: _Question) -> None:
        utterances = message.data.get("utterances") or [""]
        chosen = question.match(str(utterances[0]))
        if chosen not in question.options:
            self.speak_dialog("ask.no_answer")
            return
        question.then(message, chosen)

    # --- intents ----------------------------------------------------------------------
    @intent_handler("performance.intent")
    def handle_performance(self, message: Message) -> None:
        """How did {seu} perform (today | yesterday | on <date>)?"""
        try:
            self._answer_performance(message, message.data.get("seu", ""))
        except EnmsError as err:
            self._speak_error(err)

    def _with_seu(self, message: Message, engine: Engine, spoken: str,
                  then: Callable[[Message, Any, str], None], need_source: bool = True) -> None:
        """Spoken name -> ``then(message, SEU row, the words that named it)``.

        An unknown name is said and ends here; a name that fits several SEUs, or an SEU with several energy
        sources when the utterance names none, is asked back and ``then`` runs with the answer (in converse).
        A source word anywhere in the utterance counts ("how much gas did boiler one use"), not only in the slot.
        ``need_source=False``: the question is about the machine (opportunities, plans, savings), not one source.
        """
        resolver = self._resolver_for(engine)
        found = resolver.resolve(spoken, self.lang)
        if found.status == "unknown":  # the slot may have swallowed the date: "... one on october 29th"
            name_only = speech.split_name_and_when(spoken, self.lang)
            if name_only != spoken:
                found = resolver.resolve(name_only, self.lang)
                spoken = name_only if found.status != "unknown" else spoken
        if found.status == "unknown":
            self._speak_error(UnknownSeuError(spoken, list(found.candidates)))
            return
        utterance = str(message.data.get("utterance") or "")
        # the slot had its say in resolve(); the words around it may name the source too
        said_source = found.energy_source or spoken_source(_without(utterance, spoken), self.lang)

        def with_name(msg: Message, seu_name: str) -> None:
            sources = [s.energy_source for s in self._run(engine.seus()) if s.name == seu_name]
            source = said_source if said_source in sources or len(sources) <= 1 else found.energy_source
            if not need_source and source is None:
                then(msg, self._run(engine.find_seu_any_source(seu_name)), spoken)
                return
            if source is None and len(sources) > 1:
                words = {speech.source_words(s, self.lang): s for s in sources}
                self._ask(msg, "ask.energy_source",
                          {"seu": seu_name, "options": speech.join_options(list(words), self.lang)}, sources,
                          lambda answer: _pick_source(answer, words, self.lang),
                          lambda m, chosen: then(m, self._run(engine.find_seu(seu_name, chosen)), spoken))
                return
            then(msg, self._run(engine.find_seu(seu_name, source)), spoken)

        if found.status == "ambiguous":
            options = list(found.candidates)
            self._ask(message, "ask.which_seu", {"options": speech.join_options(options, self.lang)}, options,
                      lambda answer: _pick(resolver.resolve(answer, self.lang), options), with_name)
            return
        with_name(message, found.seu_name)

    def _with_analysis(self, message: Message, spoken: str,
                       then: Callable[[Any, dt.date], None]) -> None:
        """Resolve the SEU (asking back if needed) and the day said, analyse, and hand (result, today) on."""
        engine = self._engine_now()
        utterance = str(message.data.get("utterance") or "")

        def analyse(msg: Message, seu: Any, spoken: str) -> None:
            today = local_today(engine.now(), seu.timezone)
            said = resolve_day(utterance, today, self.lang, strip=[spoken])
            if said.status == "future" and said.day is not None:
                self._speak_error(FutureDateError(said.day, today))
                return
            day = said.day or today
            self._emit_request(msg, "analyze", seu_name=seu.name, energy_source=seu.energy_source,
                               analysis_date=day.isoformat())
            self._last_seu = (seu.name, time.monotonic())
            self._last_day, self._last_source = day, seu.energy_source
            then(self._run(engine.analyze_seu_performance(seu.name, seu.energy_source, day)), today)

        self._with_seu(message, engine, spoken, analyse)

    def _answer_performance(self, message: Message, spoken: str) -> None:
        def speak(result: Any, today: dt.date) -> None:
            self.speak_dialog(*speech.describe_analysis(result.to_dict(), self.lang, today))
            self._show_chart("analyze", {"seu_name": result.seu_name, "energy_source": result.energy_source,
                                         "analysis_date": result.date.isoformat()})

        self._with_analysis(message, spoken, speak)

    def _show_chart(self, op: str, request: dict[str, Any]) -> None:
        """On a device with a screen, show the answer as a picture (after speaking, off the handler)."""
        if not self.settings.get("show_charts", True) or self._engine is None:
            return
        engine = self._engine

        def work() -> None:
            try:
                if not self._gui_connected():
                    return
                from . import chart

                folder = Path(self.file_system.path) / "charts"
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{op}.png"
                if op == "analyze":
                    series = self._run(engine.chart_series(request["seu_name"], request["energy_source"],
                                                           request["analysis_date"]))
                    chart.performance_chart(series, path)
                else:
                    summary = self._run(engine.summary(**request), float(self.settings.get("summary_timeout_s", 5.0)))
                    chart.fleet_chart(summary.to_dict(), path)
                self.gui.show_image(str(path), override_idle=30)
            except Exception as err:  # noqa: BLE001 - a picture is a bonus; the spoken answer stands
                self.log.debug(f"no chart: {type(err).__name__}")

        threading.Thread(target=work, name="enms-chart", daemon=True).start()

    def _gui_connected(self) -> bool:
        """Whether a GUI is connected, asked on the bus at most once a minute.

        Not ``self.gui.connected``: its local check opens a matplotlib figure per call that is never closed (a leak
        of one figure per spoken answer) and imports pyplot on this thread, which breaks a pyplot import running at
        the same time elsewhere ("partially initialized module")."""
        now = time.monotonic()
        if self._gui_checked is None or now - self._gui_checked[0] > 60.0:
            from ovos_utils.gui import is_gui_connected

            self._gui_checked = (now, bool(is_gui_connected(self.bus)))
        return self._gui_checked[1]

    @intent_handler("why.intent")
    def handle_why(self, message: Message) -> None:
        """Why did {seu} use so much energy / what's causing the high consumption on {seu}?"""
        def speak(result: Any, today: dt.date) -> None:
            for dialog, slots in speech.describe_attribution(result.to_dict(), self.lang, today):
                self.speak_dialog(dialog, slots)

        try:
            self._with_analysis(message, message.data.get("seu", ""), speak)
        except EnmsError as err:
            self._speak_error(err)

    @intent_handler("summary.intent")
    def handle_summary(self, message: Message) -> None:
        """Give me a summary of all {group} (compressors, the whole plant, the Munich plant)."""
        try:
            engine = self._engine_now()
            seus = self._run(engine.seus())
            spoken_group = message.data.get("group", "")
            machine_type, factory = speech.resolve_group(spoken_group, self._resolver_for(engine), seus, self.lang)
            if machine_type is None and factory is None and not speech.means_everything(spoken_group, self.lang):
                self.speak_dialog("error.unknown_group", {"group": speech.without_article(spoken_group, self.lang)})
                return
            tz = seus[0].timezone if seus else "UTC"
            today = local_today(engine.now(), tz)
            utterance = message.data.get("utterance", "")
            period = resolve_period(utterance, today, self.lang, strip=[spoken_group])
            request: dict[str, Any] = {"machine_type": machine_type, "factory": factory,
                                       "analysis_date": None, "period": None}
            if period is not None and period.start != period.end:
                request["period"] = period.to_dict()
            else:
                said = resolve_day(utterance, today, self.lang, strip=[spoken_group])
                if said.status == "future" and said.day is not None:
                    self._speak_error(FutureDateError(said.day, today))
                    return
                request["analysis_date"] = (said.day or (period.start if period else None) or today).isoformat()
            self._emit_request(message, "summary", **request)
            result = self._run(engine.summary(**request), timeout=float(self.settings.get("summary_timeout_s", 5.0)))
            for dialog, slots in speech.describe_summary(result.to_dict(), spoken_group, self.lang, today):
                self.speak_dialog(dialog, slots)
            self._show_chart("summary", request)
        except EnmsError as err:
            self._speak_error(err)

    def _period_request(self, engine: Engine, utterance: str, strip: list[str], tz: str) -> tuple[dict[str, str], dt.date]:
        """The period said ('this month', 'last quarter'), else the last 30 complete days."""
        today = local_today(engine.now(), tz)
        said = resolve_period(utterance, today, self.lang, strip=strip)
        if said is not None:
            return said.to_dict(), today
        start, end = engine.period_days("month", today)
        return {"start": start.isoformat(), "end": end.isoformat()}, today

    # --- follow-ups: "and yesterday?", "why?", "how about HVAC-Main?" ---------------------
    def can_converse(self, message: Message) -> bool:
        return self._open_question(message, take=False) is not None or self._followup(message, answer=False)

    def handle_deactivate(self, message: Message) -> None:
        """No longer in the conversation (another skill took over, or the core ended it): a question asked
        back is closed, so that a later utterance is never taken for its answer."""
        with self._questions_lock:
            self._questions.pop(_session_id(message), None)

    def converse(self, message: Message) -> bool:
        try:
            question = self._open_question(message, take=True)
            if question is not None:  # the answer to a question asked back: whatever it is, it is ours
                self._answer_question(message, question)
                return True
            return self._followup(message, answer=True)
        except EnmsError as err:
            self._speak_error(err)
            return True

    def _followup(self, message: Message, answer: bool) -> bool:
        """A short follow-up to the last analysis (within ``followup_s``): another day, another
        machine, or why. Never touches the database unless it answers."""
        name, when = self._last_seu
        if not name or self._last_day is None or self._engine is None or \
                time.monotonic() - when > float(self.settings.get("followup_s", 300.0)):
            return False
        utterances = message.data.get("utterances") or [""]
        utterance = str(utterances[0])
        lang = str(message.data.get("lang") or self.lang)
        if speech.is_followup_why(utterance, lang):
            if answer:
                self._answer_followup(message, name, self._last_day, why=True)
            return True
        rest = speech.followup_rest(utterance, lang)
        if rest is None or self._resolver is None:
            return False
        found = self._resolver.resolve(rest, lang)
        if found.status == "match":
            if answer:
                self._answer_followup(message, found.seu_name, self._last_day, why=False, source=found.energy_source)
            return True
        seu_tz = next((s.timezone for s in self._engine._seus if s.name == name), "UTC")  # noqa: SLF001
        said = resolve_day(rest, local_today(self._engine.now(), seu_tz), lang)
        if said.day is not None or said.status == "future":
            if answer:
                if said.status == "future" and said.day is not None:
                    self._speak_error(FutureDateError(said.day, local_today(self._engine.now(), seu_tz)))
                else:
                    self._answer_followup(message, name, said.day, why=False)
            return True
        return False

    def _answer_followup(self, message: Message, seu_name: str, day: dt.date, why: bool,
                         source: str | None = None) -> None:
        engine = self._engine_now()
        seus = [s for s in self._run(engine.seus()) if s.name == seu_name]
        if source is None and len(seus) > 1:  # keep the energy source of the last answer where it fits
            kept = [s.energy_source for s in seus if s.energy_source == self._last_source]
            source = kept[0] if kept else seus[0].energy_source
        seu = self._run(engine.find_seu(seu_name, source or (seus[0].energy_source if seus else None)))
        today = local_today(engine.now(), seu.timezone)
        self._emit_request(message, "analyze", seu_name=seu.name, energy_source=seu.energy_source,
                           analysis_date=day.isoformat())
        self._last_seu, self._last_day, self._last_source = (seu.name, time.monotonic()), day, seu.energy_source
        result = self._run(engine.analyze_seu_performance(seu.name, seu.energy_source, day)).to_dict()
        if why:
            for dialog, slots in speech.describe_attribution(result, self.lang, today):
                self.speak_dialog(dialog, slots)
        else:
            self.speak_dialog(*speech.describe_analysis(result, self.lang, today))

    @intent_handler("opportunities.intent")
    def handle_opportunities(self, message: Message) -> None:
        """Where can we save energy (this month)? / How can we save energy on {seu}?"""
        try:
            engine = self._engine_now()
            spoken = message.data.get("seu", "")
            if spoken:
                self._with_seu(message, engine, spoken,
                               lambda msg, seu, said: self._answer_opportunities(msg, engine, seu.name, said),
                               need_source=False)
            else:
                self._answer_opportunities(message, engine, None, "")
        except EnmsError as err:
            self._speak_error(err)

    def _answer_opportunities(self, message: Message, engine: Engine, seu_name: str | None, spoken: str) -> None:
        seus = self._run(engine.seus())
        factory = None
        if message.data.get("factory"):
            _, factory = speech.resolve_group(message.data["factory"], self._resolver_for(engine), seus, self.lang)
        period, today = self._period_request(engine, message.data.get("utterance", ""), [spoken],
                                             seus[0].timezone if seus else "UTC")
        self._emit_request(message, "opportunities", period=period, factory=factory, seu_name=seu_name)
        report = self._run(engine.opportunities(period, factory=factory, seu=seu_name),
                           timeout=float(self.settings.get("summary_timeout_s", 5.0)))
        self._last_seu = (report.opportunities[0].seu_name, time.monotonic()) if report.opportunities \
            else self._last_seu
        for dialog, slots in speech.describe_opportunities(report.to_dict(), self.lang, today):
            self.speak_dialog(dialog, slots)

    @intent_handler("action_plan.intent")
    def handle_action_plan(self, message: Message) -> None:
        """What should we do about {seu}? (saved as a planned action)"""
        try:
            engine = self._engine_now()
            self._with_seu(message, engine, message.data.get("seu", ""),
                           lambda msg, seu, _: self._plan_for(msg, engine, seu.name), need_source=False)
        except EnmsError as err:
            self._speak_error(err)

    @intent_handler("followup_plan.intent")
    def handle_followup_plan(self, message: Message) -> None:
        """What should we do about it? - for the machine of the last answer (a few minutes)."""
        try:
            engine = self._engine_now()
            name, when = self._last_seu
            if not name or time.monotonic() - when > float(self.settings.get("followup_s", 300.0)):
                self.speak_dialog("plan.no_context")
                return
            self._plan_for(message, engine, name)
        except EnmsError as err:
            self._speak_error(err)

    def _plan_for(self, message: Message, engine: Engine, seu_name: str) -> None:
        self._emit_request(message, "action_plan", seu_name=seu_name, issue_type=None)
        seu = self._run(engine.find_seu_any_source(seu_name))
        try:
            plan = self._run(engine.action_plan(seu_name, save=bool(self.settings.get("save_action_plans", True))),
                             timeout=float(self.settings.get("summary_timeout_s", 5.0)))
        except NoOpportunityError:
            self.speak_dialog("plan.none", {"seu": seu.name})
            return
        today = local_today(engine.now(), seu.timezone)
        for dialog, slots in speech.describe_plan(plan.to_dict(), seu.machine_types[0] if seu.machine_types else "",
                                                  self.lang, today):
            self.speak_dialog(dialog, slots)

    @intent_handler("plan_count.intent")
    def handle_plan_count(self, message: Message) -> None:
        """How many action plans are in progress?"""
        try:
            engine = self._engine_now()
            self._emit_request(message, "action_plans")
            counts = self._run(engine.action_plans())["counts"]
            self.speak_dialog("plans.count", {k: str(counts.get(k, 0)) for k in ("in_progress", "planned", "completed")})
        except EnmsError as err:
            self._speak_error(err)

    @intent_handler("savings.intent")
    def handle_savings(self, message: Message) -> None:
        """How much energy have we saved this month? / What are our savings on {seu} this year?"""
        try:
            engine = self._engine_now()
            spoken = message.data.get("seu", "")
            if spoken:
                self._with_seu(message, engine, spoken,
                               lambda msg, seu, said: self._answer_savings(msg, engine, seu.name, said),
                               need_source=False)
            else:
                self._answer_savings(message, engine, None, "")
        except EnmsError as err:
            self._speak_error(err)

    def _answer_savings(self, message: Message, engine: Engine, seu_name: str | None, spoken: str) -> None:
        seus = self._run(engine.seus())
        period, today = self._period_request(engine, message.data.get("utterance", ""), [spoken],
                                             seus[0].timezone if seus else "UTC")
        self._emit_request(message, "savings", seu_name=seu_name, period=period)
        report = self._run(engine.savings(seu_name, period), timeout=float(self.settings.get("summary_timeout_s", 5.0)))
        self.speak_dialog(*speech.describe_savings(report.to_dict(), self.lang, today))

    @intent_handler("health.intent")
    def handle_health(self, message: Message) -> None:
        """Is the energy database ok?"""
        try:
            engine = self._engine_now()
            self._emit_request(message, "health")
            report = self._run(engine.health(), timeout=float(self.settings.get("summary_timeout_s", 5.0)))
            if not report.get("database_reachable"):
                self._speak_error(DatabaseUnavailableError())
                return
            self.speak_dialog(*speech.describe_health(report, self.lang))
        except EnmsError as err:
            self._speak_error(err)

    # --- bus API ----------------------------------------------------------------------
    def handle_bus_analyze(self, message: Message) -> None:
        """``enms.performance.analyze`` {seu_name, energy_source?, analysis_date?} -> ``.response``."""
        req = self._validated(message, "analyze")
        if req is None:
            return
        lang = self._bus_lang(message.data)

        async def work() -> dict[str, Any]:
            engine = self._engine_or_raise()
            result = await engine.analyze_seu_performance(req.seu_name, req.energy_source, req.analysis_date)
            payload = result.to_dict()
            seu = await engine.find_seu(result.seu_name, result.energy_source)
            today = local_today(engine.now(), seu.timezone)
            payload["voice_summary"] = speech.speak(*speech.describe_analysis(payload, lang, today), lang)
            return payload

        self._reply_async(message, work())

    def handle_bus_summary(self, message: Message) -> None:
        """``enms.performance.summary`` {machine_type?, factory?, analysis_date?, period?} -> ``.response``."""
        req = self._validated(message, "summary")
        if req is None:
            return
        lang = self._bus_lang(message.data)

        async def work() -> dict[str, Any]:
            engine = self._engine_or_raise()
            result = await engine.summary(machine_type=req.machine_type, factory=req.factory,
                                          analysis_date=req.analysis_date, period=_period(req.period))
            payload = result.to_dict()
            group = req.machine_type or req.factory or ""
            today = await engine.today()
            payload["voice_summary"] = " ".join(
                speech.speak(d, s, lang) for d, s in speech.describe_summary(payload, group, lang, today))
            return payload

        self._reply_async(message, work())

    def handle_bus_health(self, message: Message) -> None:
        """``enms.performance.health`` -> ``.response`` with the health report."""
        if self._validated(message, "health") is None:
            return

        async def work() -> dict[str, Any]:
            engine = self._engine_or_raise()
            return await engine.health()

        self._reply_async(message, work())

    def handle_bus_opportunities(self, message: Message) -> None:
        """``enms.performance.opportunities`` {period?: week|month|quarter|{start,end}, factory?, seu_name?}."""
        req = self._validated(message, "opportunities")
        if req is None:
            return
        lang = self._bus_lang(message.data)

        async def work() -> dict[str, Any]:
            engine = self._engine_or_raise()
            report = await engine.opportunities(_period(req.period), factory=req.factory, seu=req.seu_name)
            payload = report.to_dict()
            today = await engine.today()
            payload["voice_summary"] = " ".join(
                speech.speak(d, s, lang) for d, s in speech.describe_opportunities(payload, lang, today))
            return payload

        self._reply_async(message, work())

    def handle_bus_action_plan(self, message: Message) -> None:
        """``enms.performance.action_plan`` {seu_name, issue_type?, save?, status?} or {list: true, status?}."""
        req = self._validated(message, "action_plan")
        if req is None:
            return
        lang = self._bus_lang(message.data)

        async def work() -> dict[str, Any]:
            engine = self._engine_or_raise()
            if req.list:
                return await engine.action_plans(req.status, seu=req.seu_name, limit=req.limit, offset=req.offset)
            plan = await engine.action_plan(req.seu_name, req.issue_type, save=req.save, status=req.status)
            seu = await engine.find_seu_any_source(req.seu_name)
            payload = plan.to_dict()
            today = await engine.today(seu.name)
            payload["voice_summary"] = " ".join(speech.speak(d, s, lang) for d, s in speech.describe_plan(
                payload, seu.machine_types[0] if seu.machine_types else "", lang, today))
            return payload

        self._reply_async(message, work())

    def handle_bus_savings(self, message: Message) -> None:
        """``enms.performance.savings`` {seu_name?, period?: week|month|quarter|year|{start,end}}."""
        req = self._validated(message, "savings")
        if req is None:
            return
        lang = self._bus_lang(message.data)

        async def work() -> dict[str, Any]:
            engine = self._engine_or_raise()
            report = await engine.savings(req.seu_name, _period(req.period))
            payload = report.to_dict()
            today = await engine.today()
            payload["voice_summary"] = speech.speak(*speech.describe_savings(payload, lang, today), lang)
            return payload

        self._reply_async(message, work())

    def _validated(self, message: Message, op: str) -> Any:
        """The bus request of type ``op``, or None after answering a rejected one at once (it never queues)."""
        try:
            return validate(op, message.data)
        except EnmsError as err:
            self.bus.emit(message.response({"error": err.to_dict(), "elapsed_ms": 0.0, "queued_ms": None}))
            return None

    def _bus_lang(self, data: Any) -> str:
        """The language a bus caller asked for, if this skill ships it; else the device's."""
        shipped = speech.shipped_languages()
        lang = data.get("lang") if isinstance(data, dict) else None
        if isinstance(lang, str) and lang.lower() in shipped:
            return lang.lower()
        try:  # self.lang reads the message's language tag, which may be garbage on the bus
            device = self.lang.lower()
        except Exception:  # noqa: BLE001 - langcodes rejects non-ASCII tags
            device = speech.DEFAULT_LANG
        return device if device in shipped else speech.DEFAULT_LANG

    def _engine_or_raise(self) -> Engine:
        if self._engine is None:
            raise self._engine_error or DatabasePreparingError()
        return self._engine

    def _reply_async(self, message: Message, coro: Coroutine[Any, Any, dict[str, Any]]) -> None:
        """Run on the loop without blocking the bus; always reply, with the result or an error.

        Admission control: at most ``bus_concurrency`` requests are worked on at once, the rest wait for a turn
        in arrival order (a burst then finishes what it starts instead of timing everything out half-way); the
        work timeout starts with the turn, and a request that waits longer than ``bus_queue_timeout_s`` is
        answered with code ``busy``. Spoken questions do not queue here: a person waiting goes first."""
        timeout = float(self.settings.get("bus_timeout_s", 10.0))
        queue_timeout = float(self.settings.get("bus_queue_timeout_s", 30.0))
        started = time.monotonic()
        waited: list[float] = []

        async def guarded() -> dict[str, Any]:
            turns = self._bus_turns()
            try:
                try:
                    await asyncio.wait_for(turns.acquire(), queue_timeout)
                except asyncio.TimeoutError:
                    raise BusyError(queue_timeout) from None
                waited.append(time.monotonic() - started)
                try:
                    return await _wait_for(coro, timeout)
                finally:
                    turns.release()
            except EnmsError as err:
                return {"error": {"code": err.code, "message": redact_dsn(err.message)}}
            except Exception as err:  # noqa: BLE001 - a bus caller always gets an answer
                self.log.exception("bus request failed")
                return {"error": {"code": "internal_error", "message": redact_dsn(type(err).__name__)}}
            finally:
                coro.close()  # never started (busy, cancelled): no "never awaited" warning

        def done(future: Any) -> None:
            try:
                payload = future.result()
            except BaseException as err:  # noqa: BLE001 - cancelled at shutdown
                payload = {"error": {"code": "internal_error", "message": type(err).__name__}}
            payload.setdefault("elapsed_ms", round((time.monotonic() - started) * 1000, 1))
            payload.setdefault("queued_ms", round(waited[0] * 1000, 1) if waited else None)
            self.bus.emit(message.response(payload))

        self._loop.submit(guarded()).add_done_callback(done)

    def _bus_turns(self) -> asyncio.Semaphore:
        """The bus requests' turns (made on the loop, on first use)."""
        if self._turns is None:
            self._turns = asyncio.Semaphore(max(1, int(self.settings.get("bus_concurrency", DEFAULT_SETTINGS["bus_concurrency"]))))
        return self._turns


async def _wait_for(coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
    try:
        return await asyncio.wait_for(coro, timeout)
    except asyncio.TimeoutError:
        raise EngineTimeout(timeout) from None


def _period(period: Any) -> str | dict[str, str] | None:
    """A validated period as the engine takes it: a word, or {start, end} in ISO form."""
    return period.to_request() if hasattr(period, "to_request") else period


def _pick(found: Any, options: list[str]) -> str | None:
    if found.status == "match" and found.seu_name in options:
        return found.seu_name
    inside = [c for c in found.candidates if c in options]
    return inside[0] if found.status == "ambiguous" and len(inside) == 1 else None


def _pick_source(answer: str, words: dict[str, str], lang: str) -> str | None:
    """The source an answer names, out of ``words`` (spoken word -> source): "natural gas", "the gas one",
    "den Strom"; None when it names none of them or several."""
    named = spoken_source(answer, lang, extra=words)
    return named if named in words.values() else None


def _without(utterance: str, part: str) -> str:
    """The utterance with ``part`` (a slot's words) cut out, case-insensitively."""
    if not part.strip():
        return utterance
    return re.sub(re.escape(part.strip()), " ", utterance, flags=re.IGNORECASE)


def _session_id(message: Message) -> str:
    return SessionManager.get(message).session_id


@dataclasses.dataclass
class _Question:
    """A question asked back, waiting for its answer in converse."""

    options: list[str]
    match: Callable[[str], str | None]
    then: Callable[[Message, str], None]
    asked_at: float
