"""One request, one answer path: voice (skill.py), bus (bus_api.py) and the command line (cli.py) build a
``Request`` and call ``answer(engine, request, lang)``; it returns the JSON payload and the dialog lines to
speak, so that no answer is glued together three times.

Errors are answers too: ``error_answer`` gives the error object and the sentence of its code.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Mapping

from .engine import Engine
from .engine.errors import EnmsError, InvalidRequestError
from .engine.timeutil import local_today
from .runtime import redact
from .validation import SCHEMAS, validate
from .voice import period_speech, speech

#: dialog name + its slots
Line = tuple[str, dict[str, str]]

OPS = ("analyze", "why", "summary", "health", "opportunities", "action_plan", "action_plans", "savings", "ranking",
       "compare")


@dataclasses.dataclass(frozen=True)
class Request:
    """What is asked, whoever asks it. ``day``/``period`` are ISO dates; ``group_words`` is how a speaker
    named the group ("all compressors"), for the answer's wording only."""

    op: str
    seu_name: str | None = None
    energy_source: str | None = None
    machine_type: str | None = None
    factory: str | None = None
    day: str | None = None
    period: str | dict[str, str] | None = None
    issue_type: str | None = None
    status: str | None = None
    save: bool = False
    limit: int | None = None          # action_plans: one page of the list
    offset: int = 0
    group_words: str = ""
    ranking: dict[str, Any] | None = None  # ranking: {"n": 3 | None, "order": "most"|"least", "by": "energy"|...}
    seu_name_b: str | None = None          # compare: the second SEU
    direction: str | None = None      # why: "more" (why so much), "less" (why so little) or None (not said)

    def event(self) -> dict[str, Any]:
        """The ``enms.performance.request`` record of this request (fields as the bus API names them)."""
        if self.op in ("analyze", "why"):
            record = {"op": "analyze", "seu_name": self.seu_name, "energy_source": self.energy_source,
                      "analysis_date": self.day}
            return record if self.period is None else {**record, "period": self.period}
        if self.op == "summary":
            return {"op": "summary", "machine_type": self.machine_type, "factory": self.factory,
                    "analysis_date": self.day, "period": self.period}
        if self.op == "opportunities":
            return {"op": "opportunities", "period": self.period, "factory": self.factory, "seu_name": self.seu_name,
                    "machine_type": self.machine_type}
        if self.op == "action_plan":
            return {"op": "action_plan", "seu_name": self.seu_name, "issue_type": self.issue_type}
        if self.op == "savings":
            return {"op": "savings", "seu_name": self.seu_name, "period": self.period}
        if self.op == "ranking":
            return {"op": "ranking", "machine_type": self.machine_type, "factory": self.factory,
                    "analysis_date": self.day, "period": self.period, "ranking": self.ranking}
        if self.op == "compare":
            return {"op": "compare", "seu_name": self.seu_name, "seu_name_b": self.seu_name_b,
                    "energy_source": self.energy_source, "analysis_date": self.day, "period": self.period}
        if self.op == "action_plans" and self.seu_name:
            return {"op": "action_plans", "seu_name": self.seu_name}
        return {"op": self.op}

    # --- from bus message data (checked once by ``validation``: a caller gets invalid_request, never a crash) ---
    @classmethod
    def from_bus(cls, op: str, data: Any) -> "Request":
        if op not in SCHEMAS:
            raise InvalidRequestError("unknown operation")
        checked: Any = validate(op, data)
        day = getattr(checked, "analysis_date", None)
        period = getattr(checked, "period", None)
        period = period.to_request() if hasattr(period, "to_request") else period
        day_iso = day.isoformat() if day is not None else None
        if op == "analyze":
            return cls("analyze", seu_name=checked.seu_name, energy_source=checked.energy_source, day=day_iso,
                       period=period)
        if op == "summary":
            return cls("summary", machine_type=checked.machine_type, factory=checked.factory, day=day_iso,
                       period=period, group_words=checked.machine_type or checked.factory or "")
        if op == "opportunities":
            return cls("opportunities", period=period, factory=checked.factory, seu_name=checked.seu_name,
                       machine_type=checked.machine_type)
        if op == "action_plan":
            if checked.list:
                return cls("action_plans", status=checked.status, seu_name=checked.seu_name, limit=checked.limit,
                           offset=checked.offset)
            return cls("action_plan", seu_name=checked.seu_name, issue_type=checked.issue_type, save=checked.save,
                       status=checked.status)  # none named: a new plan is planned, a saved one keeps its status
        if op == "savings":
            return cls("savings", seu_name=checked.seu_name, period=period)
        return cls(op)


@dataclasses.dataclass
class Answer:
    """The JSON result (or ``{"error": ...}``) and the dialog lines that speak it."""

    payload: dict[str, Any]
    lines: list[Line]
    today: dt.date | None = None

    def text(self, lang: str) -> str:
        return " ".join(speech.speak(d, s, lang) for d, s in self.lines)

    @property
    def error_code(self) -> str | None:
        error = self.payload.get("error")
        return str(error.get("code")) if isinstance(error, Mapping) else None


def error_answer(err: EnmsError, lang: str, today: dt.date | None = None) -> Answer:
    """An engine error as the error object of the bus/JSON contract and its sentence."""
    facts = err.to_dict()
    payload = {"error": {"code": err.code, "message": redact(err.message)}}
    return Answer(payload, [speech.describe_error(facts, lang, today)], today)


# --- one function per question ------------------------------------------------------------------------
async def answer_analyze(engine: Engine, request: Request, lang: str) -> Answer:
    """How did an SEU perform on a day (or over ``request.period``); ``op == "why"`` speaks the attribution
    first."""
    if request.period is not None:
        answered = await _answer_period(engine, request, lang)
        if answered is not None:
            return answered
    result = await engine.analyze_seu_performance(request.seu_name or "", request.energy_source, request.day)
    payload = result.to_dict()
    seu = await engine.find_seu(result.seu_name, result.energy_source)
    today = local_today(engine.now(), seu.timezone)
    verdict = speech.describe_analysis(payload, lang, today)
    payload["voice_summary"] = speech.speak(*verdict, lang)
    lines = speech.describe_attribution(payload, lang, today, request.direction) if request.op == "why" \
        else [verdict]
    return Answer(payload, lines, today)


answer_why = answer_analyze


async def _answer_period(engine: Engine, request: Request, lang: str) -> Answer | None:
    """One SEU over a period; None for a period that holds only today (answered as today, the part that has
    passed). A period word ("week") is the complete days up to yesterday."""
    seu = await engine.find_seu(request.seu_name or "", request.energy_source)
    today = local_today(engine.now(), seu.timezone)
    period = request.period
    if isinstance(period, Mapping) and str(period.get("start")) == today.isoformat():
        return None
    result = await engine.analyze_seu_period(seu.name, seu.energy_source, period)
    payload = result.to_dict()
    lines = period_speech.describe_period_why(payload, lang, today, request.direction) if request.op == "why" \
        else period_speech.describe_period(payload, lang, today)
    answered = Answer(payload, lines, today)
    payload["voice_summary"] = answered.text(lang)
    return answered


async def answer_summary(engine: Engine, request: Request, lang: str) -> Answer:
    result = await engine.summary(machine_type=request.machine_type, factory=request.factory,
                                  analysis_date=request.day, period=request.period)
    payload = result.to_dict()
    today = await engine.today()
    lines = speech.describe_summary(payload, request.group_words, lang, today)
    return _with_summary(Answer(payload, lines, today), lang)


async def answer_health(engine: Engine, request: Request, lang: str) -> Answer:
    report = await engine.health()
    if report.get("database_reachable"):
        lines = [speech.describe_health(report, lang)]
    else:
        lines = [speech.describe_error(report.get("error") or {"code": "database_unavailable"}, lang)]
    return _with_summary(Answer(report, lines), lang)


async def answer_opportunities(engine: Engine, request: Request, lang: str) -> Answer:
    report = await engine.opportunities(request.period, factory=request.factory, seu=request.seu_name,
                                        machine_type=request.machine_type)
    payload = report.to_dict()
    today = await engine.today()
    return _with_summary(Answer(payload, speech.describe_opportunities(payload, lang, today), today), lang)


async def answer_action_plan(engine: Engine, request: Request, lang: str) -> Answer:
    """The plan for an SEU's top opportunity; saved only when ``request.save`` (a caller's yes)."""
    plan = await engine.action_plan(request.seu_name or "", request.issue_type, save=request.save,
                                    status=request.status)
    seu = await engine.find_seu_any_source(request.seu_name or "")
    payload = plan.to_dict()
    today = await engine.today(seu.name)
    lines = speech.describe_plan(payload, seu.machine_types[0] if seu.machine_types else "", lang, today)
    return _with_summary(Answer(payload, lines, today), lang)


async def answer_action_plans(engine: Engine, request: Request, lang: str) -> Answer:
    page = {"limit": request.limit} if request.limit is not None else {}
    listed = await engine.action_plans(request.status, seu=request.seu_name, offset=request.offset, **page)
    counts = listed.get("counts", {})
    return Answer(listed, [speech.describe_plan_counts(counts, lang)])


async def answer_savings(engine: Engine, request: Request, lang: str) -> Answer:
    report = await engine.savings(request.seu_name, request.period)
    payload = report.to_dict()
    today = await engine.today()
    return _with_summary(Answer(payload, [speech.describe_savings(payload, lang, today)], today), lang)


async def answer_ranking(engine: Engine, request: Request, lang: str) -> Answer:
    """"Top five consumers", "which compressor did worst last week": the fleet summary of the group, ranked."""
    result = await engine.summary(machine_type=request.machine_type, factory=request.factory,
                                  analysis_date=request.day, period=request.period)
    payload = result.to_dict()
    ranking = dict(request.ranking or {"n": None, "order": "most", "by": "energy"})
    payload["ranking"] = ranking
    payload["ranked"] = [i["seu_name"] for i in speech.rank_items(payload.get("items") or [], ranking)]
    today = await engine.today()
    return _with_summary(Answer(payload, speech.describe_ranking(payload, ranking, lang, today), today), lang)


async def answer_compare(engine: Engine, request: Request, lang: str) -> Answer:
    """"Compare compressor one and compressor two": both SEUs from one fleet summary of the day or period."""
    names = [request.seu_name or "", request.seu_name_b or ""]
    for name in names:
        await engine.find_seu_any_source(name)  # an unknown name is an error answer, as for one SEU
    result = await engine.summary(analysis_date=request.day, period=request.period)
    payload = result.to_dict()
    payload["items"] = [i for i in payload.get("items") or [] if i["seu_name"] in names
                        and (request.energy_source is None or i["energy_source"] == request.energy_source)]
    payload["compared"] = names
    today = await engine.today()
    lines = speech.describe_compare(payload, names, request.energy_source, lang, today)
    return _with_summary(Answer(payload, lines, today), lang)


def _with_summary(answer: Answer, lang: str) -> Answer:
    answer.payload["voice_summary"] = answer.text(lang)
    return answer


ANSWERS = {"analyze": answer_analyze, "why": answer_why, "summary": answer_summary, "health": answer_health,
           "opportunities": answer_opportunities, "action_plan": answer_action_plan,
           "action_plans": answer_action_plans, "savings": answer_savings, "ranking": answer_ranking,
           "compare": answer_compare}


async def answer(engine: Engine, request: Request, lang: str) -> Answer:
    """The answer to ``request``; an engine error becomes its error answer."""
    try:
        return await ANSWERS[request.op](engine, request, lang)
    except EnmsError as err:
        return error_answer(err, lang)
