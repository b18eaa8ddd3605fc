"""One asyncio event loop on a background thread, owned by a synchronous caller.

OVOS skill handlers are synchronous; the engine is async. The skill submits coroutines to
this loop and waits for them with a timeout; a question that takes too long is cancelled on
the loop, so its database work stops too.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
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
