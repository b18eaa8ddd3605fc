"""Pure-Python helpers for the paraphrase corpus (no skill imports, so the corpus stays independent of the code).

Files: ``plants.json`` (role -> canonical name and spoken forms per plant and language) and, per language,
``positives.jsonl``, ``negatives.jsonl``, ``followups.jsonl``, and the fresh batch ``fresh.jsonl`` /
``fresh_negatives.jsonl`` (new tuning material, written later by someone who had not read the parser or the other
files' utterances), and the second to sixth fresh batches ``fresh2.jsonl`` / ``fresh2_negatives.jsonl``,
``fresh3.jsonl`` / ``fresh3_negatives.jsonl``, ``fresh4.jsonl`` / ``fresh4_negatives.jsonl``, ``fresh5.jsonl`` /
``fresh5_negatives.jsonl`` and ``fresh6.jsonl`` / ``fresh6_negatives.jsonl`` (written the same way, without reading
the parser or any earlier utterance). See ``README.md`` in this folder.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Iterator

CORPUS_DIR = Path(__file__).resolve().parent
LANGS = ("en-us", "de-de")
PLANTS = ("demo", "second")
OPS = ("analyze", "why", "summary", "ranking", "compare", "opportunities", "action_plan", "plans", "savings",
       "health")
#: the brief's "plan_count" is the plans op without a machine; kept as an alias for readers of other documents
OP_ALIASES = {"plan_count": "plans"}
CLASSES = tuple(range(1, 9))
ENERGY_SOURCES = ("electricity", "natural_gas", "steam", "compressed_air")
GROUP_KINDS = ("all", "type", "factory", "type_factory")
NEGATIVE_KINDS = ("neighbour", "near_miss", "chitchat")
HOLDOUT_SEED = 20251106
HOLDOUT_FRACTION = 0.3

#: every relative day and period in the corpus is resolved at this local wall-clock moment (a Thursday)
REFERENCE_MOMENT = dt.datetime(2025, 11, 6, 13, 0)
TODAY = REFERENCE_MOMENT.date()
YESTERDAY = TODAY - dt.timedelta(days=1)

#: named periods -> (first day, last day), both inclusive. Periods that reach "now" end yesterday (the last
#: complete day), as the skill's own answers do ("from saturday, november first to yesterday").
PERIODS: dict[str, tuple[str, str]] = {
    "last_week": ("2025-10-27", "2025-11-02"),       # the previous Monday-Sunday calendar week
    "this_week": ("2025-11-03", "2025-11-05"),       # Monday of this week to yesterday
    "since_monday": ("2025-11-03", "2025-11-05"),
    "last_weekend": ("2025-11-01", "2025-11-02"),
    "last_7_days": ("2025-10-30", "2025-11-05"),     # "the past seven days", "the past week" (rolling)
    "last_2_weeks": ("2025-10-23", "2025-11-05"),    # rolling 14 days
    "last_30_days": ("2025-10-07", "2025-11-05"),
    "this_month": ("2025-11-01", "2025-11-05"),
    "last_month": ("2025-10-01", "2025-10-31"),
    "october": ("2025-10-01", "2025-10-31"),
    "september": ("2025-09-01", "2025-09-30"),
    "this_year": ("2025-01-01", "2025-11-05"),
    "since_january": ("2025-01-01", "2025-11-05"),
    "last_year": ("2024-01-01", "2024-12-31"),
}

_PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9_]*)(?::([a-z]+))?\}")


def load_plants() -> dict:
    return json.loads((CORPUS_DIR / "plants.json").read_text(encoding="utf-8"))


def load_jsonl(lang: str, name: str) -> list[dict]:
    """``name`` is positives, negatives, followups, fresh, fresh_negatives, fresh2, fresh2_negatives, fresh3,
    fresh3_negatives, fresh4, fresh4_negatives, fresh5, fresh5_negatives, fresh6 or fresh6_negatives."""
    path = CORPUS_DIR / lang / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_fresh(lang: str) -> list[dict]:
    """The fresh batch of positives (all ``split: "tune"``; the holdout of ``positives.jsonl`` is not touched)."""
    return load_jsonl(lang, "fresh")


def load_fresh_negatives(lang: str) -> list[dict]:
    """The fresh batch of negatives, in the format of ``negatives.jsonl``."""
    return load_jsonl(lang, "fresh_negatives")


#: the fresh batches the understanding test holds to its floors, in the order they were written (``<batch>.jsonl`` and
#: ``<batch>_negatives.jsonl`` each): each was read as it came, then the parser fixed by class
FRESH_BATCHES = ("fresh", "fresh2", "fresh3", "fresh4", "fresh5")
#: batches written and measured but not yet read for fixes (README: "Sixth fresh batch"): kept as they came for the
#: next reading, checked for format, not yet held to the understanding floors
MEASURED_BATCHES = ("fresh6",)
#: every fresh batch in the order written
WRITTEN_BATCHES = FRESH_BATCHES + MEASURED_BATCHES


def load_all_fresh(lang: str) -> list[dict]:
    """The positives of every fresh batch, in the order written."""
    return [r for batch in FRESH_BATCHES for r in load_jsonl(lang, batch)]


def load_all_negatives(lang: str) -> list[dict]:
    """``negatives.jsonl`` and every fresh batch's negatives."""
    return load_jsonl(lang, "negatives") + [r for batch in FRESH_BATCHES for r in load_jsonl(lang, f"{batch}_negatives")]


def placeholders(text: str) -> list[tuple[str, str]]:
    """[(role, variant)] in order of appearance; variant 'default' when none is written."""
    return [(m.group(1), m.group(2) or "default") for m in _PLACEHOLDER.finditer(text)]


def spoken_forms(plants: dict, role: str, plant: str, lang: str, variant: str = "default") -> list[str]:
    """The spoken forms of a role on a plant; [] if the role does not exist there."""
    entry = plants["roles"][role]["plants"][plant]
    if entry is None:
        return []
    return list(entry["forms"][lang].get(variant, []))


def fill(text: str, plants: dict, plant: str, lang: str, pick: int = 0) -> str:
    """Replace every placeholder by one spoken form: form number ``pick + position`` (mod the number of forms), so
    that iterating ``pick`` over range(max forms) walks every form of every role deterministically."""
    position = itertools.count()

    def repl(m: re.Match) -> str:
        forms = spoken_forms(plants, m.group(1), plant, lang, m.group(2) or "default")
        if not forms:
            raise KeyError(f"{m.group(0)} has no spoken form on plant {plant!r} in {lang}")
        return forms[(pick + next(position)) % len(forms)]
    return _PLACEHOLDER.sub(repl, text)


def fills(text: str, plants: dict, plant: str, lang: str) -> Iterator[str]:
    """Every distinct filling obtained by walking ``pick``; enough to touch each spoken form once."""
    widest = max((len(spoken_forms(plants, r, plant, lang, v)) for r, v in placeholders(text)), default=1)
    seen = set()
    for pick in range(widest):
        s = fill(text, plants, plant, lang, pick)
        if s not in seen:
            seen.add(s)
            yield s


def resolve_day(day: str | None) -> str | None:
    if day is None:
        return None
    return {"today": TODAY.isoformat(), "yesterday": YESTERDAY.isoformat()}.get(day, day)


def resolve_expect(expect: dict, plants: dict, plant: str) -> dict:
    """The expectation with roles replaced by canonical names on ``plant`` and days/periods as ISO dates."""
    def canon(role: str | None) -> str | None:
        if role is None:
            return None
        entry = plants["roles"][role]["plants"][plant]
        if entry is None:
            raise KeyError(f"role {role} does not exist on plant {plant!r}")
        return entry["canonical"]

    out = dict(expect)
    out["seu"] = canon(expect.get("seu"))
    if expect.get("seu_b") is not None:
        out["seu_b"] = canon(expect["seu_b"])
    g = expect.get("group")
    if g is not None:
        out["group"] = {"kind": g["kind"], "type": canon(g.get("type")), "factory": canon(g.get("factory"))}
    out["day"] = resolve_day(expect.get("day"))
    p = expect.get("period")
    if p is not None:
        out["period"] = {"start": p["start"], "end": p["end"]}
    return out


def stratified_holdout(records: Iterable[dict], key=lambda r: (r["expect"]["op"], r["class"]),
                       seed: int = HOLDOUT_SEED, fraction: float = HOLDOUT_FRACTION) -> set[str]:
    """Ids set aside unseen: records grouped by ``key``, each group shuffled with ``seed`` (groups in sorted order),
    then every record whose running position crosses a multiple of 1/fraction is taken. Every stratum and the whole
    get ``fraction`` of their records, to within one."""
    groups: dict = defaultdict(list)
    for r in records:
        groups[key(r)].append(r["id"])
    rng = random.Random(seed)
    order: list[str] = []
    for k in sorted(groups, key=str):
        ids = sorted(groups[k])
        rng.shuffle(ids)
        order.extend(ids)
    return {rid for i, rid in enumerate(order) if int((i + 1) * fraction) > int(i * fraction)}
