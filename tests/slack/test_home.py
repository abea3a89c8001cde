"""App Home: what is due with Grade buttons, and the admins' settings modal."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlmodel import select

from storage import customers as customers_db
from storage.models import Workspace
from tests.slack.conftest import (
    STRONG,
    Rep,
    buttons,
    seed_grade,
    settle,
    shown,
    texts,
    view_submission,
    wait_until,
)


def _open_home(rep: Rep) -> dict[str, Any]:
    n = len(rep.api.of("views.publish"))
    r = rep.slack.event({"type": "app_home_opened", "user": rep.user, "channel": rep.dm,
                         "tab": "home", "event_ts": "1.0"})
    assert r.status_code == 200
    call = rep.api.wait_for("views.publish", n + 1)[n]
    assert call.args["user_id"] == rep.user
    return call.args["view"]


def _home_click(rep: Rep, view: dict[str, Any], button: dict[str, Any]) -> None:
    """A click in the Home tab: a view container, and no response_url."""
    payload = {"type": "block_actions", "team": {"id": "T1", "domain": "test"},
               "user": {"id": rep.user, "name": rep.user.lower(), "team_id": "T1"},
               "api_app_id": "A1", "trigger_id": f"trig.home.{button['action_id']}",
               "container": {"type": "view", "view_id": "VHOME"},
               "view": {**view, "id": "VHOME", "team_id": "T1"},
               "actions": [{"action_id": button["action_id"], "block_id": "b",
                            "value": button["value"], "type": "button", "action_ts": "1.0"}]}
    r = rep.slack.interact(payload)
    assert r.status_code == 200, r.text


def _seed_book(rep: Rep) -> None:
    seed_grade(rep.sv, rep.user, "Graded Co", STRONG)
    actor, _ = rep.sv.actor("slack", "T1", rep.user)
    with rep.sv.session() as s:
        customers_db.create_customer(s, actor.workspace_id, "Fresh Co", actor.person_id)


def test_home_shows_what_is_due_and_grade_starts_a_thread(rep: Rep,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    _seed_book(rep)
    view = _open_home(rep)
    assert view["type"] == "home"
    seen = texts(view["blocks"])
    assert "Due for grading (1)" in seen
    assert "Fresh Co · never graded" in seen  # the book's line (bot.display.book_row)
    # recent grades; a pulse alone covers 37% of the sheet, and the home says so
    assert "A 100 (provisional, 37% answered) · Graded Co" in seen
    grade = [b for b in buttons(view["blocks"]) if b["text"]["text"] == "Grade"]
    assert len(grade) == 1
    assert not [b for b in buttons(view["blocks"]) if b["value"] == "settings"]

    with caplog.at_level(logging.ERROR, "gradebot"):
        _home_click(rep, view, grade[0])
        parent = wait_until(lambda: [c for c in rep.posts() if "Grading Fresh Co" in shown(c)],
                            what="the grading thread")[0]
        rep.thread = rep.ts_of(parent)
        assert "Question 1 of" in shown(rep.question())
        rep.api.wait_for("views.publish", 2)  # the Home tab is refreshed
        settle(rep.api)
    assert not [c for c in rep.posts() if "went wrong" in shown(c)]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_admin_settings(make_env: Any) -> None:
    env = make_env()
    admin = Rep(env.sv, env.sender, env.api, "UADMIN")
    view = _open_home(admin)
    settings = [b for b in buttons(view["blocks"]) if b["value"] == "settings"]
    assert len(settings) == 1
    _home_click(admin, view, settings[0])
    opened = admin.api.wait_for("views.open")[0]
    modal = opened.args["view"]
    assert modal["callback_id"] == "settings_form"
    ids = [b["block_id"] for b in modal["blocks"] if b["type"] == "input"]
    assert ids[:3] == ["good_for_you", "good_at_it", "good_for_others"]

    base = {"good_for_you": "50", "good_at_it": "30", "reminder_channel": "C0REMIND",
            "annual_month": "3", "followup_days": "5"}
    bad = admin.slack.interact(view_submission(opened, {**base, "good_for_others": "30"},
                                               user="UADMIN"))
    assert bad.status_code == 200
    assert bad.json()["response_action"] == "errors"
    assert "100" in bad.json()["errors"]["good_for_others"]

    def stored() -> dict[str, Any]:
        with env.sv.session() as s:
            ws = s.exec(select(Workspace)).one()
            return ws.get_settings().model_dump(mode="json")

    assert stored()["target_balance"] is None

    ok = admin.slack.interact(view_submission(opened, {**base, "good_for_others": "20"},
                                              user="UADMIN"))
    assert ok.status_code == 200, ok.text
    assert not ok.content.strip(), ok.text
    st = stored()
    assert st["target_balance"] == {"good_for_you": 50, "good_at_it": 30,
                                    "good_for_others": 20}
    assert st["reminder_channel"] == "C0REMIND"
    assert st["annual_month"] == 3
    assert st["followup_days"] == 5

    # reminder settings: time zone, hour, re-grade cadence per letter, strategic dates
    labels = {b["block_id"]: b["label"]["text"] for b in modal["blocks"] if b["type"] == "input"}
    assert labels["regrade_A"] == "Re-grade A customers"
    assert [o["value"] for o in next(b for b in modal["blocks"] if b.get("block_id") ==
                                     "regrade_A")["element"]["options"]] == ["quarterly", "annual"]
    full = {**base, "good_for_others": "20", "timezone": "Europe/Paris", "reminder_hour": "8",
            "regrade_A": "quarterly", "regrade_D": "annual", "max_followups": "0",
            "strategic_dates": "2027-09-15, 2027-03-15"}
    for field, value, message in (
            ("timezone", "Mars/Olympus", "Unknown time zone"),
            ("strategic_dates", "2027-03-15, 2027-13-01", "2027-13-01 is not a date"),
            ("reminder_hour", "24", "A whole number from 0 to 23"),
            ("max_followups", "21", "A whole number from 0 to 20")):
        refused = admin.slack.interact(view_submission(opened, {**full, field: value},
                                                       user="UADMIN"))
        assert refused.json()["response_action"] == "errors"
        assert message in refused.json()["errors"][field], refused.json()
        assert stored()["timezone"] == "UTC"  # nothing saved
    ok = admin.slack.interact(view_submission(opened, full, user="UADMIN"))
    assert not ok.content.strip(), ok.text
    st = stored()
    assert (st["timezone"], st["reminder_hour"], st["max_followups"]) == ("Europe/Paris", 8, 0)
    assert st["regrade_by_letter"] == {"A": "quarterly", "B": "quarterly", "C": "quarterly",
                                       "D": "annual"}
    assert st["strategic_dates"] == ["2027-03-15", "2027-09-15"]
    # the modal opens again with what was saved
    _home_click(admin, view, settings[0])
    again = admin.api.wait_for("views.open", 2)[1].args["view"]
    initial = {b["block_id"]: b["element"].get("initial_value")
               or (b["element"].get("initial_option") or {}).get("value")
               for b in again["blocks"] if b["type"] == "input"}
    assert (initial["timezone"], initial["reminder_hour"], initial["regrade_D"],
            initial["strategic_dates"]) == ("Europe/Paris", "8", "annual",
                                            "2027-03-15, 2027-09-15")

    # a rep sends the same submission (e.g. a forged or stale modal): refused, unchanged
    rep = Rep(env.sv, env.sender, env.api, "U1")
    refused = rep.slack.interact(view_submission(opened, {**base, "good_for_you": "60",
                                                           "good_for_others": "10"}))
    assert refused.json()["response_action"] == "errors"
    assert stored()["target_balance"]["good_for_you"] == 50

    # and the rep cannot open the modal either
    _seed_book(rep)
    rep_view = _open_home(rep)
    assert not [b for b in buttons(rep_view["blocks"]) if b["value"] == "settings"]
    _home_click(rep, rep_view, {"action_id": "settings:0", "value": "settings"})
    told = wait_until(lambda: [c for c in rep.posts() if "Only admins" in shown(c)])
    assert told
    assert len(admin.api.of("views.open")) == 2  # the admin's two, none for the rep
