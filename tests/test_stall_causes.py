"""What the loop-stall work of issue 14 relies on keeps its meaning: interned calendar classes, the indexed peers of
``calendar.judge`` (the same verdicts as a scan of every baseline day), and the bus language read from the message
(not by digging through the stack)."""
from __future__ import annotations

import datetime as dt
import copy
import random
from types import SimpleNamespace

from ovos_bus_client.message import Message

from skill_enms_performance.bus_api import BusApi
from skill_enms_performance.engine import calendar as cal


def test_day_classes_are_interned_and_copied_as_themselves():
    a = cal.DayClass(cal.CLOSED, cal.REASON_HOLIDAY, "Christmas Day")
    assert cal.DayClass(cal.CLOSED, cal.REASON_HOLIDAY, "Christmas Day") is a
    assert cal.DayClass(cal.WORKING, cal.REASON_WEEKDAY) is not a
    assert copy.deepcopy(a) is a and copy.copy(a) is a
    assert cal.prior(dt.date(2025, 12, 25), "DE", "BY") is cal.prior(dt.date(2025, 12, 25), "DE", "BY")


def _judged_by_scan(day, p, history, country, subdiv):
    """``calendar.judge`` (no production) as it was: every baseline day looked at for every judged day."""
    if not (day.isoweekday() <= 5 and p.reason != cal.REASON_SETTING):
        return p
    if p.holiday:
        peers = [c for d, c in history.items() if c.holiday == p.holiday and d.year < day.year]
    else:
        bridged = cal.bridge_of(day, country, subdiv)
        if bridged:
            peers = [c for d, c in history.items() if d < day and cal.bridge_of(d, country, subdiv) == bridged]
        else:
            iso, peers = day.isocalendar(), []
            for d, c in history.items():
                if d.year < day.year and d.isocalendar()[1:] == iso[1:] and c.code == cal.CLOSED:
                    week = [history.get(d + dt.timedelta(days=k - d.isoweekday())) for k in range(1, 6)]
                    known = [w for w in week if w is not None]
                    shut = sum(w.code == cal.CLOSED and w.reason in (cal.REASON_ENERGY_CLOSED, cal.REASON_NO_PRODUCTION)
                               for w in known)
                    if shut >= 3 or (len(known) >= 2 and shut == len(known)):
                        peers.append(c)
    learned = (cal.REASON_ENERGY_CLOSED, cal.REASON_ENERGY_WORKING, cal.REASON_PRODUCTION, cal.REASON_NO_PRODUCTION)
    peers = [c for c in peers if c.reason in learned]
    if not peers:
        return p
    closed = sum(c.code == cal.CLOSED for c in peers)
    if 2 * closed > len(peers):
        return cal.DayClass(cal.CLOSED, cal.REASON_CLOSED_BEFORE, p.holiday)
    if 2 * closed < len(peers) and p.code == cal.CLOSED:
        return cal.DayClass(cal.WORKING, cal.REASON_WORKED_BEFORE, p.holiday)
    return p


def test_judging_against_indexed_peers_gives_the_verdicts_of_a_full_scan():
    rnd = random.Random(14)
    changed = 0
    for country, subdiv in (("DE", "BY"), ("US", None), (None, None)) * 20:
        start = dt.date(2022, 1, 1) + dt.timedelta(days=rnd.randint(0, 500))
        days = [start + dt.timedelta(days=i) for i in range(rnd.randint(30, 800))]
        history = {}
        for d in days:
            p = cal.prior(d, country, subdiv)
            reason = rnd.choice([cal.REASON_ENERGY_CLOSED, cal.REASON_ENERGY_WORKING, cal.REASON_NO_PRODUCTION,
                                 p.reason])
            code = cal.CLOSED if reason in (cal.REASON_ENERGY_CLOSED, cal.REASON_NO_PRODUCTION) else (
                p.code if reason == p.reason else cal.WORKING)
            history[d] = cal.DayClass(code, reason, p.holiday)
        peers = cal.peers(history, country, subdiv)
        for _ in range(40):
            day = days[-1] + dt.timedelta(days=rnd.randint(-400, 400))
            p = cal.prior(day, country, subdiv)
            got = cal.judge(day, None, False, 0.0, p, peers, country, subdiv)
            assert got is _judged_by_scan(day, p, history, country, subdiv), (day, country)
            assert cal.judge(day, None, False, 0.0, p, history, country, subdiv) is got
            changed += got is not p
    assert changed > 100  # the peers decided often: the comparison exercised them


def test_the_bus_language_comes_from_the_message_not_from_the_stack():
    class Skill:
        @property
        def lang(self):
            raise AssertionError("skill.lang digs through the stack for the message")

    api = BusApi(Skill(), loop=SimpleNamespace(), engine=lambda: None, default_concurrency=1)
    assert api.lang({"lang": "de-de"}, Message("enms.performance.health", {"lang": "de-de"})) == "de-de"
    assert api.lang({}, Message("enms.performance.health", {}, {"lang": "de-DE"})) == "de-de"
    assert api.lang({"lang": "xx-yy"}, Message("enms.performance.health", {"lang": "xx-yy"})) == "en-us"
    assert api.lang({"lang": "\x00"}, Message("enms.performance.health", {"lang": "\x00"})) == "en-us"
