"""The permission matrix, through Teams: rep B sends every card action and command with the
ids of rep A's customer, grading session, strategic review and reminder (forged Action.Execute
data in otherwise valid activities). Each is refused with a clear line, nothing of A's
changes, and nothing of A's is shown to B. (The Slack half: tests/slack/test_permission_matrix.py.)
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from bot.engine import Choose, Start
from bot.lookups import TEAM_NEEDS_MANAGER
from scoring import Cadence
from storage.engine import session_scope
from storage.models import Customer, GradingSession, Person, ReminderDelivery
from tests.slack.test_permission_matrix import snapshot
from tests.teams.conftest import TENANT, Env

A = "aaaaaaaa-0000-4000-8000-00000000000a"
B = "bbbbbbbb-0000-4000-8000-00000000000b"
SECRET_NAME = "Zorblax Holdings"
OPEN_NAME = "Quuxcorp"
STRONG = {"pays_now": "5", "service_level": "right", "outcomes_value": "5", "renewal": "5",
          "payment_risk": "low"}


def _seed(env: Env) -> dict[str, int]:
    """A (Ann Owner, in Teams) graded Zorblax, has Quuxcorp open and a strategic review."""
    sv = env.sv
    actor, _ = sv.actor("teams", TENANT, A, "Ann Owner")
    conv = sv.conversation

    def created(name: str) -> int:
        reply = conv.handle(actor, Start(name, Cadence.QUARTERLY))
        create = next(o.value for o in reply[0].choices if o.value.startswith("create|"))
        reply = conv.handle(actor, Choose(create))
        return next(p.session_id for p in reply if p.session_id is not None)

    out = conv.submit_form(actor, created(SECRET_NAME), STRONG)
    assert isinstance(out, list)
    sid = created(OPEN_NAME)
    conv.handle(actor, Choose("a|pays_now|4"), session_id=sid)
    review = conv.handle(actor, Start("", Cadence.STRATEGIC))
    with session_scope(sv.db) as s:
        secret = s.exec(select(Customer).where(Customer.name == SECRET_NAME)).one()
        rid = s.exec(select(GradingSession).where(GradingSession.kind == "strategic")).one().id
        person = s.exec(select(Person).where(Person.external_id == A)).one()
        d = ReminderDelivery(workspace_id=person.workspace_id, person_id=person.id,
                             cadence="quarterly", period="2026-Q4", status="sent")
        s.add(d)
        s.commit()
        assert review[0].session_id == rid
        return {"secret": secret.id, "session": sid, "review": rid, "delivery": d.id}


def _cases(ids: dict[str, int]) -> list[tuple[str, str, Any]]:
    mine = "is in Ann Owner's book"
    not_mine = "That customer is not in your book"
    none_here = "There is no grading in progress here"
    sid, rid, did = ids["session"], ids["review"], ids["delivery"]
    return [
        ("say grade A's customer", mine, f"grade {SECRET_NAME}"),
        ("say grade A's open customer", mine, f"grade {OPEN_NAME} annual"),
        ("say customer A's customer", mine, f"customer {SECRET_NAME}"),
        ("say grades <A>", "Only their manager or an admin", f"grades {A}"),
        ("say portfolio team", TEAM_NEEDS_MANAGER[:40], "portfolio team"),
        ("Grade button, A's customer id", not_mine,
         {"value": f"pick||{ids['secret']}", "k": "l"}),
        ("Create button, A's customer name", mine, {"value": f"create||{SECRET_NAME}"}),
        ("answer, A's session", none_here, {"value": "a|service_level|right", "session": sid}),
        ("Resume, A's session id", none_here, {"value": f"c|resume|{sid}"}),
        ("Start over, A's session id", none_here, {"value": f"c|restart|{sid}"}),
        ("Discard, A's session", none_here, {"value": "c|discard|", "session": sid}),
        ("Save, A's session", none_here, {"value": "c|save|", "session": sid}),
        ("Change menu, A's session", none_here,
         {"value": "c|change|1", "choice": "c|change|2", "session": sid}),
        ("decision, A's review", none_here,
         {"value": f"d|{ids['secret']}|exit", "session": rid}),
        ("form button, A's session id", "no longer yours", {"value": f"form|{sid}"}),
        ("form submitted for A's session", "not one of yours",
         {"value": f"submit|{sid}", "q_pays_now": "1", "pays_now": "1"}),
        ("snooze, A's reminder id", "That reminder is not yours",
         {"value": f"rem|snooze|{did}|7"}),
        ("out of office, A's reminder id", "That reminder is not yours",
         {"value": f"rem|away|{did}"}),
        ("out-of-office form, A's reminder id", "That reminder is not yours",
         {"value": f"remaway|{did}", "back_on": "2099-01-10"}),
    ]


def test_rep_b_forging_rep_a_ids_in_teams_is_refused(env: Env, record_property) -> None:
    ids = _seed(env)
    b = env.rep(B, "Bert Other")
    b.say("help")  # B exists
    before = snapshot(env.sv)
    cases = _cases(ids)
    for what, refusal, req in cases:
        n = len(b.sent())
        if isinstance(req, str):
            b.say(req)
            answer: Any = None
        else:
            answer = b.invoke(req)
        seen = json.dumps(answer) + "\n" + "\n".join(json.dumps(s.card) if s.cards else
                                                     json.dumps(s.body)
                                                     for s in b.sent()[n:])
        assert refusal in seen, f"{what}: no {refusal!r} in\n{seen[:1500]}"
        for secret in ("100/100", "invest more", "Pays now"):
            assert secret not in seen, (what, secret, seen[:1500])
        if not isinstance(req, str) and "Create" not in what:
            assert SECRET_NAME not in seen, (what, seen[:1500])
            assert OPEN_NAME not in seen, (what, seen[:1500])
        assert snapshot(env.sv) == before, f"{what} changed something"
    record_property("forged_requests", len(cases))
    print(f"\nforged Teams requests tried: {len(cases)}")
    assert len(cases) >= 19
