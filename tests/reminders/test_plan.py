"""Planning: who is reminded when, in whose timezone, for which period."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from bot.reminders.plan import (
    STRATEGIC_WINDOW,
    first_business_day,
    occasions,
    period_is_current,
    plan_workspace,
)
from scoring import Cadence
from storage.engine import session_scope
from storage.models import Workspace, WorkspaceSettings
from tests.reminders.conftest import World, utc


def planned(world: World, now):  # -> list[Planned]
    with session_scope(world.db) as s:
        ws = s.get(Workspace, world.ws_id)
        return plan_workspace(s, ws, now)


def who(plans, cadence: Cadence | None = None) -> set[str]:
    return {p.person_name for p in plans if cadence is None or p.cadence is cadence}


@pytest.mark.parametrize(("year", "month", "expected"), [
    (2028, 1, date(2028, 1, 3)),   # Sat 1 Jan → Mon 3 Jan
    (2027, 1, date(2027, 1, 1)),   # Fri 1 Jan
    (2027, 5, date(2027, 5, 3)),   # Sat 1 May → Mon 3 May
    (2026, 11, date(2026, 11, 2)),  # Sun 1 Nov → Mon 2 Nov
])
def test_first_business_day(year: int, month: int, expected: date) -> None:
    assert first_business_day(year, month) == expected
    assert expected.weekday() < 5


def test_occasions_are_pure_and_local() -> None:
    st = WorkspaceSettings(annual_month=3, strategic_dates=[date(2028, 2, 15)])
    paris = ZoneInfo("Europe/Paris")
    assert occasions(utc(2028, 1, 3, 7, 59), paris, st) == []         # 08:59 Paris
    (q,) = occasions(utc(2028, 1, 3, 8, 0), paris, st)                 # 09:00 Paris
    assert (q.cadence, q.period) == (Cadence.QUARTERLY, "2028-Q1")
    got = {(o.cadence, o.period) for o in occasions(utc(2028, 3, 1, 8, 0), paris, st)}
    assert got == {(Cadence.QUARTERLY, "2028-Q1"), (Cadence.ANNUAL, "2028")}  # 15 days on
    got = {(o.cadence, o.period) for o in occasions(utc(2028, 2, 20, 8, 0), paris, st)}
    assert got == {(Cadence.QUARTERLY, "2028-Q1"), (Cadence.STRATEGIC, "2028-02-15")}
    with pytest.raises(ValueError, match="aware"):
        occasions(utc(2028, 1, 3).replace(tzinfo=None), paris, st)


def test_auckland_is_reminded_before_los_angeles(world: World) -> None:
    akl = world.person("Aroha", tz="Pacific/Auckland")
    lax = world.person("Luis", tz="America/Los_Angeles")
    world.customer("Kiwi Fruit Co", akl, "B", utc(2027, 11, 10))
    world.customer("Surf Shack", lax, "C", utc(2027, 11, 10))
    # 3 Jan 2028 08:59 in Auckland (NZDT, UTC+13) = 2 Jan 19:59 UTC
    assert planned(world, utc(2028, 1, 2, 19, 59)) == []
    plans = planned(world, utc(2028, 1, 2, 20, 0))                     # 09:00 Auckland
    assert who(plans) == {"Aroha"}
    (p,) = plans
    assert (p.cadence, p.period, p.timezone) == (Cadence.QUARTERLY, "2028-Q1",
                                                  "Pacific/Auckland")
    assert [c.name for c in p.customers] == ["Kiwi Fruit Co"]
    assert p.at.hour == 9
    assert p.at.date() == date(2028, 1, 3)
    # Los Angeles (PST, UTC-8): 08:59 local no, 09:00 local yes
    assert who(planned(world, utc(2028, 1, 3, 16, 59))) == {"Aroha"}
    assert who(planned(world, utc(2028, 1, 3, 17, 0))) == {"Aroha", "Luis"}


def test_nobody_on_saturday_new_year(world: World) -> None:
    for name, tz in (("Uma", "UTC"), ("Pia", "Europe/Paris"), ("Ted", "Asia/Tokyo"),
                     ("Ann", "America/New_York")):
        world.customer(f"{name} Corp", world.person(name, tz=tz), "B", utc(2027, 10, 20))
    for hour in range(0, 24, 3):  # all of Saturday 1 and Sunday 2 January 2028, UTC
        assert planned(world, utc(2028, 1, 1, hour)) == []
        assert planned(world, utc(2028, 1, 2, hour)) == []
    assert who(planned(world, utc(2028, 1, 3, 0, 0))) == {"Ted"}       # 09:00 Tokyo
    assert who(planned(world, utc(2028, 1, 3, 14, 0))) == {"Ted", "Pia", "Uma", "Ann"}


def test_workspace_timezone_is_the_fallback_then_utc(world: World) -> None:
    world.settings(timezone="Europe/Paris", reminder_hour=10)
    world.customer("Paris SA", world.person("Paula"), "B", utc(2027, 10, 20))
    world.customer("Nowhere Ltd", world.person("Nemo", tz="Mars/Olympus"), "B",
                   utc(2027, 10, 20))  # an invalid zone falls back to the workspace's
    assert planned(world, utc(2028, 1, 3, 8, 59)) == []                # 09:59 Paris
    assert who(planned(world, utc(2028, 1, 3, 9, 0))) == {"Paula", "Nemo"}


def test_a_grade_counts_in_the_quarter_of_the_reps_own_calendar(world: World) -> None:
    """Graded on the evening of 31 December in San Francisco (already 1 January in UTC):
    that is a Q4 grade, so the Q1 reminder lists it again. Graded on the morning of 1 January
    in Tokyo (still 31 December in UTC): a Q1 grade, so nothing is left to remind about."""
    sam = world.person("Sam", tz="America/Los_Angeles")
    taro = world.person("Taro", tz="Asia/Tokyo")
    world.customer("Late Evening Inc", sam, "B", utc(2028, 1, 1, 2))   # 31 Dec 18:00 PST
    world.customer("New Year KK", taro, "B", utc(2027, 12, 31, 23))   # 1 Jan 08:00 JST
    plans = planned(world, utc(2028, 1, 3, 17))                        # Mon 3 Jan 09:00 PST
    assert who(plans) == {"Sam"}
    assert [c.name for c in plans[0].customers] == ["Late Evening Inc"]


def test_only_reps_with_due_customers(world: World) -> None:
    busy = world.person("Busy")
    done = world.person("Done")
    world.person("Nobody")  # owns nothing
    world.customer("Old Grade Inc", busy, "B", utc(2027, 12, 30))
    world.customer("Never Graded", busy)
    world.customer("Fresh Grade", done, "B", utc(2028, 1, 2))          # graded this quarter
    world.customer("Orphan", None)                                    # no owner
    (p,) = planned(world, utc(2028, 1, 3, 9))
    assert p.person_name == "Busy"
    assert sorted(c.name for c in p.customers) == ["Never Graded", "Old Grade Inc"]
    assert p.why().startswith("2 customers due: ")


def test_annual_in_the_configured_month(world: World) -> None:
    world.settings(annual_month=3)
    rep = world.person("Ana")
    world.customer("Steady A", rep, "A", utc(2027, 6, 1))  # A → annual cadence, due 2028
    for now in (utc(2028, 1, 3, 9), utc(2028, 2, 28, 9), utc(2028, 3, 1, 8, 59)):
        assert planned(world, now) == [], now  # not quarterly (A is annual), not yet March
    (p,) = planned(world, utc(2028, 3, 1, 9))                          # Wed 1 March
    assert (p.cadence, p.period) == (Cadence.ANNUAL, "2028")
    assert [c.name for c in p.customers] == ["Steady A"]
    # after downtime the annual reminder is still live later in the year (sent once)
    assert [x.period for x in planned(world, utc(2028, 7, 14, 12))] == ["2028"]


def test_regrade_by_letter_is_configurable(world: World) -> None:
    rep = world.person("Ana")
    world.customer("Top A", rep, "A", utc(2027, 11, 1))
    # A: annual cadence → the (live since January) annual reminder, no quarterly one
    assert {p.cadence for p in planned(world, utc(2028, 4, 3, 9))} == {Cadence.ANNUAL}
    world.settings(regrade_by_letter={"A": "quarterly", "B": "quarterly", "C": "quarterly",
                                      "D": "quarterly"}, annual_month=6)
    (p,) = planned(world, utc(2028, 4, 3, 9))
    assert (p.cadence, p.period) == (Cadence.QUARTERLY, "2028-Q2")


def test_strategic_dates(world: World) -> None:
    world.settings(strategic_dates=["2028-02-15", "2028-05-16"])
    rep = world.person("Sam", tz="America/New_York")
    world.customer("Due Co", rep, "B", utc(2027, 12, 1))
    strategic = [p for p in planned(world, utc(2028, 2, 15, 13, 59))  # 08:59 New York
                 if p.cadence is Cadence.STRATEGIC]
    assert strategic == []
    (p,) = [p for p in planned(world, utc(2028, 2, 15, 14, 0)) if p.cadence is Cadence.STRATEGIC]
    assert p.period == "2028-02-15"
    assert [c.name for c in p.customers] == ["Due Co"]
    later = utc(2028, 2, 15, 14) + STRATEGIC_WINDOW
    assert not [p for p in planned(world, later) if p.cadence is Cadence.STRATEGIC]
    assert period_is_current("strategic", "2028-02-15", date(2028, 2, 20))
    assert not period_is_current("strategic", "2028-02-15", date(2028, 2, 20),
                                 [date(2028, 2, 18)])


def test_away_reps_are_skipped_until_back(world: World) -> None:
    rep = world.person("Olga", away_until=utc(2028, 1, 10, 9))
    world.customer("Waiting Inc", rep, "C", utc(2027, 9, 1))
    assert planned(world, utc(2028, 1, 3, 9)) == []
    assert who(planned(world, utc(2028, 1, 10, 9, 5))) == {"Olga"}  # back: caught up


def test_quarter_after_downtime_is_still_live(world: World) -> None:
    rep = world.person("Dan")
    world.customer("Down Time", rep, "D", utc(2027, 12, 1))
    (p,) = planned(world, utc(2028, 2, 20, 12))  # the bot was down from December
    assert (p.cadence, p.period) == (Cadence.QUARTERLY, "2028-Q1")
    assert p.at == utc(2028, 1, 3, 9).astimezone(p.at.tzinfo)
    assert [x.period for x in planned(world, utc(2028, 4, 1, 12))] == []  # Sat 1 April
    assert [x.period for x in planned(world, utc(2028, 4, 3, 9))] == ["2028-Q2"]
