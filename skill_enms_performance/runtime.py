"""One asyncio event loop on a background thread, owned by a synchronous caller.

OVOS skill handlers are synchronous; the engine is async. The skill submits coroutines to
this loop and waits for them with a timeout; a question that takes too long is cancelled on
the loop, so its database work stops too.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import threading
import time
from typing import Any, Awaitable, Callable, Coroutine, TypeVar

T = TypeVar("T")


def redact(text: str) -> str:
    """``text`` with any DSN password masked: what skill and command line log or print of a database error
    (the store owns the rule; callers above the engine come here instead of importing the store)."""
    from .store import redact_dsn

    return redact_dsn(text)

LOG = logging.getLogger(__name__)


class LoopThread:
    def __init__(self, name: str = "enms-engine-loop") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = threading.Event()
        self._thread.start()
        self._started.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._started.set)
        self._loop.run_forever()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._loop.is_closed()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait; on timeout it is cancelled and TimeoutError raised."""
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no result within {timeout} s") from None

    def stop(self, cleanup: Callable[[], Awaitable[Any]] | None = None, timeout: float = 2.0) -> None:
        """Run ``cleanup`` (e.g. closing the pool), cancel what is left, stop and join the thread."""
        if self._loop.is_closed():
            return
        if cleanup is not None and self._thread.is_alive():
            try:
                self.run(cleanup(), timeout=timeout * 0.75)
            except Exception as err:  # noqa: BLE001 - shutting down: log and go on stopping
                LOG.warning("cleanup at shutdown failed: %s", type(err).__name__)

        async def _cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            try:
                self.run(_cancel_rest(), timeout=timeout * 0.25)
            except Exception as err:  # noqa: BLE001 - shutting down: log and go on stopping
                LOG.warning("cancelling pending work at shutdown failed: %s", type(err).__name__)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()


def _run_queue_wait_s() -> float:
    """Seconds the calling thread has waited for a CPU while runnable (Linux schedstat; 0.0 elsewhere)."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


class LoopLag:
    """The stalls of a ``LoopThread``, measured on the loop itself: how late a short sleep wakes up.

    ``wall_s`` holds each wake-up's lateness; ``own_s`` the part this process caused: the lateness less the time
    the loop thread waited for a CPU (another program's turn on a busy machine), and never more than the CPU time
    the process used meanwhile (a process the system did not run stalled nothing of its own). Callbacks that
    compute on the loop, and threads that hold the GIL or collect garbage, count in both. ``gc_s`` holds the time
    the process spent collecting garbage during each sleep: a full collection walks every object of the process
    (in a device's skill process, every skill's), so its length says more about the process than about this
    skill."""

    def __init__(self, loop: LoopThread, interval_s: float = 0.01) -> None:
        self.loop, self.interval_s = loop, interval_s
        self.wall_s: list[float] = []
        self.own_s: list[float] = []
        self.gc_s: list[float] = []
        self._gc_total, self._gc_started = 0.0, 0.0
        self._running = threading.Event()
        self._future: concurrent.futures.Future | None = None

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            self._gc_total += time.perf_counter() - self._gc_started

    def start(self) -> "LoopLag":
        gc.callbacks.append(self._on_gc)
        self._running.set()
        self._future = self.loop.submit(self._probe())
        return self

    def stop(self) -> "LoopLag":
        self._running.clear()
        if self._future is not None:
            try:
                self._future.result(timeout=5.0)
            except Exception as err:  # noqa: BLE001 - a loop stopped first ends the probe too
                LOG.debug("loop lag probe ended: %s", type(err).__name__)
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        return self

    def __enter__(self) -> "LoopLag":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _probe(self) -> None:
        while self._running.is_set():
            started, cpu, queued, collected = (time.perf_counter(), time.process_time(), _run_queue_wait_s(),
                                               self._gc_total)
            await asyncio.sleep(self.interval_s)
            late = max(0.0, time.perf_counter() - started - self.interval_s)
            own = min(late - (_run_queue_wait_s() - queued), time.process_time() - cpu)
            self.wall_s.append(late)
            self.own_s.append(max(0.0, own))
            self.gc_s.append(self._gc_total - collected)

    @staticmethod
    def _quantile(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def worst(self, own: bool = True) -> float:
        return max(self.own_s if own else self.wall_s, default=0.0)

    def worst_besides_gc(self) -> float:
        """The longest stall of the process's own, less the garbage collection within it."""
        return max((max(0.0, o - g) for o, g in zip(self.own_s, self.gc_s, strict=True)), default=0.0)

    def quantile(self, q: float, own: bool = True) -> float:
        return self._quantile(self.own_s if own else self.wall_s, q)
