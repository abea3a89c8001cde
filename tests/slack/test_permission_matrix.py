"""The permission matrix, through Slack: rep B sends every command, button, menu, form and
event with the ids of rep A's customer, grading session, strategic review and reminder —
forged values in otherwise valid signed requests. Each is refused with a clear line,
nothing of A's changes, and nothing of A's is shown to B.

(The Teams half is tests/teams/test_permission_matrix.py; who sees what in the engine, and
managers/admins, are in tests/engine/test_permissions.py and test_lookups.py.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from bot.lookups import TEAM_NEEDS_MANAGER
from storage.engine import session_scope
from storage.models import (
    Answer,
    Customer,
    Decision,
    Grade,
    GradingSession,
    Person,
    ReminderDelivery,
    Workspace,
)
from tests.slack.conftest import STRONG, Rep, seed_grade, settle, shown, wait_until

A, B = "UA", "UB"
SECRET_NAME = "Zorblax Holdings"  # A's graded customer
OPEN_NAME = "Quuxcorp"  # A's customer with a grading open in A's DM thread
A_NAME = "user-ua"  # A's display name (the fake users.info)
FORM_CB = "grade_form"


@dataclass
class World:
    """A's things, by id."""

    secret_id: int
    open_id: int
    session_id: int
    thread: str
    review_id: int
    review_thread: str
    delivery_id: int


def snapshot(sv) -> str:
    """Everything a forged request could change, as one comparable string."""
    with sv.session() as s:
        rows: list[Any] = []
        for model in (Customer, GradingSession, Answer, Grade, Decision, ReminderDelivery,
                      Person, Workspace):
            for r in s.exec(select(model)).all():
                d = r.model_dump()
                if model is Person:  # B's own row learns B's profile: not A's data
                    d = {k: d[k] for k in ("id", "role", "manager_id", "away_until")
                         if k in d}
                rows.append((model.__name__, sorted(d.items(), key=str)))
        return json.dumps(rows, default=str, sort_keys=True)


@pytest.fixture
def world(make_env):
    env = make_env()
    a = Rep(env.sv, env.sender, env.api, user=A)
    seed_grade(env.sv, A, SECRET_NAME, STRONG)
    a.start(OPEN_NAME)
    a.answer(3)  # one answer of A's in the open grading
    thread = a.thread
    session_id = a.session().id
    a.thread = None
    a.command("/grade", "strategic")
    review_parent = wait_until(lambda: [c for c in a.posts() if "Strategic review" in shown(c)
                                        and "thread_ts" not in c.args], what="A's review")
    review_thread = a.ts_of(review_parent[-1])
    with session_scope(env.sv.db) as s:
        secret = s.exec(select(Customer).where(Customer.name == SECRET_NAME)).one()
        opened = s.exec(select(Customer).where(Customer.name == OPEN_NAME)).one()
        review = s.exec(select(GradingSession).where(GradingSession.kind == "strategic")).one()
        person_a = s.exec(select(Person).where(Person.external_id == A)).one()
        d = ReminderDelivery(workspace_id=person_a.workspace_id, person_id=person_a.id,
                             cadence="quarterly", period="2026-Q4", status="sent",
                             channel="DA", thread_ts="1.5")
        s.add(d)
        s.commit()
        ids = World(secret.id, opened.id, session_id, thread, review.id, review_thread, d.id)
    b = Rep(env.sv, env.sender, env.api, user=B)
    b.command("/grades", "")  # B exists (a rep, with an empty book)
    settle(env.api)
    return env, b, ids


def forged(w: World) -> list[tuple[str, str, dict[str, Any]]]:
    """(what, the refusal B must see, the request) for every id-bearing request."""
    da = "DA"
    th = {"channel": da, "message_ts": w.thread, "thread_ts": w.thread}
    rv = {"channel": da, "message_ts": w.review_thread, "thread_ts": w.review_thread}
    mine = f"is in {A_NAME}'s book"
    not_mine = "That customer is not in your book"
    none_here = "There is no grading in progress here"
    return [
        ("/grade A's customer", mine, {"command": ("/grade", SECRET_NAME)}),
        ("/grade A's customer, annual", mine, {"command": ("/grade", f"{SECRET_NAME} annual")}),
        ("/grade A's open customer", mine, {"command": ("/grade", OPEN_NAME)}),
        ("/customer A's customer", mine, {"command": ("/customer", SECRET_NAME)}),
        ("/grades A", "Only their manager or an admin", {"command": ("/grades", f"<@{A}>")}),
        ("/grades A overdue", "Only their manager or an admin",
         {"command": ("/grades", f"<@{A}> overdue")}),
        ("/portfolio team", TEAM_NEEDS_MANAGER[:40], {"command": ("/portfolio", "team")}),
        ("Grade button, A's customer id", not_mine,
         {"click": (f"pick||{w.secret_id}", "grade:0", {"ephemeral": True})}),
        ("Pick button, A's open customer id", not_mine,
         {"click": (f"pick|annual|{w.open_id}", "choice:0", {"ephemeral": True})}),
        ("Create button, A's customer name", mine,
         {"click": (f"create||{SECRET_NAME}", "choice:0", {"ephemeral": True})}),
        ("answer button in A's thread", none_here,
         {"click": ("a|service_level|right", "choice:0", th)}),
        ("Resume, A's session id", none_here,
         {"click": (f"c|resume|{w.session_id}", "cmd:0", {})}),
        ("Start over, A's session id", none_here,
         {"click": (f"c|restart|{w.session_id}.annual", "cmd:0", {})}),
        ("Discard in A's thread", none_here, {"click": ("c|discard|", "cmd:0", th)}),
        ("Save in A's thread", none_here, {"click": ("c|save|", "cmd:0", th)}),
        ("Skip in A's thread", none_here, {"click": ("c|skip|@1", "cmd:0", th)}),
        ("Change menu in A's thread", none_here,
         {"select": ({"text": {"type": "plain_text", "text": "1. Pays now"},
                      "value": "c|change|1"}, "cmd:1", th)}),
        ("strategic decision in A's review", none_here,
         {"click": (f"d|{w.secret_id}|exit", "choice:0", rv)}),
        ("Resume A's strategic review", none_here,
         {"click": (f"c|resume|{w.review_id}", "cmd:0", {})}),
        ("form button, A's session id", "no longer yours",
         {"click": (f"form|{w.session_id}", "form:0", {})}),
        ("Settings button (B is no admin)", "Only admins",
         {"click": ("settings", "settings:0", {})}),
        ("snooze, A's reminder id", "That reminder is not yours",
         {"click": (f"rem|snooze|{w.delivery_id}|7", "rem:1", {})}),
        ("out of office, A's reminder id", "That reminder is not yours",
         {"click": (f"rem|away|{w.delivery_id}", "rem:2", {})}),
        ("grade form submitted for A's session", "not one of yours",
         {"view": (FORM_CB, str(w.session_id), {"pays_now": {"a": {
             "type": "static_select", "selected_option": {"value": "1", "text": {
                 "type": "plain_text", "text": "1"}}}}})}),
        ("settings form submitted (B is no admin)", "Only admins",
         {"view": ("settings_form", "", {})}),
        ("out-of-office form, A's reminder id", "That reminder is not yours",
         {"view": ("reminder_away", str(w.delivery_id), {"back_on": {"date": {
             "type": "datepicker", "selected_date": "2099-01-10"}}})}),
        ("a reply in A's thread", none_here,
         {"dm": ("5", {"channel": da, "thread_ts": w.thread})}),
        ("a reply in A's review thread", none_here,
         {"dm": ("exit", {"channel": da, "thread_ts": w.review_thread})}),
        ("'grade <A's customer>' in B's DM", mine, {"dm": (f"grade {SECRET_NAME}", {})}),
    ]


def _send(b: Rep, req: dict[str, Any]):
    s = b.slack
    if "command" in req:
        return s.command(*req["command"], user=B)
    if "click" in req:
        value, action_id, where = req["click"]
        return s.click(value, action_id=action_id, user=B, **where)
    if "select" in req:
        option, action_id, where = req["select"]
        return s.select(option, action_id, user=B, **where)
    if "dm" in req:
        text, where = req["dm"]
        return s.dm(text, user=B, **where)
    callback, meta, values = req["view"]
    return s.interact({
        "type": "view_submission", "team": {"id": "T1", "domain": "test"},
        "user": {"id": B, "name": "ub", "team_id": "T1"}, "api_app_id": "A1",
        "trigger_id": "t.forged", "view": {"id": "VF", "type": "modal",
                                           "callback_id": callback, "private_metadata": meta,
                                           "state": {"values": values}}})


def _seen_by_b(api, ack: Any, since: int) -> str:
    """Everything B was shown after call number ``since``: the ack, response_url answers,
    posts in B's DM, modals and App Home views."""
    out = [json.dumps(ack)]
    for c in api.calls[since:]:
        if c.method == "response_url" or (c.method == "chat.postMessage"
                                          and c.args.get("channel") == "DB"):
            out.append(shown(c))
        elif c.method in ("views.open", "views.publish", "views.update"):
            out.append(json.dumps(c.args.get("view")))
    return "\n".join(out)


def test_rep_b_forging_rep_a_ids_is_refused_everywhere(world, record_property):
    env, b, w = world
    api = env.api
    before = snapshot(env.sv)
    cases = forged(w)
    for what, refusal, req in cases:
        since = len(api.calls)
        r = _send(b, req)
        assert r.status_code == 200, (what, r.text)
        ack = r.json() if r.headers.get("content-type", "").startswith("application/json") \
            and r.content else r.text
        settle(api)
        seen = _seen_by_b(api, ack, since)
        assert refusal in seen, f"{what}: no {refusal!r} in\n{seen[:1500]}"
        for secret in ("Pays now", "A (", "100/100", "85", "invest more"):
            assert secret not in seen.replace(SECRET_NAME, ""), (what, secret, seen[:1500])
        if "command" not in req and "Create" not in what and "grade <" not in what:
            # B never typed these names: an id must not reveal them
            assert SECRET_NAME not in seen, (what, seen[:1500])
            assert OPEN_NAME not in seen, (what, seen[:1500])
        assert snapshot(env.sv) == before, f"{what} changed something"
    # and B's App Home lists nothing of A's
    since = len(api.calls)
    b.slack.event({"type": "app_home_opened", "user": B, "tab": "home"})
    home = api.wait_for("views.publish")[-1]
    assert home.args.get("user_id") == B
    text = json.dumps(home.args.get("view"))
    assert SECRET_NAME not in text
    assert OPEN_NAME not in text
    assert len(api.calls) > since
    record_property("forged_requests", len(cases))
    print(f"\nforged Slack requests tried: {len(cases)}")
    assert len(cases) >= 29


def test_a_manager_sees_reports_only_and_an_admin_everything(world):
    """The positive side of the same look-ups: mia (A's manager) and the admin may."""
    env, _, _w = world
    from storage import people as people_db

    with session_scope(env.sv.db) as s:
        ws = s.exec(select(Workspace)).one()
        mia = people_db.get_or_create_person(s, ws, "UM", "Mia")
        a = s.exec(select(Person).where(Person.external_id == A)).one()
        people_db.set_role(s, mia, "manager")
        people_db.set_role(s, a, "rep", mia)
        other = people_db.get_or_create_person(s, ws, "UO", "Otto")
        people_db.set_role(s, other, "manager")
    for user, sees in (("UM", True), ("UO", False), ("UADMIN", True)):
        n = len(env.api.of("response_url"))
        env.sender.command("/customer", SECRET_NAME, user=user)
        wait_until(lambda n=n: env.api.of("response_url")[n:], what="the card")
        settle(env.api)
        got = env.api.of("response_url")[n:]
        text = "\n".join(shown(c) for c in got)
        assert ("/100" in text) is sees, (user, text)
        if not sees:
            assert f"is in {A_NAME}'s book" in text
