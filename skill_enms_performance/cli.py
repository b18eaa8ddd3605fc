"""``enms-performance``: the engine and the skill from a command line.

    enms-performance demo                     start/reuse the embedded database, load the plant, print DSN
    enms-performance ask "UTTERANCE" ...      ask the skill through the real OVOS intent pipeline
    enms-performance analyze SEU [--date D]   run the analysis directly
    enms-performance summary [--machine-type T] [--factory F] [--date D | --start D --end D]
    enms-performance health                   database, newest readings, rollups, model validity
    enms-performance opportunities [--period week|month|quarter] [--factory F] [--seu S]
    enms-performance action-plan SEU [--issue-type T] [--save] [--status S] | --list
    enms-performance savings [--seu S] [--period week|month|quarter|year | --start D --end D]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import sys
import threading
import warnings
from typing import Any, Sequence

from .engine import Engine, EngineSettings
from .engine.errors import EnmsError
from .store import redact_dsn

PIPELINE = [
    "ovos-stop-pipeline-plugin-high",
    "ovos-converse-pipeline-plugin",
    "ovos-padatious-pipeline-plugin-high",
    "ovos-adapt-pipeline-plugin-high",
    "ovos-padatious-pipeline-plugin-medium",
    "ovos-adapt-pipeline-plugin-medium",
    "ovos-padatious-pipeline-plugin-low",
    "ovos-fallback-pipeline-plugin-low",
]


def _eprint(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def _parse_now(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _moment_option(value: str) -> str:
    """--now: an ISO 8601 instant (a day alone means its midnight), checked before anything starts."""
    try:
        moment = dt.datetime.fromisoformat(value.strip()) if len(value) <= 40 else None
    except ValueError:
        moment = None
    if moment is None:
        raise argparse.ArgumentTypeError("must be an ISO 8601 time such as 2025-11-06T13:00:00-08:00")
    return moment.isoformat()


def _language_option(value: str) -> str:
    """--lang: one of the shipped languages (never a path into the resources)."""
    from .voice import speech

    lang = value.strip().lower()
    shipped = speech.shipped_languages()
    if lang not in shipped:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(shipped)}")
    return lang


def resolve_dsn(args: argparse.Namespace, *, quiet: bool = False) -> str:
    """--dsn, else ENMS_DSN, else the embedded demo database (started and loaded on demand)."""
    dsn = args.dsn or os.environ.get("ENMS_DSN")
    if dsn:
        return dsn
    from .demo.embedded import demo_dsn

    return demo_dsn(_parse_now(args.now), log=(lambda _m: None) if quiet else _eprint,
                    resolution_minutes=args.resolution)


def _engine(args: argparse.Namespace) -> Engine:
    now = _parse_now(args.now)
    settings = EngineSettings(currency=args.currency)
    return Engine(resolve_dsn(args), settings, clock=(lambda: now) if now else None)


def _print_error(err: EnmsError, args: argparse.Namespace) -> int:
    from .voice import speech

    if args.json:
        print(json.dumps({"error": {"code": err.code, "message": redact_dsn(err.message)}}))
    else:
        dialog, slots = speech.describe_error(err.to_dict(), args.lang)
        print(speech.speak(dialog, slots, args.lang))
    return 2


# --- subcommands ----------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from .demo.embedded import demo_dsn

    print(demo_dsn(_parse_now(args.now), log=_eprint, resolution_minutes=args.resolution))
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .voice import speech

    async def call(engine: Engine) -> dict[str, Any]:
        result = await engine.analyze_seu_performance(args.seu, args.energy_source, args.date)
        payload = result.to_dict()
        today = await engine.today(result.seu_name)
        payload["voice_summary"] = speech.speak(*speech.describe_analysis(payload, args.lang, today), args.lang)
        return payload

    return _run_engine(args, call)


def _run_engine(args: argparse.Namespace, call) -> int:
    """Run one engine call, print JSON (--json) or the spoken sentences."""
    engine = _engine(args)

    async def run() -> Any:
        try:
            return await call(engine)
        finally:
            await engine.close()

    try:
        payload = asyncio.run(run())
    except EnmsError as err:
        return _print_error(err, args)
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(payload.get("voice_summary") or json.dumps(payload, indent=2))
    return 0 if payload.get("database_reachable", True) else 2


def cmd_summary(args: argparse.Namespace) -> int:
    from .voice import speech

    period = {"start": args.start, "end": args.end or args.start} if args.start else None

    async def call(engine: Engine) -> dict[str, Any]:
        result = await engine.summary(machine_type=args.machine_type, factory=args.factory,
                                      analysis_date=args.date, period=period)
        payload = result.to_dict()
        group = args.machine_type or args.factory or ""
        today = await engine.today()
        payload["voice_summary"] = " ".join(speech.speak(d, s, args.lang)
                                            for d, s in speech.describe_summary(payload, group, args.lang, today))
        return payload

    return _run_engine(args, call)


def cmd_health(args: argparse.Namespace) -> int:
    from .voice import speech

    async def call(engine: Engine) -> dict[str, Any]:
        report = await engine.health()
        if report.get("database_reachable"):
            report["voice_summary"] = speech.speak(*speech.describe_health(report, args.lang), args.lang)
        else:
            report["voice_summary"] = speech.speak(*speech.describe_error(report["error"], args.lang), args.lang)
        return report

    return _run_engine(args, call)


def _period_arg(args: argparse.Namespace) -> str | dict[str, str]:
    if args.start:
        return {"start": args.start, "end": args.end or args.start}
    return args.period


def cmd_opportunities(args: argparse.Namespace) -> int:
    from .voice import speech

    async def call(engine: Engine) -> dict[str, Any]:
        payload = (await engine.opportunities(_period_arg(args), factory=args.factory, seu=args.seu)).to_dict()
        today = await engine.today()
        payload["voice_summary"] = " ".join(speech.speak(d, s, args.lang)
                                            for d, s in speech.describe_opportunities(payload, args.lang, today))
        return payload

    return _run_engine(args, call)


def cmd_action_plan(args: argparse.Namespace) -> int:
    from .voice import speech

    async def call(engine: Engine) -> dict[str, Any]:
        if args.list:
            return await engine.action_plans(args.status if args.status != "planned" else None)
        plan = await engine.action_plan(args.seu, args.issue_type, save=args.save, status=args.status)
        seu = await engine.find_seu_any_source(args.seu)
        payload = plan.to_dict()
        today = await engine.today(seu.name)
        payload["voice_summary"] = " ".join(speech.speak(d, s, args.lang) for d, s in speech.describe_plan(
            payload, seu.machine_types[0] if seu.machine_types else "", args.lang, today))
        return payload

    return _run_engine(args, call)


def cmd_savings(args: argparse.Namespace) -> int:
    from .voice import speech

    async def call(engine: Engine) -> dict[str, Any]:
        payload = (await engine.savings(args.seu, _period_arg(args))).to_dict()
        today = await engine.today()
        payload["voice_summary"] = speech.speak(*speech.describe_savings(payload, args.lang, today), args.lang)
        return payload

    return _run_engine(args, call)


class _Capture:
    """Collects what the skill says and does for one utterance on the MiniCroft bus.

    Every utterance carries a tag in its message context, which OVOS copies into every message that follows
    from it (intent, speak, request, handled); messages with another tag, such as a late
    ``ovos.utterance.handled`` of the previous utterance, are not this utterance's."""

    TAG = "enms_ask"

    def __init__(self, skill_id: str) -> None:
        self.skill_id = skill_id
        self.lock = threading.Lock()
        self.reset(None)

    def reset(self, tag: str | None) -> None:
        self.tag = tag
        self.spoken: list[str] = []
        self.dialogs: list[str] = []
        self.intent: str | None = None
        self.slots: dict[str, Any] = {}
        self.request: dict[str, Any] | None = None
        self.handlers = 0           # handlers started and not yet completed
        self.handled = False
        self.done = threading.Event()

    def on_message(self, raw: str) -> None:
        from ovos_bus_client.message import Message

        msg = Message.deserialize(raw) if isinstance(raw, str) else raw
        if self.tag is None or (msg.context or {}).get(self.TAG) != self.tag:
            return
        kind, data = msg.msg_type, msg.data or {}
        with self.lock:
            if kind in ("speak", "ovos.utterance.speak"):
                if data.get("utterance") and (not self.spoken or self.spoken[-1] != data["utterance"]):
                    self.spoken.append(data["utterance"])
                    dialog = (data.get("meta") or {}).get("dialog")
                    if dialog:
                        self.dialogs.append(dialog)
            elif kind.startswith(self.skill_id + ":") and self.intent is None:
                self.intent = kind.split(":", 1)[1].removesuffix(".intent")
                self.slots = {k: v for k, v in data.items()
                              if k not in ("utterance", "utterances", "lang", "__tags__", "intent_type",
                                           "target", "confidence")
                              and not k.startswith(self.skill_id)}
            elif kind == "skill.converse.response" and data.get("result") and \
                    data.get("skill_id") == self.skill_id and self.intent is None:
                self.intent = "converse"  # a follow-up answered in conversation, not by an intent
            elif kind == "enms.performance.request":
                self.request = dict(data)
            elif kind == "mycroft.skill.handler.start":
                self.handlers += 1
            elif kind == "mycroft.skill.handler.complete":
                self.handlers -= 1
            elif kind in ("ovos.utterance.handled", "complete_intent_failure", "ovos.utterance.cancelled"):
                self.handled = True
            if self.handled and self.handlers <= 0:
                self.done.set()


class AskSession:
    """One in-process OVOS core (MiniCroft: padatious + adapt) with the skill loaded, booted once and
    padatious trained; ``ask`` sends an utterance through the real intent pipeline and returns what happened
    once it is finished (every handler it started has completed)."""

    def __init__(self, lang: str = "en-us", ready_timeout: float = 120.0) -> None:
        from ovoscope import get_minicroft

        from . import SKILL_ID

        self.lang = lang
        self.croft = get_minicroft([SKILL_ID], default_pipeline=PIPELINE, lang=lang)
        self.capture = _Capture(SKILL_ID)
        self.croft.bus.on("message", self.capture.on_message)
        self.skill = self.croft.plugin_skills[SKILL_ID].instance
        # until padatious' background training lands, utterances meet a partly trained model
        for plugin in self.croft.intents.pipeline_plugins.values():
            if hasattr(plugin, "wait_until_trained"):
                plugin.wait_until_trained(ready_timeout)
        self.skill._ready.wait(ready_timeout)  # the embedded database may be loading on first use
        self._asked = 0

    def prepare(self, utterance: str) -> Any:
        """The bus message of the next utterance, its context tagged; the capture now collects for it."""
        from ovos_bus_client.message import Message

        self._asked += 1
        tag = f"{id(self)}-{self._asked}"
        self.capture.reset(tag)
        return Message("recognizer_loop:utterance", {"utterances": [utterance], "lang": self.lang},
                       {"source": "cli", "destination": ["skills"], _Capture.TAG: tag})

    def ask(self, utterance: str, timeout: float = 15.0) -> dict[str, Any]:
        message = self.prepare(utterance)
        threading.Thread(target=self.croft.bus.emit, args=(message,), daemon=True).start()
        self.capture.done.wait(timeout)
        with self.capture.lock:
            return {"utterance": utterance, "lang": self.lang, "intent": self.capture.intent,
                    "slots": dict(self.capture.slots), "request": self.capture.request,
                    "spoken": list(self.capture.spoken), "dialogs": list(self.capture.dialogs)}

    def close(self) -> None:
        self.croft.stop()


def _chart_of(record: dict[str, Any], args: argparse.Namespace) -> None:
    """Write the picture of the last answer (an analysis or a fleet summary) to ``args.chart``."""
    from . import chart

    request = record.get("request") or {}
    op = request.get("op")

    async def call(engine: Engine) -> None:
        if op == "analyze":
            series = await engine.chart_series(request["seu_name"], request["energy_source"], request["analysis_date"])
            chart.performance_chart(series, args.chart)
        elif op == "summary":
            summary = await engine.summary(machine_type=request.get("machine_type"), factory=request.get("factory"),
                                           analysis_date=request.get("analysis_date"), period=request.get("period"))
            chart.fleet_chart(summary.to_dict(), args.chart)
        else:
            raise chart.ChartUnavailable(f"no picture for {op or 'this answer'}")

    engine = _engine(args)

    async def run() -> None:
        try:
            await call(engine)
        finally:
            await engine.close()

    try:
        asyncio.run(run())
        _eprint(f"chart written to {args.chart}")
    except (chart.ChartUnavailable, EnmsError) as err:
        _eprint(f"no chart: {err}")


def cmd_ask(args: argparse.Namespace) -> int:
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ["ENMS_DSN"] = resolve_dsn(args)
    if args.now:
        os.environ["ENMS_NOW"] = args.now
    from ovos_utils.log import LOG

    LOG.set_level("ERROR")
    session = AskSession(args.lang)
    record: dict[str, Any] = {}
    try:
        for utterance in args.utterances:
            record = session.ask(utterance, args.timeout)
            if args.json:
                print(json.dumps(record), flush=True)
            else:
                print(f"> {utterance}")
                for line in record["spoken"] or ["(no answer)"]:
                    print(f"  {line}", flush=True)
    finally:
        session.close()
    if args.chart and record:
        _chart_of(record, args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", help="PostgreSQL DSN of the EnMS database (default: $ENMS_DSN, else embedded demo)")
    common.add_argument("--now", type=_moment_option, help="pin the clock (ISO 8601); 'today' is the factory's local day of that instant")
    common.add_argument("--lang", default="en-us", type=_language_option)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--currency", default=os.environ.get("ENMS_CURRENCY", "USD"))
    common.add_argument("--resolution", type=int, default=15, help="demo plant resolution in minutes (new plant)")

    parser = argparse.ArgumentParser(prog="enms-performance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", parents=[common], help="start the embedded demo database").set_defaults(func=cmd_demo)
    ask = sub.add_parser("ask", parents=[common], help="ask the skill through the OVOS intent pipeline")
    ask.add_argument("utterances", nargs="+")
    ask.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each answer")
    ask.add_argument("--chart", help="write the picture of the last answer (analysis or summary) to this PNG")
    ask.set_defaults(func=cmd_ask)
    analyze = sub.add_parser("analyze", parents=[common], help="analyse one SEU for one day")
    analyze.add_argument("seu")
    analyze.add_argument("--energy-source")
    analyze.add_argument("--date", help="YYYY-MM-DD (default: today, the part that has passed)")
    analyze.set_defaults(func=cmd_analyze)
    summary = sub.add_parser("summary", parents=[common], help="fleet summary ranked by normalised deviation")
    summary.add_argument("--machine-type", help="e.g. compressor, hvac, boiler")
    summary.add_argument("--factory", help="factory name or location word, e.g. Munich")
    summary.add_argument("--date", help="YYYY-MM-DD (default: today)")
    summary.add_argument("--start", help="period start YYYY-MM-DD (complete days)")
    summary.add_argument("--end", help="period end YYYY-MM-DD (inclusive)")
    summary.set_defaults(func=cmd_summary)
    sub.add_parser("health", parents=[common], help="database, readings, rollups and model validity"
                   ).set_defaults(func=cmd_health)
    for name, func, helptext in (("opportunities", cmd_opportunities, "savings opportunities ranked by value"),
                                 ("savings", cmd_savings, "savings against the normalised baseline (CUSUM)")):
        cmd = sub.add_parser(name, parents=[common], help=helptext)
        cmd.add_argument("--period", default="month", choices=["week", "month", "quarter", "year"])
        cmd.add_argument("--start", help="period start YYYY-MM-DD (instead of --period)")
        cmd.add_argument("--end", help="period end YYYY-MM-DD")
        cmd.add_argument("--seu", help="one SEU")
        if name == "opportunities":
            cmd.add_argument("--factory", help="factory name or location word")
        cmd.set_defaults(func=func)
    plan = sub.add_parser("action-plan", parents=[common], help="ISO 50001 action plan for an SEU's top opportunity")
    plan.add_argument("seu", nargs="?", default="")
    plan.add_argument("--issue-type", help="an ImprovementType value, e.g. excessive_idle")
    plan.add_argument("--save", action="store_true", help="save it in the engine's schema")
    plan.add_argument("--status", default="planned", choices=["planned", "in_progress", "completed", "cancelled"])
    plan.add_argument("--list", action="store_true", help="list saved plans and their counts")
    plan.set_defaults(func=cmd_action_plan)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EnmsError as err:
        return _print_error(err, args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
