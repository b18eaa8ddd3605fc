"""The bus API: ``enms.performance.<op>`` -> ``enms.performance.<op>.response`` with the JSON answer (or
``{"error": {code, message}}``), worked on the skill's event loop under admission control.

Admission control: at most ``bus_concurrency`` requests are worked on at once, the rest wait for a turn in
arrival order (a burst then finishes what it starts instead of timing everything out half-way); the work
timeout starts with the turn, and a request that waits longer than ``bus_queue_timeout_s`` is answered with
code ``busy``. Spoken questions do not queue here: a person waiting goes first.

Replies are serialised and sent by one thread of their own, not on the event loop: a reply is up to tens of
kB of JSON, and a bus client's send may block on its socket.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Any, Callable, Coroutine, Mapping

from ovos_bus_client.util import get_message_lang

from .answers import Request, answer
from .engine import Engine
from .engine.errors import BusyError, EnmsError
from .engine.errors import TimeoutError_ as EngineTimeout
from .runtime import LoopThread, redact
from .voice import speech

#: bus message type -> answer operation
OPERATIONS = {
    "enms.performance.analyze": "analyze",
    "enms.performance.summary": "summary",
    "enms.performance.health": "health",
    "enms.performance.opportunities": "opportunities",
    "enms.performance.action_plan": "action_plan",
    "enms.performance.savings": "savings",
}


class BusApi:
    """Answers bus requests for a skill: ``skill.bus``, ``skill.settings``, ``skill.log``, ``skill.lang``."""

    def __init__(self, skill: Any, loop: LoopThread, engine: Callable[[], Engine], default_concurrency: int) -> None:
        self.skill = skill
        self.loop = loop
        self.engine = engine                       # the engine, or raises the reason there is none
        self.default_concurrency = default_concurrency
        self.turns: asyncio.Semaphore | None = None  # bus requests worked on at once (made on the loop)
        self._sender: concurrent.futures.ThreadPoolExecutor | None = None
        self._sender_lock = threading.Lock()

    def register(self) -> None:
        for kind, op in OPERATIONS.items():
            self.skill.add_event(kind, lambda message, op=op: self.handle(op, message))

    def handle(self, op: str, message: Any) -> None:
        data = message.data
        try:  # checked at once: a rejected request is answered without waiting for a turn
            request = Request.from_bus(op, data)
        except EnmsError as err:
            self.skill.bus.emit(message.response({"error": err.to_dict(), "elapsed_ms": 0.0, "queued_ms": None}))
            return
        lang = self.lang(data if isinstance(data, Mapping) else {}, message)

        async def work() -> dict[str, Any]:
            return (await answer(self.engine(), request, lang)).payload

        self.reply_async(message, work())

    def lang(self, data: Mapping[str, Any], message: Any = None) -> str:
        """The language a bus caller asked for, if this skill ships it; else the message's session's or the
        device's.

        The message is read directly: ``skill.lang`` looks for it with ``inspect.stack()``, which reads the source
        lines of every frame of the stack (about 8 ms of pure Python per request, half of the process's CPU in the
        bus fuzz, holding the GIL against the engine's event loop; issue 14)."""
        shipped = speech.shipped_languages()
        lang = data.get("lang")
        if isinstance(lang, str) and lang.lower() in shipped:
            return lang.lower()
        try:  # the message's language tag may be garbage on the bus
            device = (get_message_lang(message) if message is not None else self.skill.lang).lower()
        except Exception:  # noqa: BLE001 - langcodes rejects non-ASCII tags
            device = speech.DEFAULT_LANG
        return device if device in shipped else speech.DEFAULT_LANG

    def reply_async(self, message: Any, coro: Coroutine[Any, Any, dict[str, Any]]) -> None:
        """Run on the loop without blocking the bus; always reply, with the result or an error."""
        settings = self.skill.settings
        timeout = float(settings.get("bus_timeout_s", 10.0))
        queue_timeout = float(settings.get("bus_queue_timeout_s", 30.0))
        started = time.monotonic()
        waited: list[float] = []

        async def guarded() -> dict[str, Any]:
            turns = self._turns()
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
                return {"error": {"code": err.code, "message": redact(err.message)}}
            except Exception as err:  # noqa: BLE001 - a bus caller always gets an answer
                self.skill.log.exception("bus request failed")
                return {"error": {"code": "internal_error", "message": redact(type(err).__name__)}}
            finally:
                coro.close()  # never started (busy, cancelled): no "never awaited" warning

        def done(future: Any) -> None:
            try:
                payload = future.result()
            except BaseException as err:  # noqa: BLE001 - cancelled at shutdown
                payload = {"error": {"code": "internal_error", "message": type(err).__name__}}
            payload.setdefault("elapsed_ms", round((time.monotonic() - started) * 1000, 1))
            payload.setdefault("queued_ms", round(waited[0] * 1000, 1) if waited else None)
            self.send(lambda: self.skill.bus.emit(message.response(payload)))

        self.loop.submit(guarded()).add_done_callback(done)

    def send(self, emit: Callable[[], None]) -> None:
        """``emit`` on the reply thread (inline once the API is closed: a reply is never lost)."""
        with self._sender_lock:
            if self._sender is None:
                self._sender = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="enms-bus-reply")
            sender = self._sender
        try:
            sender.submit(self._emit, emit)
        except RuntimeError:  # shut down meanwhile
            self._emit(emit)

    def _emit(self, emit: Callable[[], None]) -> None:
        try:
            emit()
        except Exception:  # noqa: BLE001 - a broken bus must not end the reply thread
            self.skill.log.exception("bus reply failed")

    def close(self) -> None:
        """Send the replies still waiting, then stop the reply thread."""
        with self._sender_lock:
            sender, self._sender = self._sender, None
        if sender is not None:
            sender.shutdown(wait=True)

    def _turns(self) -> asyncio.Semaphore:
        if self.turns is None:
            self.turns = asyncio.Semaphore(max(1, int(self.skill.settings.get("bus_concurrency",
                                                                              self.default_concurrency))))
        return self.turns


async def _wait_for(coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
    try:
        return await asyncio.wait_for(coro, timeout)
    except asyncio.TimeoutError:
        raise EngineTimeout(timeout) from None
