"""Sweeps against the fake Slack Web API (real HTTP, the SDK's real retry handlers)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine

from bot.reminders import actions
from bot.reminders.sweep import Sweeper, SweepReport
from bot.slack.app import _ACTION_PATTERN
from bot.slack.notify import PAGE, SlackNotifier
from storage import deliveries as dl
from storage.engine import session_scope
from storage.errors import InvalidInput
from storage.models import DeliveryStatus, Person, ReminderDelivery
from tests.fakes.blocks import blocks_of, buttons, text_objects
from tests.fakes.slack_api import FakeSlackAPI
from tests.reminders.conftest import World, fast_client, parents, replies, utc

T = utc(2028, 1, 3, 9)  # Monday 3 January 2028, 09:00 UTC: the first business day of Q1


def delivery_of(db: Engine, person_id: int) -> ReminderDelivery:
    with session_scope(db) as s:
        from sqlmodel import select

        return s.exec(select(ReminderDelivery).where(
            ReminderDelivery.person_id == person_id)).one()


async def sweep(db: Engine, notifier: SlackNotifier, now, **kw):
    return await Sweeper(db, [notifier], **kw).sweep(now)


@pytest.fixture
def rita(world: World) -> dict:
    pid = world.person("Rita", uid="U100")
    acme = world.customer("<!channel> <@U123> *Acme*", pid, "B", utc(2027, 11, 10))
    beta = world.customer("Beta & Co", pid)
    return {"pid": pid, "acme": acme, "beta": beta}


async def test_reminder_thread_in_the_dm(db: Engine, world: World, api: FakeSlackAPI,
                                         notifier: SlackNotifier, rita: dict) -> None:
    report = await sweep(db, notifier, T)
    assert (report.sent, report.errors) == (1, []), report
    assert [c.args["users"] for c in api.of("conversations.open")] == ["U100"]
    (parent,) = parents(api)
    assert parent.args["channel"] == "D100"
    assert parent.args["text"] == "Q1 2028 re-grading: 2 customers due"
    d = delivery_of(db, rita["pid"])
    ts = d.thread_ts
    (listing,) = replies(api, ts)
    blocks = blocks_of(listing.args)
    assert len(blocks) <= 50
    btns = buttons(blocks)
    assert {b["value"] for b in btns} == {f"pick||{rita['acme']}", f"pick||{rita['beta']}",
                                          f"rem|snooze|{d.id}|1", f"rem|snooze|{d.id}|7",
                                          f"rem|away|{d.id}"}
    assert [b["text"]["text"] for b in btns if b["value"].startswith("rem|")] == [
        "Snooze 1 day", "Snooze 1 week", "Out of office"]
    assert all(_ACTION_PATTERN.match(b["action_id"]) for b in btns)
    # names only in plain_text, escaped like every text object (Slack shows the characters);
    # no mrkdwn anywhere; top-level texts carry no names
    plain = "\n".join(text_objects(blocks, "plain_text"))
    assert "&lt;!channel&gt; &lt;@U123&gt; *Acme* · B · last graded 2027-11-10" in plain
    assert "<!channel>" not in plain
    assert "Beta &amp; Co · never graded" in plain
    assert text_objects([blocks_of(parent.args), blocks], "mrkdwn") == []
    assert "Acme" not in listing.args["text"]
    assert "<" not in parent.args["text"]
    # the row: sent, the thread, first follow-up after followup_days (default 3)
    assert (d.status, d.channel, d.thread_ts, d.customers_due) == (DeliveryStatus.SENT, "D100",
                                                                   ts, 2)
    assert d.next_followup_at == T + timedelta(days=3)
    assert d.attempts == 1
    assert world.get(Person, rita["pid"]).dm_channel == "D100"


async def test_second_sweep_and_restart_do_not_double(db: Engine, world: World,
                                                      api: FakeSlackAPI, notifier: SlackNotifier,
                                                      rita: dict) -> None:
    first = Sweeper(db, [notifier])
    assert (await first.sweep(T)).sent == 1
    assert (await first.sweep(T + timedelta(minutes=5))).sent == 0
    restarted = Sweeper(db, [SlackNotifier(fast_client(api.base_url), db=db)])  # new process
    assert (await restarted.sweep(T + timedelta(minutes=10))).sent == 0
    assert (await restarted.sweep(T + timedelta(days=20))).sent == 0
    assert len(parents(api)) == 1


async def test_followups_in_the_same_thread_then_closed(db: Engine, world: World,
                                                        api: FakeSlackAPI,
                                                        notifier: SlackNotifier,
                                                        rita: dict) -> None:
    world.settings(followup_days=2)
    await sweep(db, notifier, T)
    ts = delivery_of(db, rita["pid"]).thread_ts
    assert (await sweep(db, notifier, T + timedelta(days=1, hours=23))).followups == 0
    world.grade(rita["beta"], "C", T + timedelta(days=1), rita["pid"])  # one of two graded
    report = await sweep(db, notifier, T + timedelta(days=2))
    assert report.followups == 1, report
    thread = replies(api, ts)
    assert len(thread) == 3  # the list, the follow-up line, the remaining list
    assert thread[1].args["text"] == "Reminder — Q1 2028 re-grading: 1 customer still due"
    assert [b["value"] for b in buttons(blocks_of(thread[2].args))
            if b["value"].startswith("pick")] == [f"pick||{rita['acme']}"]
    assert (await sweep(db, notifier, T + timedelta(days=2, minutes=5))).followups == 0
    assert delivery_of(db, rita["pid"]).next_followup_at == T + timedelta(days=4)
    # everything graded → the parent is updated at the next sweep, no more follow-ups
    world.grade(rita["acme"], "A", T + timedelta(days=3), rita["pid"])
    report = await sweep(db, notifier, T + timedelta(days=3, minutes=5))
    assert report.closed == 1, report
    (upd,) = api.ok("chat.update")
    assert (upd.args["channel"], upd.args["ts"]) == ("D100", ts)
    assert upd.args["text"] == "Q1 2028 re-grading: All graded ✓"
    assert buttons(blocks_of(upd.args)) == []
    assert delivery_of(db, rita["pid"]).status == DeliveryStatus.DONE
    before = len(api.calls)
    await sweep(db, notifier, T + timedelta(days=30))
    assert len(api.calls) == before
    assert len(parents(api)) == 1


async def test_followups_stop_after_max_followups(db: Engine, world: World,
                                                 api: FakeSlackAPI, notifier: SlackNotifier,
                                                 rita: dict) -> None:
    """A rep who grades nothing is nudged max_followups times, the last one saying so; then
    the thread stays quiet for the rest of the quarter (a snooze still asks for one more)."""
    world.settings(followup_days=3, max_followups=2)
    await sweep(db, notifier, T)
    ts = delivery_of(db, rita["pid"]).thread_ts
    counts = [(await sweep(db, notifier, T + timedelta(days=day, minutes=1))).followups
              for day in range(1, 80)]  # the rest of the quarter, a sweep a day
    assert sum(counts) == 2
    assert [i + 1 for i, c in enumerate(counts) if c] == [3, 6]
    intros = [r.args["text"] for r in replies(api, ts)]
    assert intros.count("Reminder — Q1 2028 re-grading: 2 customers still due") == 2
    lines = [t for r in replies(api, ts) for kind in ("plain_text", "mrkdwn")
             for t in text_objects(blocks_of(r.args), kind)]
    assert sum("A gentle nudge" in t for t in lines) == 1
    assert sum(t.startswith("A last nudge") and "No more reminders this period" in t
               for t in lines) == 1
    d = delivery_of(db, rita["pid"])
    assert (d.status, d.followups, d.next_followup_at) == (DeliveryStatus.SENT, 2, None)
    # out of office does not re-open a thread that has finished its follow-ups ...
    actions.set_out_of_office(db, rita["pid"], date(2028, 3, 23), T + timedelta(days=79),
                              delivery_id=d.id)  # back on day 80
    assert delivery_of(db, rita["pid"]).next_followup_at is None
    assert (await sweep(db, notifier, T + timedelta(days=81))).followups == 0
    # ... but asking to be reminded later does: one more, then quiet again
    actions.snooze(db, rita["pid"], d.id, 1, T + timedelta(days=81))
    assert (await sweep(db, notifier, T + timedelta(days=82, minutes=1))).followups == 1
    assert (await sweep(db, notifier, T + timedelta(days=86))).followups == 0


async def test_no_followups_when_max_followups_is_zero(db: Engine, world: World,
                                                      notifier: SlackNotifier,
                                                      rita: dict) -> None:
    world.settings(max_followups=0)
    assert (await sweep(db, notifier, T)).sent == 1
    assert delivery_of(db, rita["pid"]).next_followup_at is None
    assert (await sweep(db, notifier, T + timedelta(days=10))).followups == 0


async def test_followup_closes_when_all_graded(db: Engine, world: World, api: FakeSlackAPI,
                                               rita: dict) -> None:
    """The follow-up path itself: recompute → empty → close_reminder + mark_done."""
    from tests.reminders.conftest import RecordingNotifier

    rec = RecordingNotifier()
    sweeper = Sweeper(db, [rec])
    await sweeper.sweep(T)
    world.grade(rita["acme"], "B", T + timedelta(hours=1), rita["pid"])
    world.grade(rita["beta"], "B", T + timedelta(hours=1), rita["pid"])
    d = delivery_of(db, rita["pid"])
    # the eager close fails (re-opened, due at once), then the follow-up's close fails too
    rec.fail_next["close_reminder"] = 2
    r1 = await sweeper.sweep(T + timedelta(hours=2))
    assert (r1.closed, len(r1.errors)) == (0, 2), r1
    assert delivery_of(db, rita["pid"]).status == DeliveryStatus.SENT
    r2 = SweepReport()
    await sweeper._followups(T + timedelta(hours=3), r2)  # the follow-up path alone
    assert r2.closed == 1, r2
    assert delivery_of(db, rita["pid"]).status == DeliveryStatus.DONE
    assert [x[2] for x in rec.of("close_reminder")] == ["Q1 2028 re-grading: All graded ✓"]
    assert d.thread_ts == rec.of("close_reminder")[0][1].thread_ts


async def test_snooze(db: Engine, world: World, api: FakeSlackAPI, notifier: SlackNotifier,
                      rita: dict) -> None:
    await sweep(db, notifier, T)
    d = delivery_of(db, rita["pid"])
    other = world.person("Mallory")
    with pytest.raises(InvalidInput):
        actions.snooze(db, other, d.id, 1, T)
    out = actions.snooze(db, rita["pid"], d.id, 7, T + timedelta(hours=1))
    assert out.thread_ts == d.thread_ts
    assert "Snoozed" in out.text
    assert (await sweep(db, notifier, T + timedelta(days=3))).followups == 0
    assert (await sweep(db, notifier, T + timedelta(days=7))).followups == 0
    assert (await sweep(db, notifier, T + timedelta(days=7, hours=1, minutes=5))).followups == 1
    assert actions.parse(f"rem|snooze|{d.id}|1") == actions.ReminderAction("snooze", d.id, 1)
    with pytest.raises(InvalidInput):
        actions.parse("rem|snooze|1|999")


async def test_out_of_office(db: Engine, world: World, api: FakeSlackAPI,
                             notifier: SlackNotifier, rita: dict) -> None:
    await sweep(db, notifier, T)
    d = delivery_of(db, rita["pid"])
    with pytest.raises(InvalidInput, match="after today"):
        actions.set_out_of_office(db, rita["pid"], date(2028, 1, 3), T, d.id)
    out = actions.set_out_of_office(db, rita["pid"], date(2028, 1, 20), T + timedelta(hours=1),
                                    d.id)
    assert "Out of office until Thu 20 Jan" in out.text
    assert world.get(Person, rita["pid"]).away_until == utc(2028, 1, 20, 9)
    for days in (3, 6, 16):
        assert (await sweep(db, notifier, T + timedelta(days=days))).followups == 0
    assert (await sweep(db, notifier, utc(2028, 1, 20, 9, 5))).followups == 1


async def test_long_lists_are_paged(db: Engine, world: World, api: FakeSlackAPI,
                                    notifier: SlackNotifier) -> None:
    pid = world.person("Many", uid="U777")
    for i in range(85):
        world.customer(f"Customer {i:03d}", pid)
    assert (await sweep(db, notifier, T)).sent == 1
    (parent,) = parents(api)
    assert parent.args["text"] == "Q1 2028 re-grading: 85 customers due"
    pages = replies(api, delivery_of(db, pid).thread_ts)
    assert len(pages) == 3
    assert PAGE == 40
    grade_buttons = []
    for i, page in enumerate(pages):
        blocks = blocks_of(page.args)
        assert len(blocks) <= 50
        btns = buttons(blocks)
        grade_buttons += [b for b in btns if b["value"].startswith("pick||")]
        assert any(b["value"].startswith("rem|") for b in btns) == (i == 2)
    assert len(grade_buttons) == 85
    assert len({b["action_id"] for b in grade_buttons}) == 85


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_rate_limits_and_errors_mid_fan_out(db: Engine, world: World,
                                                  api: FakeSlackAPI, notifier: SlackNotifier,
                                                  concurrency: int) -> None:
    reps = [world.person(f"Rep {i}", uid=f"U{200 + i}") for i in range(10)]
    for i, pid in enumerate(reps):
        world.customer(f"Cust {i}", pid, "C", utc(2027, 8, 1))
    sweeper = Sweeper(db, [notifier], concurrency=concurrency)
    api.fail("chat.postMessage", 429, times=1, retry_after=1)  # the SDK waits and retries
    api.fail("chat.postMessage", 500, times=2)                 # retried by the SDK
    api.fail("conversations.open", 500, times=4)               # more than one call's retries
    r1 = await sweeper.sweep(T)
    assert r1.sent + r1.failed_attempts == 10, r1
    if concurrency == 1:  # deterministic: the first rep's DM could not be opened
        assert (r1.sent, r1.failed_attempts) == (9, 1), r1
    r2 = await sweeper.sweep(T + timedelta(minutes=5))
    assert (r1.sent + r2.sent, r2.failed_attempts) == (10, 0), r2
    assert (await sweeper.sweep(T + timedelta(minutes=10))).sent == 0
    ps = parents(api)
    assert len(ps) == 10
    assert len({c.args["channel"] for c in ps}) == 10
    statuses = [delivery_of(db, pid) for pid in reps]
    assert {d.status for d in statuses} == {DeliveryStatus.SENT}
    assert sum(d.attempts for d in statuses) == 10 + r1.failed_attempts
    for d in statuses:
        assert len(replies(api, d.thread_ts)) == 1


async def test_parent_posted_but_list_failed_completes_the_same_thread(
        db: Engine, world: World, api: FakeSlackAPI, notifier: SlackNotifier,
        rita: dict) -> None:
    orig = notifier._post_list
    state = {"n": 0}

    async def flaky(where, msg):
        state["n"] += 1
        if state["n"] == 1:
            api.fail("chat.postMessage", 500, times=4)
        await orig(where, msg)

    notifier._post_list = flaky  # type: ignore[method-assign]
    r1 = await sweep(db, notifier, T)
    assert (r1.sent, r1.failed_attempts) == (0, 1)
    d = delivery_of(db, rita["pid"])
    assert d.status == DeliveryStatus.CLAIMED
    assert d.thread_ts
    r2 = await sweep(db, notifier, T + timedelta(minutes=5))
    assert r2.completed == 1, r2
    assert len(parents(api)) == 1
    thread_ts = d.thread_ts
    thread = replies(api, thread_ts)
    assert any(b["value"].startswith("rem|") for b in buttons(blocks_of(thread[-1].args)))
    d = delivery_of(db, rita["pid"])
    assert (d.status, d.thread_ts, d.attempts) == (DeliveryStatus.SENT, thread_ts, 2)


async def test_expired_lease_is_reclaimed_and_sent_once(db: Engine, world: World,
                                                        api: FakeSlackAPI,
                                                        notifier: SlackNotifier,
                                                        rita: dict) -> None:
    with session_scope(db) as s:  # a process claims, then dies before sending
        assert dl.claim_delivery(s, workspace_id=world.ws_id, person_id=rita["pid"],
                                     cadence="quarterly", period="2028-Q1",
                                     claimer="dead-process", now=T) is not None
    sweeper = Sweeper(db, [notifier], claimer="survivor")
    assert (await sweeper.sweep(T + timedelta(minutes=1))).sent == 0  # lease still held
    assert parents(api) == []
    report = await sweeper.sweep(T + timedelta(minutes=5, seconds=1))
    assert report.sent == 1, report
    d = delivery_of(db, rita["pid"])
    assert (d.status, d.attempts, d.claimed_by) == (DeliveryStatus.SENT, 2, "survivor")
    assert (await sweeper.sweep(T + timedelta(minutes=20))).sent == 0
    assert len(parents(api)) == 1


async def test_gives_up_after_five_attempts(db: Engine, world: World, api: FakeSlackAPI,
                                            notifier: SlackNotifier, rita: dict) -> None:
    api.fail("conversations.open", 500, times=4 * 5)
    sweeper = Sweeper(db, [notifier])
    for i in range(5):
        await sweeper.sweep(T + timedelta(minutes=5 * i))
    d = delivery_of(db, rita["pid"])
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 5)
    assert "SlackApiError" in (d.last_error or "")
    calls = len(api.calls)
    await sweeper.sweep(T + timedelta(hours=1))
    assert len(api.calls) == calls
    assert parents(api) == []


async def test_claims_abandoned_five_times_are_marked_failed(db: Engine, world: World,
                                                             api: FakeSlackAPI,
                                                             notifier: SlackNotifier,
                                                             rita: dict) -> None:
    with session_scope(db) as s:
        for i in range(5):  # five processes each died right after claiming
            assert dl.claim_delivery(s, workspace_id=world.ws_id, person_id=rita["pid"],
                                         cadence="quarterly", period="2028-Q1",
                                         claimer=f"dead-{i}",
                                         now=T + timedelta(minutes=6 * i)) is not None
    report = await Sweeper(db, [notifier]).sweep(T + timedelta(hours=1))
    assert (report.sent, report.gave_up) == (0, 1)
    assert delivery_of(db, rita["pid"]).status == DeliveryStatus.FAILED


async def test_grade_drop_alert_to_the_owner(db: Engine, world: World, api: FakeSlackAPI,
                                             notifier: SlackNotifier) -> None:
    owner = world.person("Olive", uid="U300")
    greg = world.person("Greg", uid="U301")
    dropped = world.customer("<!channel> Acme", owner, "A", utc(2027, 12, 1))
    world.grade(dropped, "C", T - timedelta(hours=1), greg, recommendation="invest_less",
                total=52)
    own = world.customer("Own Drop", owner, "A", utc(2027, 12, 1))
    world.grade(own, "D", T - timedelta(hours=1), owner)  # the owner's own grade: no alert
    up = world.customer("Went Up", owner, "C", utc(2027, 12, 1))
    world.grade(up, "B", T - timedelta(hours=1), greg)    # better: no alert
    report = await sweep(db, notifier, utc(2027, 12, 20))  # mid-quarter: alerts only
    assert report.alerts == 0  # the drop is later than "now"
    report = await sweep(db, notifier, T - timedelta(minutes=30))
    assert report.alerts == 1, report
    (alert,) = parents(api)
    assert alert.args["channel"] == "D300"
    assert "&lt;!channel&gt; Acme" in alert.args["text"]
    assert "<!channel>" not in \
        alert.args["text"]
    plain = "\n".join(text_objects(blocks_of(alert.args), "plain_text"))
    assert "&lt;!channel&gt; Acme was re-graded by Greg" in plain
    assert "from A to C (85 → 52/100; recommendation: invest less)" in plain
    (btn,) = buttons(blocks_of(alert.args))
    assert btn["value"] == f"pick||{dropped}"
    assert _ACTION_PATTERN.match(btn["action_id"])
    assert (await sweep(db, notifier, T - timedelta(minutes=25))).alerts == 0
    assert len(parents(api)) == 1


async def test_manager_digest_once_per_quarter(db: Engine, world: World, api: FakeSlackAPI,
                                               notifier: SlackNotifier) -> None:
    world.settings(digest_channel="CDIGEST")
    ana = world.person("Ana", uid="U401")
    ben = world.person("Ben", uid="U402")
    alpha = world.customer("Alpha", ana, "A", utc(2027, 5, 1))
    world.grade(alpha, "B", utc(2027, 11, 1), ben)                       # a drop, in Q4
    world.customer("Beta <b>", ana, "D", utc(2027, 6, 1), recommendation="exit")  # still due
    world.customer("Gamma", ben, "C", utc(2027, 12, 15))                 # graded in Q4
    assert (await sweep(db, notifier, utc(2028, 1, 3, 8, 59))).digests == 0
    report = await sweep(db, notifier, T)
    assert report.digests == 1, report
    (digest,) = [c for c in parents(api) if c.args["channel"] == "CDIGEST"]
    assert digest.args["text"] == "Q4 2027 grading digest"
    body = "\n".join(text_objects(blocks_of(digest.args), "plain_text"))
    assert "• Ana: 1 / 2 (50%)" in body
    assert "• Ben: 1 / 1 (100%)" in body
    assert "• Alpha: A → B (85 → 70)" in body
    assert "• Beta &lt;b&gt; (D, 35/100) — owner Ana" in body  # escaped, as every text object
    assert text_objects(blocks_of(digest.args), "mrkdwn") == []
    assert (await sweep(db, notifier, T + timedelta(days=5))).digests == 0
    assert len([c for c in parents(api) if c.args["channel"] == "CDIGEST"]) == 1


async def test_sweeps_forget_old_event_ids_but_never_a_digest_claim(
        db: Engine, world: World, notifier: SlackNotifier) -> None:
    from sqlmodel import select

    from storage.models import ProcessedEvent

    def add(event_id: str, kind: str, at, scope: str = "slack:T1") -> None:
        with session_scope(db) as s:
            s.add(ProcessedEvent(scope=scope, event_id=event_id, kind=kind, created_at=at))
            s.commit()

    def kept() -> set[str]:
        with session_scope(db) as s:
            return set(s.exec(select(ProcessedEvent.event_id)).all())

    add("Ev-old", "event", T - timedelta(days=4))
    add("Ev-new", "event", T - timedelta(minutes=1))
    add("2027-Q2", "digest", T - timedelta(days=200), scope=f"digest:{world.ws_id}")
    sweeper = Sweeper(db, [notifier])
    assert (await sweeper.sweep(T)).pruned == 1  # at start-up
    assert {"Ev-new", "2027-Q2"} <= kept()
    assert "Ev-old" not in kept()
    add("Ev-stale", "event", T - timedelta(days=5))
    assert (await sweeper.sweep(T + timedelta(hours=1))).pruned == 0  # not every sweep
    assert "Ev-stale" in kept()
    assert (await sweeper.sweep(T + timedelta(hours=7))).pruned == 1  # every six hours
    assert "Ev-stale" not in kept()
    assert "2027-Q2" in kept()


async def test_a_failed_prepare_does_not_stop_the_sweep(db: Engine, world: World,
                                                        rita: dict) -> None:
    """The platform's look-up of imported people failing (Slack down for users.lookupByEmail)
    leaves those people unreachable for now; everyone else is still reminded."""
    from tests.reminders.conftest import RecordingNotifier

    rec = RecordingNotifier()
    rec.fail_next["prepare"] = 1
    report = await Sweeper(db, [rec]).sweep(T)
    assert (report.sent, report.errors) == (1, [])
    [(name, msg)] = rec.of("send_reminder")
    assert name == "Rita"
    assert msg.title == "Q1 2028 re-grading: 2 customers due"
