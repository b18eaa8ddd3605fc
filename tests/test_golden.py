"""Golden utterances per language through the real OVOS pipeline (MiniCroft, the stages of ovos-config's default).

The cases live in ``tests/golden/<lang>.txt`` (what the skill must do) and ``tests/golden/<lang>.negative.txt``
(what other skills own); the format is described at the top of ``en-us.txt``. Every case asserts the intent and
the engine request the skill makes (SEU, energy source, day or period), so a wrong date or a wrong machine fails
even when something plausible is spoken. Known misses are strict xfails with their cause: a fix shows up as XPASS
and the ``xfail:`` column must go; the number of misses may only shrink (``XFAIL_BUDGET``).

One MiniCroft per language (``AskSession(lang)``), booted once for the module in a child interpreter with a
fixed PYTHONHASHSEED (padatious training depends on string hashing, see ``_Remote``); utterances are sent one
after the other, each waited for until it is completely handled, and the skill's turn is ended between cases
(``_Asker``). The child never saves action plans into the shared plant.

The skill registers no intent templates (the request parser reads every question, ``voice/parse.py``): the 92
negative cases that padatious' {seu}/{group} wildcards claimed now and then (3 of them flipped with the hash seed)
are all left to other skills, and no case is a known miss any more.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from skill_enms_performance.voice import speech

from .conftest import REF_NOW

pytestmark = pytest.mark.e2e

GOLDEN = Path(__file__).resolve().parent / "golden"
LOCALE = speech.locale_dir()
LANGS = ("en-us", "de-de")
INTENTS = ("performance", "why", "summary", "health", "opportunities", "savings", "plan_count")
DEFAULT_SOURCE = "electricity"
#: minimum number of cases per language (positive, negative)
MIN_CASES = {"en-us": (150, 40), "de-de": (80, 40)}
#: known misses per language: may only shrink
XFAIL_BUDGET = {"en-us": 0, "de-de": 0}
#: a reply that answers a pending question with nothing the skill can use (closes the conversation)
DISMISS = {"en-us": "nothing", "de-de": "nichts"}
ASK_TIMEOUT = 10.0
TRAIN_TIMEOUT = 120.0
BOOT_TIMEOUT = 300.0  # a child boots its MiniCroft and trains padatious
#: the hash seed of the pipeline's interpreter (see _Remote)
HASH_SEED = "0"


@dataclass(frozen=True)
class Case:
    lang: str
    source: str  # file:line
    utterance: str
    intent: str | None  # None: not this skill's
    expect: dict[str, str] = field(default_factory=dict)
    xfail: str | None = None

    @property
    def id(self) -> str:
        return f"{self.lang}:{self.utterance}"


def parse_line(line: str, lang: str, source: str) -> Case | None:
    """``utterance | intent key=value ... | xfail: cause``; blank lines and ``#`` comments give None."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = [p.strip() for p in text.split("|")]
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ValueError(f"{source}: expected 'utterance | expectation [| xfail: cause]': {line!r}")
    tokens = shlex.split(parts[1])
    intent, pairs = tokens[0], tokens[1:]
    if intent != "none" and intent not in INTENTS:
        raise ValueError(f"{source}: unknown intent {intent!r}")
    expect: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in {"seu", "source", "date", "type", "factory", "period", "ask", "then", "dialog"}:
            raise ValueError(f"{source}: bad key=value {pair!r}")
        expect[key] = value
    xfail = None
    if len(parts) == 3:
        if not parts[2].startswith("xfail:") or not parts[2][6:].strip():
            raise ValueError(f"{source}: third column must be 'xfail: <cause>'")
        xfail = parts[2][6:].strip()
    return Case(lang, source, parts[0], None if intent == "none" else intent, expect, xfail)


def load_cases(path: Path, lang: str) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        case = parse_line(line, lang, f"{path.name}:{number}")
        if case is not None:
            cases.append(case)
    return cases


def golden_files(lang: str) -> tuple[Path, Path]:
    return GOLDEN / f"{lang}.txt", GOLDEN / f"{lang}.negative.txt"


def all_cases() -> list[Case]:
    out: list[Case] = []
    for lang in LANGS:  # grouped by language: one MiniCroft per language
        for path in golden_files(lang):
            out.extend(load_cases(path, lang))
    return out


def expected_request(case: Case) -> dict[str, Any] | None:
    e = case.expect
    if case.intent is None or "dialog" in e:
        return None
    period = None
    if "period" in e:
        start, _, end = e["period"].partition("..")
        period = {"start": start, "end": end}
    if case.intent == "health":
        return {"op": "health"}
    if case.intent == "plan_count":
        return {"op": "action_plans"}
    if case.intent == "opportunities":
        return {"op": "opportunities", "period": period, "factory": e.get("factory"), "seu_name": e.get("seu"),
                "machine_type": e.get("type")}
    if case.intent == "savings":
        return {"op": "savings", "seu_name": e.get("seu"), "period": period}
    if case.intent == "summary":
        return {"op": "summary", "machine_type": e.get("type"), "factory": e.get("factory"),
                "analysis_date": e.get("date"), "period": period}
    return {"op": "analyze", "seu_name": e["seu"], "energy_source": e.get("source", DEFAULT_SOURCE),
            "analysis_date": e["date"]}


def _pending_question(record: dict[str, Any]) -> bool:
    return bool(record["dialogs"]) and record["dialogs"][-1].startswith("ask.") \
        and record["dialogs"][-1] != "ask.no_answer"


def run_case(asker: Any, case: Case) -> list[str]:
    """Send the case (and its reply, if any); the list of what differs from the expectation (empty: pass)."""
    problems: list[str] = []
    record = asker.ask(case.utterance)
    trail = [record]
    try:
        # "request": no template matched and the request parser's fallback answered; the request is checked below
        if record["intent"] != case.intent and not (record["intent"] == "request" and case.intent is not None):
            problems.append(f"intent {record['intent']!r}, expected {case.intent!r}")
        if case.intent is None:
            if record["request"] is not None:
                problems.append(f"made a request {record['request']}")
            return problems
        ask = case.expect.get("ask")
        if ask:
            if record["dialogs"] != [ask] or record["request"] is not None:
                problems.append(f"expected to ask back with {ask}, got {record['dialogs']} {record['request']}")
                return problems
            if "then" in case.expect:
                record = asker.ask(case.expect["then"], reply=True)
                trail.append(record)
        elif _pending_question(record):
            problems.append(f"asked back unexpectedly: {record['spoken']}")
            return problems
        dialog = case.expect.get("dialog")
        if dialog and (not record["dialogs"] or record["dialogs"][0] != dialog):
            problems.append(f"dialogs {record['dialogs']}, expected {dialog} first")
        want = expected_request(case)
        if record["request"] != want:
            problems.append(f"request {record['request']}, expected {want}")
        if want is not None and not record["spoken"]:
            problems.append("nothing spoken")
        return problems
    finally:
        if _pending_question(trail[-1]):  # never leave a question open for the next case
            asker.ask(DISMISS[case.lang], reply=True)
        asker.idle()
        if problems:
            problems.append(f"spoken: {[r['spoken'] for r in trail]} slots: {[r['slots'] for r in trail]}")


class _Asker:
    """``AskSession`` plus ``idle``: every case starts as a first utterance."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def ask(self, utterance: str, reply: bool = False) -> dict[str, Any]:  # noqa: ARG002 - a reply is an utterance
        return self.session.ask(utterance, ASK_TIMEOUT)

    def idle(self) -> None:
        """End the skill's active turn between cases, so that every case is a first utterance: while the skill
        is active, a short utterance with a follow-up prefix ("and yesterday?", "why?") is answered in converse
        about the previous case's machine."""
        from ovos_bus_client.message import Message

        from skill_enms_performance import SKILL_ID

        self.session.croft.bus.emit(Message("intent.service.skills.deactivate", {"skill_id": SKILL_ID}))


def open_session(lang: str) -> _Asker:
    """An AskSession for ``lang`` (it waits for padatious to finish training), behind an ``_Asker``."""
    from skill_enms_performance.harness import AskSession

    return _Asker(AskSession(lang, ready_timeout=TRAIN_TIMEOUT))


def _worker(conn: Any, lang: str, dsn: str, now: str) -> None:
    """The pipeline of one language in its own interpreter (started with a fixed PYTHONHASHSEED)."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ["ENMS_DSN"], os.environ["ENMS_NOW"] = dsn, now  # after conftest, which clears them
    # the plant is shared by the session: an utterance wrongly taken for "what should we do about it?" must
    # not save an action plan into it (the child has an XDG sandbox of its own, see conftest)
    from skill_enms_performance import SKILL_ID

    settings = Path(os.environ["XDG_CONFIG_HOME"]) / "mycroft" / "skills" / SKILL_ID / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"save_action_plans": False}), encoding="utf-8")
    asker = None
    try:
        asker = open_session(lang)
        conn.send(("ready", None))
        while True:
            command, *args = conn.recv()
            if command == "stop":
                break
            conn.send(("ok", asker.ask(*args) if command == "ask" else asker.idle()))
    except BaseException as err:  # noqa: BLE001 - reported to the test process
        conn.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        if asker is not None:
            asker.session.close()
        conn.close()
        from . import conftest

        shutil.rmtree(conftest._SANDBOX, ignore_errors=True)  # noqa: SLF001 - os._exit skips atexit
        os._exit(0)  # MiniCroft leaves non-daemon threads behind


class _Remote:
    """An ``_Asker`` in a child interpreter.

    ovos-padatious trains on containers whose iteration order follows Python's string hashing, so the same
    intent files give a (slightly) different model in every process: borderline utterances flip from run to run
    (measured over hash seeds 0-4: 3 of the 92 negative cases). The pipeline therefore runs in a child started with
    ``PYTHONHASHSEED=HASH_SEED``, which makes every run, and every strict xfail, reproducible."""

    def __init__(self, lang: str, dsn: str) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        saved = os.environ.get("PYTHONHASHSEED")
        os.environ["PYTHONHASHSEED"] = HASH_SEED
        try:
            self.process = ctx.Process(target=_worker, args=(child, lang, dsn, REF_NOW.isoformat()),
                                       name=f"golden-{lang}")
            self.process.start()
        finally:
            if saved is None:
                os.environ.pop("PYTHONHASHSEED", None)
            else:
                os.environ["PYTHONHASHSEED"] = saved
        child.close()
        self._ready = False

    def _receive(self, timeout: float) -> Any:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"{self.process.name}: no answer within {timeout} s")
        status, value = self.conn.recv()
        if status == "error":
            raise RuntimeError(f"{self.process.name}: {value}")
        return value

    def _call(self, *command: Any) -> Any:
        if not self._ready:
            self._receive(BOOT_TIMEOUT)
            self._ready = True
        self.conn.send(command)
        return self._receive(3 * ASK_TIMEOUT)

    def ask(self, utterance: str, reply: bool = False) -> dict[str, Any]:
        return self._call("ask", utterance, reply)

    def idle(self) -> None:
        self._call("idle")

    def close(self) -> None:
        try:
            self.conn.send(("stop",))
        except OSError:
            pass
        self.process.join(15)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


@pytest.fixture(scope="module")
def pipelines(plant_dsn):
    """One pipeline per language, booted side by side, each in its own interpreter."""
    remotes = {lang: _Remote(lang, plant_dsn) for lang in LANGS}
    yield remotes
    for remote in remotes.values():
        remote.close()


def _params() -> list[Any]:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [])
            for c in all_cases()]


@pytest.mark.parametrize("case", _params())
def test_golden_utterance(pipelines, case):
    problems = run_case(pipelines[case.lang], case)
    assert not problems, f"{case.source}: {case.utterance!r}\n  " + "\n  ".join(problems)


# --- the files themselves (no pipeline) ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_golden_files_are_large_enough_and_misses_only_shrink(lang):
    positive, negative = (load_cases(p, lang) for p in golden_files(lang))
    assert len(positive) >= MIN_CASES[lang][0] and len(negative) >= MIN_CASES[lang][1]
    assert all(c.intent is not None for c in positive) and all(c.intent is None for c in negative)
    misses = sum(1 for c in positive + negative if c.xfail)
    assert misses <= XFAIL_BUDGET[lang], f"{lang}: {misses} known misses, the budget is {XFAIL_BUDGET[lang]}"
    seen = [c.utterance.lower() for c in positive + negative]
    assert len(seen) == len(set(seen)), f"{lang}: duplicate utterances"


_SLOT = re.compile(r"\{(\w+)\}")


def _resource_files(lang: str) -> dict[str, Path]:
    return {p.name: p for p in (LOCALE / lang).rglob("*") if p.suffix in {".dialog", ".intent", ".voc", ".entity",
                                                                          ".value"}}


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def test_every_resource_exists_in_every_language_with_the_same_slots():
    files = {lang: _resource_files(lang) for lang in speech.shipped_languages()}
    names = set().union(*(set(f) for f in files.values()))
    for lang, have in files.items():
        assert not names - set(have), f"{lang} lacks {sorted(names - set(have))}"
    for name in sorted(names):
        slots = {lang: set(_SLOT.findall(have[name].read_text(encoding="utf-8"))) for lang, have in files.items()}
        assert len({frozenset(s) for s in slots.values()}) == 1, f"{name}: slots differ {slots}"
        for lang, have in files.items():
            lines = _lines(have[name])
            assert lines, f"{lang}/{name} is empty"
            if name.endswith(".dialog"):  # every line of a dialog declares the same slots
                per_line = {frozenset(_SLOT.findall(ln)) for ln in lines}
                assert len(per_line) == 1, f"{lang}/{name}: lines declare different slots {per_line}"
            if name.endswith(".voc"):
                assert not any(_SLOT.search(ln) for ln in lines), f"{lang}/{name} has a slot"


@pytest.mark.parametrize("lang", LANGS)
def test_every_dialog_renders(lang):
    for path in sorted((LOCALE / lang).rglob("*.dialog")):
        name = path.stem
        lines = speech.phrases(name, lang)
        assert lines, f"{lang}/{name}"
        slots = {s: f"<{s}>" for s in _SLOT.findall(path.read_text(encoding="utf-8"))}
        rendered = speech.render(name, lang, slots)
        assert rendered and "{" not in rendered, f"{lang}/{name}: {rendered!r}"
