"""Where a language's words live: ``locale/<lang>/`` (dialogs, vocabularies, and word lists as ``<table>.json``).

A language is named by its primary subtag ("de" for ``de-de``, "de-DE", "de_AT"): adding a language is adding a
folder. A table a language lacks, and a key its table lacks, is English's. Each table is read once per language
(first use) and kept; :func:`use_locale_root` points everything at another ``locale/`` and forgets what was read.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TypeVar

__all__ = ["PACKAGE_DIR", "DEFAULT_LANG", "FALLBACK", "resources_dir", "locale_dir", "use_locale_root", "cached",
           "languages", "primary", "table", "PerLanguage"]

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_LANG = "en-us"
FALLBACK = "en"  # the language of a tag without a folder, and of a table or key a language lacks

_V = TypeVar("_V")
_F = TypeVar("_F", bound=Callable[..., Any])
_root: Path | None = None
_caches: list[Any] = []


def resources_dir() -> Path:
    """The folder holding ``locale/``: the installed package, or the repository in a checkout."""
    for candidate in (PACKAGE_DIR, PACKAGE_DIR.parent):
        if (candidate / "locale" / DEFAULT_LANG).is_dir():
            return candidate
    return PACKAGE_DIR


def locale_dir() -> Path:
    return _root if _root is not None else resources_dir() / "locale"


def cached(fn: _F | None = None, *, maxsize: int | None = None) -> Any:
    """``lru_cache`` for what is read from ``locale/``: emptied when the locale root changes. ``@cached`` keeps
    every value (a language's tables); ``@cached(maxsize=n)`` the latest n (readings of what was said)."""
    def wrap(f: _F) -> _F:
        wrapped = lru_cache(maxsize=maxsize)(f)
        _caches.append(wrapped)
        return wrapped  # type: ignore[return-value]

    return wrap(fn) if fn is not None else wrap


def use_locale_root(path: Path | str | None) -> None:
    """Read languages from ``path`` (a folder of ``<lang>/`` folders); None: the shipped ``locale/`` again."""
    global _root
    _root = Path(path) if path is not None else None
    for cache in _caches:
        cache.cache_clear()


@cached
def languages() -> dict[str, str]:
    """Primary subtag -> its folder ("de" -> "de-de"); the first folder in name order when several share one."""
    found: dict[str, str] = {}
    for folder in sorted(p.name for p in locale_dir().iterdir() if p.is_dir() and not p.name.startswith("_")):
        found.setdefault(folder.lower().replace("_", "-").split("-")[0], folder)
    return found


@cached
def primary(lang: str) -> str:
    """The primary subtag of a language with a folder ("de-DE" -> "de"); anything else reads as English."""
    key = (lang or FALLBACK).lower().replace("_", "-").split("-")[0]
    return key if key in languages() else FALLBACK


@cached
def table(name: str, key: str) -> dict[str, Any]:
    """``<name>.json`` of language ``key`` (a primary subtag) over English's: what it lacks is English's."""
    base = table(name, FALLBACK) if key != FALLBACK else {}
    folder = languages().get(key)
    own: dict[str, Any] = {}
    if folder is not None:
        try:
            own = json.loads((locale_dir() / folder / f"{name}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            pass
    return {**base, **own}


class PerLanguage(Mapping[str, _V]):
    """A table keyed by primary subtag, each language's value built from its files on first use and kept (a plain
    dict: it is read on the parse's hot path). ``build`` returning None leaves the language out."""

    def __init__(self, build: Callable[[str], _V | None]) -> None:
        self._build = build
        self._values: dict[str, _V | None] = {}
        _caches.append(self)

    def cache_clear(self) -> None:
        self._values.clear()

    def _value(self, key: str) -> _V | None:
        try:
            return self._values[key]
        except KeyError:
            value = self._values[key] = self._build(key) if key in languages() else None
            return value

    def __getitem__(self, key: str) -> _V:
        value = self._value(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (key for key in languages() if self._value(key) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)
