"""skill-enms-performance: spoken ISO 50001 energy-performance answers from an EnMS database.

The skill is thin: a question is read whole by the request parser (``voice.parse``, in a fallback of high priority:
it claims only utterances that name this plant or a strong word of the domain), answers to questions asked back and
follow-ups are taken in ``converse``; the conversation makes a ``Request`` of either (or asks back), ``answers``
answers it on the engine's event-loop thread, and the skill speaks the dialog lines.
It holds no SQL. The bus API (``enms.performance.<op>`` -> ``.response``) lives in ``bus_api``.
"""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import gc
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Coroutine

from ovos_bus_client.message import Message
from ovos_bus_client.session import SessionManager
from ovos_utils import classproperty
from ovos_workshop.decorators import fallback_handler
from ovos_utils.process_utils import RuntimeRequirements
from ovos_workshop.skills.converse import ConversationalSkill
from ovos_workshop.skills.fallback import FallbackSkill

from . import SKILL_ID  # noqa: F401 - the skill id, for callers of this module
from .answers import Answer, Request, answer
from .bus_api import BusApi
from .conversation import Ask, Conversation, Draft, Outcome, Say
from .engine import Engine, EngineSettings
from .engine.errors import DatabasePreparingError, DatabaseUnavailableError, EnmsError
from .engine.errors import TimeoutError_ as EngineTimeout
from .runtime import LoopThread, redact
from .voice import parse, speech
from .voice.names import SeuRef, SeuResolver, kinds_only


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
    "compute_threads": 2,            # fits and scans run in these threads, off the event loop
    "fit_ahead_seus": 50,           # a plant of at least this many SEUs gets its baselines fitted after start (-1: never)
    "confidence": 0.90,
    "demo_resolution_minutes": 15,
    "baseline_days": 365,           # rolling baseline before the analysed day ...
    "baseline_start": "",           # ... or a fixed EnB period (YYYY-MM-DD, both or neither)
    "baseline_end": "",
    "holiday_countries": {},        # factory name -> "DE-BY" where location/time zone do not tell
    "save_action_plans": True,      # a spoken "what should we do" offers to save the plan (saved on a yes)
    "followup_s": 300.0,            # "what should we do about it?" refers to the last machine this long
    "ask_back_s": 20.0,             # a question asked back ("which energy of Boiler-1?") waits this long for its answer
    "show_charts": True,            # on a device with a screen (and matplotlib), show answers as pictures
    "freeze_startup_objects": True,  # gc.freeze() once started: full collections skip what was loaded (short stalls)
}

#: skill settings handed to the engine unchanged (see EngineSettings)
ENGINE_SETTING_KEYS = ("currency", "confidence", "connect_timeout_s", "statement_timeout_s", "pool_max_size",
                       "baseline_days", "baseline_start", "baseline_end", "holiday_countries", "compute_threads",
                       "fit_ahead_seus")

#: emitted for every engine call a question leads to; `enms-performance ask --json` reports it
REQUEST_EVENT = "enms.performance.request"
#: emitted when a question is asked back instead (which SEU, which energy source): what is known so far
ASK_BACK_EVENT = "enms.performance.ask_back"


def _clock_from_env() -> Callable[[], dt.datetime] | None:
    """``ENMS_NOW`` (ISO 8601) pins the clock, as ``enms-performance --now`` does."""
    pinned = os.environ.get("ENMS_NOW")
    if not pinned:
        return None
    moment = dt.datetime.fromisoformat(pinned)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return lambda: moment


#: plant-wide answers that may go on working after their time budget ran out (``_run_or_go_on``)
MAX_GOING_ON = 2


def _consumed(future: concurrent.futures.Future) -> None:
    """A slow answer nobody waits for any more: its error is not news (asyncio would log it as never retrieved)."""
    if not future.cancelled():
        future.exception()


class EnmsPerformanceSkill(ConversationalSkill, FallbackSkill):
    @classproperty
    def runtime_requirements(self) -> RuntimeRequirements:
        # the EnMS database is local or on the plant network, never on the internet: load and answer offline
        return RuntimeRequirements(internet_before_load=False, network_before_load=False, requires_internet=False,
                                   requires_network=False, no_internet_fallback=True, no_network_fallback=True)

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
        self._going_on: dict[str, concurrent.futures.Future] = {}  # slow answers left to finish after a timeout
        self._going_on_lock = threading.Lock()
        self.conversation: Conversation | None = None
        self.bus_api: BusApi | None = None
        self._gui_checked: tuple[float, bool] | None = None       # (when, whether a GUI answered)
        super().__init__(*args, **kwargs)

    # --- lifecycle --------------------------------------------------------------------
    def initialize(self) -> None:
        self.settings.merge(DEFAULT_SETTINGS, new_only=True)
        self._loop = LoopThread()
        self.conversation = Conversation(self.settings)
        threading.Thread(target=self._start_engine, name="enms-engine-setup", daemon=True).start()
        self.bus_api = BusApi(self, self._loop, self._engine_or_raise, DEFAULT_SETTINGS["bus_concurrency"])
        self.bus_api.register()

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
                self.log.warning(f"energy database warm-up incomplete: {redact(type(err).__name__ + ': ' + str(err))}")
            self._maintenance = self._loop.submit(engine.keep_fresh())
            self._prime_reading(engine)
            if self.settings.get("freeze_startup_objects", True):
                # Everything loaded so far (this skill's modules and catalogue, the other skills of the process, the
                # core) lives as long as the process: a full garbage collection need not walk it again and again.
                # Walking it took 150-350 ms each time in a test process, time in which the engine's loop (and
                # every thread of the process) stood still (issue 14: <= 100 ms).
                gc.freeze()
            self._engine = engine
            self._engine_error = None
        except Exception as err:  # noqa: BLE001 - the skill stays loaded and says what is wrong
            self.log.error(f"energy database not available: {redact(str(err))}")
            self._engine_error = DatabaseUnavailableError()
        finally:
            self._ready.set()

    def _prime_reading(self, engine: Engine) -> None:
        """The plant's names and every shipped language's words read once, before the first question: the fallback
        stage waits 0.5 s for skills to say whether an utterance is theirs, and the first reading of a process
        (the catalogue, every locale list, the number parser's tables) took about that on a busy device."""
        try:
            resolver = self._resolver_for(engine)
            for lang in speech.shipped_languages():
                for example in speech.examples(lang):
                    parse.parse(example, lang, resolver, self._resolver_source or [])
        except Exception as err:  # noqa: BLE001 - the first question reads them instead
            self.log.debug(f"reading not primed: {type(err).__name__}")

    def shutdown(self) -> None:
        if self._maintenance is not None:
            self._maintenance.cancel()
        if self._loop is not None:
            engine = self._engine
            self._loop.stop(cleanup=engine.close if engine else None, timeout=2.0)
        if self.bus_api is not None:
            self.bus_api.close()
        super().shutdown()

    # --- plumbing ---------------------------------------------------------------------
    def _engine_now(self) -> Engine:
        self._ready.wait(float(self.settings.get("answer_timeout_s", 3.0)))
        return self._engine_or_raise()

    def _engine_or_raise(self) -> Engine:
        if self._engine is None:
            raise self._engine_error or DatabasePreparingError()
        return self._engine

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        timeout = timeout or float(self.settings.get("answer_timeout_s", 3.0))
        try:
            return self._loop.run(coro, timeout=timeout)
        except TimeoutError:
            raise EngineTimeout(timeout) from None

    def _run_or_go_on(self, key: str, make: Callable[[], Coroutine[Any, Any, Any]], timeout: float) -> Any:
        """A plant-wide answer that takes longer than its budget goes on working after the skill has said "that took
        too long, try again in a moment" (a cold scan of 500 SEUs takes half a minute; cancelled at every timeout it
        never got warm), and the same question asked again waits for that work instead of starting it anew. At most
        ``MAX_GOING_ON`` go on at once; beyond that a timeout cancels as before."""
        with self._going_on_lock:
            future = self._going_on.get(key)
            if future is None or future.done():
                future = self._loop.submit(make())
                future.add_done_callback(_consumed)
                self._going_on[key] = future
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            with self._going_on_lock:
                if sum(1 for f in self._going_on.values() if not f.done()) > MAX_GOING_ON:
                    future.cancel()
            raise EngineTimeout(timeout) from None
        finally:
            with self._going_on_lock:
                for done in [k for k, f in self._going_on.items() if f.done()]:
                    del self._going_on[done]

    def _resolver_for(self, engine: Engine) -> SeuResolver:
        seus = self._run(engine.seus())
        if self._resolver is None or self._resolver_source is not seus:
            refs = [SeuRef(s.name, s.energy_source, s.machine_types[0] if s.machine_types else None, s.factory)
                    for s in seus]
            # the catalogue is read again now and then (a health check always): the resolver and the readings it
            # keeps stay while the plant's names are the same (a new resolver reads every question anew: 40-170 ms
            # on a plant of 500 SEUs)
            if self._resolver is None or refs != self._resolver.refs():
                self._resolver = SeuResolver(refs)
            self._resolver_source = seus
        return self._resolver

    def _speak(self, lines: list[tuple[str, dict[str, str]]]) -> None:
        for dialog, slots in lines:
            self.speak_dialog(dialog, slots)

    # --- one path: draft -> request (or a question asked back) -> answer -> dialogs ------------
    def _answer_spoken(self, message: Message, heard: Outcome) -> None:
        """Answer a spoken question; every handler, every answer asked back and every follow-up comes here."""
        try:
            engine = self._engine_now()
            outcome = heard
            if isinstance(heard, Draft):
                resolver = self._resolver_for(engine)
                outcome = self.conversation.understand(_session_id(message), heard, self.lang,
                                                       self._resolver_source, resolver, engine)
            if isinstance(outcome, Ask):
                self.bus.emit(message.forward(ASK_BACK_EVENT, outcome.event()))
                self.speak_dialog(outcome.dialog, outcome.slots, expect_response=True)
            elif isinstance(outcome, Say):
                self._speak(outcome.lines)
            else:
                self._respond(message, engine, outcome)
        except EnmsError as err:
            self._speak([speech.describe_error(err.to_dict(), self.lang)])

    def _respond(self, message: Message, engine: Engine, request: Request) -> None:
        event = message.forward(REQUEST_EVENT, request.event())
        event.context["enms_op"] = request.op  # "why" and "analyze" share the request record; the op is said here
        self.bus.emit(event)
        slow = request.op in ("summary", "ranking", "compare", "opportunities", "action_plan", "savings", "health")
        timeout = float(self.settings.get("summary_timeout_s" if slow else "answer_timeout_s", 5.0 if slow else 3.0))
        reply = self._run_or_go_on(f"{self.lang} {json.dumps(request.event(), sort_keys=True, default=str)}",
                                   lambda: answer(engine, request, self.lang), timeout) if slow else \
            self._run(answer(engine, request, self.lang), timeout)
        if reply.error_code == "no_opportunity" and request.op == "action_plan":
            self.speak_dialog("plan.none", {"seu": request.seu_name or ""})
            return
        self._speak(reply.lines)
        session = _session_id(message)
        self.conversation.remember(session, request, reply.payload)
        if reply.error_code is None and request.op == "action_plan" and not request.save \
                and self.settings.get("save_action_plans", True):  # no write without a yes
            ask = self.conversation.ask_to_save(session, request)
            self.speak_dialog(ask.dialog, ask.slots, expect_response=True)
        if reply.error_code is None and request.op in ("analyze", "summary"):
            self._show_chart(request.op, _chart_request(request, reply))

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
                if op == "analyze" and "daily" in request:  # one SEU over a period: its own days
                    chart.period_chart(request, path)
                elif op == "analyze":
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

    # --- a question: the whole utterance read by the request parser ----------------------------
    def can_answer(self, message: Message) -> bool:
        """Whether an utterance no other skill's intent matched with high confidence is ours: the request parser
        reads an op, and a name of this plant (SEU, machine type, factory, place) or a strong word of the domain is
        said. Everything else is left to the other skills ("how is my team doing", "summary of the news")."""
        return self._parsed(message) is not None

    def _parsed(self, message: Message) -> tuple[str, parse.Parsed] | None:
        """The first utterance (of the speech-to-text alternatives) the request parser reads as ours, and its
        reading; None when none is (or the plant's catalogue cannot be read now)."""
        resolver, seus = self._resolver, self._resolver_source or []
        if resolver is None:
            try:
                resolver, seus = self._resolver_for(self._engine_or_raise()), self._resolver_source or []
            except Exception:  # noqa: BLE001 - no catalogue now: read with the machine kinds, answer what is wrong
                resolver, seus = kinds_only(), []
        lang = self._lang_of(message)
        for utterance in message.data.get("utterances") or []:
            parsed = parse.parse(str(utterance), lang, resolver, seus)
            if parsed.ours:
                return str(utterance), parsed
        return None

    @fallback_handler(priority=4)
    def handle_request(self, message: Message) -> bool:
        """Every question that is not the answer to a question asked back or a follow-up: "how did compressor
        one perform today", "how's the chiller doing", "top five consumers", "compressor one yesterday". The request
        parser (``voice.parse``) reads the whole utterance; an utterance with no name of this plant and no strong
        word of the energy domain is left to the other skills ("what time is it", "summary of the news").

        A fallback of high priority, not intent templates: it runs right after the other skills' high-confidence
        intents and before any medium-confidence match, and it claims only what the parser reads as ours (a
        template with a free-text slot claims whatever fits its frame)."""
        heard = self._parsed(message)
        if heard is None:
            return False
        # a fallback's answer does not make its skill active, an intent's does: without this, the answer to a
        # question asked back and a follow-up ("and yesterday?") would never reach ``converse``
        self.activate()
        self._answer_spoken(message, Draft("request", heard[0]))
        return True

    # --- converse: answers to questions asked back, follow-ups -----------------------------------
    def can_converse(self, message: Message) -> bool:
        """Whether the utterance is ours to answer in conversation: the answer to a question asked back, or a
        follow-up. The core decides on this alone, so a reply that is a question of its own ("how did
        compressor one perform yesterday") closes the question here and goes on through the pipeline."""
        session = _session_id(message)
        question = self.conversation.open_question(session, take=False)
        if question is not None:
            if self._answer_to(question, message) is not None:
                return True
            self.conversation.close(session)
        return self._followup(message) is not None

    def handle_deactivate(self, message: Message) -> None:
        """No longer in the conversation (another skill took over, or the core ended it): a question asked
        back is closed, so that a later utterance is never taken for its answer."""
        self.conversation.close(_session_id(message))

    def converse(self, message: Message) -> bool:
        question = self.conversation.open_question(_session_id(message), take=True)
        outcome = self._answer_to(question, message) if question is not None else self._followup(message)
        if outcome is None:
            return False
        self._answer_spoken(message, outcome)
        return True

    def _answer_to(self, question: Any, message: Message) -> Any:
        return self.conversation.take_answer(question, _first_utterance(message), self._lang_of(message),
                                             self._resolver_source or [], self._resolver)

    def _followup(self, message: Message) -> Draft | None:
        if self._engine is None:
            return None
        return self.conversation.followup(_session_id(message), _first_utterance(message), self._lang_of(message),
                                          self._resolver_source or [], self._resolver, self._engine.now())

    def _lang_of(self, message: Message) -> str:
        return str(message.data.get("lang") or self.lang)


def _first_utterance(message: Message) -> str:
    utterances = message.data.get("utterances") or [""]
    return str(utterances[0])


def _session_id(message: Message) -> str:
    return SessionManager.get(message).session_id


def _chart_request(request: Request, reply: Answer) -> dict[str, Any]:
    if request.op == "summary":
        return {"machine_type": request.machine_type, "factory": request.factory,
                "analysis_date": request.day, "period": request.period}
    if "daily" in reply.payload:  # a period answer holds its days: the picture needs nothing more
        return reply.payload
    return {"seu_name": reply.payload.get("seu_name"), "energy_source": reply.payload.get("energy_source"),
            "analysis_date": reply.payload.get("date")}
