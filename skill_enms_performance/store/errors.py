"""The store's own failures: the driver's exceptions stay inside ``store/``.

``Store.guard`` turns what asyncpg (or the socket under it) raises into these; the engine maps
them to its coded errors. ``detail`` never holds a password (``redact_dsn``).
"""
from __future__ import annotations


class StoreError(Exception):
    """A database fault the caller may report (not a bug in a statement)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class StoreUnavailableError(StoreError):
    """The database cannot be reached (refused, reset, DNS, pool closed); the pool was closed so the next
    call builds a fresh one."""


class StoreTimeoutError(StoreError):
    """A statement ran out of time (``statement_timeout`` or the client-side command timeout)."""


class StoreRejectedError(StoreError):
    """The database refused a value: a constraint (unique, check, foreign key), a type or a range. ``detail``
    is the driver's name for it."""


__all__ = ["StoreError", "StoreUnavailableError", "StoreTimeoutError", "StoreRejectedError"]
