"""Adding a language is adding a folder (issue 10): a copy of ``locale/en-us`` as ``xx-yy`` with a few words of its
own is read by the request parser, the day reader and the number wording, with no line of Python changed."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from skill_enms_performance.voice import dates, language, parse, wording
from skill_enms_performance.voice.names import SeuRef, SeuResolver

TODAY = dt.date(2025, 11, 6)
MACHINES = [("Compressor-1", "compressor"), ("Compressor-2", "compressor"), ("Boiler-1", "boiler")]


def _plant():
    refs = [SeuRef(name, "electricity", mtype, "Works") for name, mtype in MACHINES]
    seus = [type("Seu", (), {"name": n, "energy_source": "electricity", "machine_type": t, "machine_types": [t],
                             "factory": "Works", "location": "Nowhere", "timezone": "UTC"})() for n, t in MACHINES]
    return SeuResolver(refs), seus  # a resolver of its own: it keeps readings per language


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


@pytest.fixture
def xx_locale(tmp_path):
    """The shipped locale plus ``xx-yy``: English with a word for compressors, a word for yesterday, a cue word for
    a summary and a decimal comma."""
    root = tmp_path / "locale"
    shutil.copytree(language.locale_dir(), root)
    folder = root / "xx-yy"
    shutil.copytree(root / "en-us", folder)

    def names(data):
        data["machine_type_words"]["compressor"] = ["squeezer", "squeezers"]
        data["aliases"]["squeezer"] = "compressor"

    _edit(folder / "names.json", names)
    _edit(folder / "dates.json", lambda data: data["relative"].update({"yestereve": 1}))
    _edit(folder / "wording.json", lambda data: data["words"].update({"decimal": ",", "group": "."}))
    (folder / "cue.summary.voc").write_text("rundown\n", encoding="utf-8")
    language.use_locale_root(root)
    try:
        yield root
    finally:
        language.use_locale_root(None)


def test_a_new_folder_is_a_language_read_with_its_own_words(xx_locale):
    resolver, seus = _plant()
    assert language.primary("xx-YY") == "xx" and "xx" in language.languages()

    one = parse.parse("how did squeezer 1 do yestereve", "xx-yy", resolver, seus)
    assert one.ours and one.op == "analyze" and one.seu is not None and one.seu.seu_name == "Compressor-1", one
    assert dates.resolve_day(one.rest, TODAY, "xx-yy").day == TODAY - dt.timedelta(days=1)

    group = parse.parse("rundown of the squeezers", "xx-yy", resolver, seus)
    assert group.op == "summary" and group.machine_type == "compressor" and group.plural_type, group

    assert wording.speakable(1234.5, "xx-yy") == "1.235" and wording.speakable(4.25, "xx-yy") == "4,3"


def test_a_table_a_language_lacks_is_english(xx_locale):
    (xx_locale / "xx-yy" / "wording.json").unlink()
    language.use_locale_root(xx_locale)  # forget what was read
    assert wording.speakable(1234.5, "xx-yy") == wording.speakable(1234.5, "en-us") == "1,235"
    assert wording.WORDS["xx"] == wording.WORDS["en"]


def test_without_the_folder_the_words_are_not_known():
    resolver, seus = _plant()
    assert language.primary("xx-yy") == "en"
    said = parse.parse("how did squeezer 1 do yestereve", "xx-yy", resolver, seus)
    assert said.seu is None or said.seu.seu_name != "Compressor-1"
    assert dates.resolve_day("yestereve", TODAY, "xx-yy").day is None
