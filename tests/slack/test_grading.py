"""A whole grading, end to end, three ways: buttons, typed answers in the thread, the form."""

from __future__ import annotations

import json
import re

from sqlmodel import select

from storage import customers as customers_db
from storage.grades import latest_grade_by_name
from storage.models import Grade
from tests.slack.conftest import (
    Rep,
    blocks_of,
    buttons,
    settle,
    shown,
    texts,
    view_submission,
    wait_until,
)

# the quarterly pulse, answered by clicking (question id → button value → what the rep reads)
CLICKS = [("pays_now", "a|pays_now|4", "4 — Solid margin"),
          ("service_level", "a|service_level|right", "About right"),
          ("outcomes_value", "a|outcomes_value|4", "4 — Clear outcomes"),
          ("renewal", "a|renewal|4", "4 — Likely"),
          ("payment_risk", "a|payment_risk|low", "Low - they pay on time")]


def selects(call) -> list[dict]:
    return [e for b in blocks_of(call.args) if b.get("type") == "actions"
            for e in b["elements"] if e["type"] == "static_select"]


def _latest(rep: Rep, name: str):
    with rep.sv.session() as s:
        actor, _ = rep.sv.actor("slack", "T1", rep.user)
        return latest_grade_by_name(s, actor.workspace_id, name)


def test_grade_by_buttons_end_to_end(rep: Rep) -> None:
    # a near miss in the book, so /grade offers "did you mean" beside "Create"
    actor, _ = rep.sv.actor("slack", "T1", rep.user)
    with rep.sv.session() as s:
        near = customers_db.create_customer(s, actor.workspace_id, "Acme Corp", actor.person_id)

    ack = rep.command("/grade", "Acme quarterly")
    assert ack.json()["response_type"] == "ephemeral"
    offer = rep.api.wait_for("response_url")[0].args
    assert offer["response_type"] == "ephemeral"
    assert "I don't know a customer called Acme" in texts(offer["blocks"])
    labels = {b["value"]: b["text"]["text"] for b in buttons(offer["blocks"])}
    assert labels == {f"pick|quarterly|{near.id}": "Acme Corp",
                      "create|quarterly|Acme": "Create Acme"}
    assert not rep.posts(), "nothing goes to the DM before the rep chooses"

    rep.click_ephemeral(offer, "create|quarterly|Acme")
    parent = rep.api.wait_for("chat.postMessage")[0]
    assert parent.args["channel"] == "D1"
    assert "thread_ts" not in parent.args
    assert "Grading Acme (quarterly)" in shown(parent)
    thread = rep.ts_of(parent)
    rep.thread = thread
    assert [b["value"] for b in buttons(blocks_of(parent.args))] == [
        f"form|{rep.session().id}"]
    # the /grade answer is replaced by a link to the thread
    started = wait_until(lambda: [c for c in rep.responses()
                                  if c.args.get("text", "").startswith("Started grading")])
    assert re.fullmatch(r"Started grading Acme in <https://test\.slack\.com/archives/D1/p\d+"
                        r"\|this thread in our DM>\.", started[0].args["text"])

    for n, (qid, value, echo) in enumerate(CLICKS, 1):
        q = wait_until(lambda qid=qid: next(
            (c for c in rep.posts(thread) if any(b["value"].startswith(f"a|{qid}|")
                                                 for b in buttons(blocks_of(c.args)))), None),
            what=f"question {qid}")
        assert q.args["thread_ts"] == thread
        assert f"Question {n} of 5" in shown(q)
        offered = [b["value"] for b in buttons(blocks_of(q.args))]
        assert value in offered
        assert "c|skip|@" + str(n - 1) in offered
        updates = len(rep.api.of("chat.update"))
        rep.click(q, value)
        upd = rep.api.wait_for("chat.update", updates + 1)[updates]
        assert upd.args["ts"] == rep.ts_of(q)
        assert f"✅ {echo}" in shown(upd)
        assert f"Question {n} of 5" in shown(upd)  # still says where it sits
        assert [b["value"] for b in buttons(blocks_of(upd.args))] == [f"c|change|{n}"]

    review = wait_until(lambda: [c for c in rep.posts(thread)
                                 if "c|save|" in json.dumps(c.args.get("blocks"))])[-1]
    labels = [b["text"]["text"] for b in buttons(blocks_of(review.args))]
    assert labels == ["Save", "Discard"]
    (change,) = selects(review)  # "Change an answer…": one item per question
    assert change["placeholder"]["text"] == "Change an answer…"
    assert [o["text"]["text"] for o in change["options"]] == [
        "1. Pays now", "2. Cost to serve", "3. Outcomes delivered", "4. Renewal likelihood",
        "5. Payment risk"]
    assert "1. Pays now: 4 — Solid margin" in shown(review)
    assert not rep.grades("Acme"), "nothing is a grade before Save"

    n = len(rep.posts(thread))
    rep.click(review, "c|save|")
    saved = wait_until(lambda: rep.posts(thread)[n:], what="the saved card")[0]
    grade = _latest(rep, "Acme")
    assert grade is not None
    assert grade.letter is not None
    card = shown(saved)
    # a first pulse answers 37% of the sheet: a provisional letter, and it says so
    assert f"Saved: Acme is graded {grade.letter} ({grade.total:g}/100, provisional: 37% " \
           "answered)" in card
    assert f"Recommendation: {grade.recommendation.replace('_', ' ')}" in card
    assert "Lifted by" in card  # the reasons
    # the review card loses its buttons, so it cannot be saved twice
    retire = [c for c in rep.api.of("chat.update") if c.args["ts"] == rep.ts_of(review)]
    assert retire
    assert not buttons(blocks_of(retire[-1].args))
    assert len(rep.grades("Acme")) == 1
    assert [a.question_id for a in rep.answers()] == [q for q, _, _ in CLICKS]


def test_grade_by_typed_answers_in_the_thread(rep: Rep) -> None:
    thread = rep.start("Globex")
    said = [("5", "pays_now", 5), ("about right", "service_level", "right"),
            ("clear outcomes", "outcomes_value", 4), ("likely", "renewal", 4),
            ("they pay on time", "payment_risk", "low")]
    for n, (text, _qid, _) in enumerate(said, 1):
        q = rep.question()
        assert f"Question {n} of 5" in shown(q)
        updates = len(rep.api.of("chat.update"))
        posts = len(rep.posts(thread))
        rep.say(text)
        upd = rep.api.wait_for("chat.update", updates + 1)[updates]
        assert upd.args["ts"] == rep.ts_of(q)
        assert "✅" in shown(upd)
        wait_until(lambda posts=posts: len(rep.posts(thread)) > posts)
    answers = {a.question_id: a for a in rep.answers()}
    assert {k: a.value for k, a in answers.items()} == {qid: v for _, qid, v in said}
    assert answers["service_level"].raw_text == "about right"
    review = rep.posts(thread)[-1]
    assert "Save" in [b["text"]["text"] for b in buttons(blocks_of(review.args))]

    n = len(rep.posts(thread))
    rep.say("save")
    saved = wait_until(lambda: rep.posts(thread)[n:])[0]
    grade = _latest(rep, "Globex")
    assert grade is not None
    assert grade.letter == "A"
    assert f"Saved: Globex is graded A ({grade.total:g}/100, provisional: 37% answered)" in \
        shown(saved)


def test_typed_nonsense_is_asked_again_not_recorded(rep: Rep) -> None:
    thread = rep.start("Initech")
    q1 = rep.question()
    n = len(rep.posts(thread))
    rep.say("purple")
    reask = wait_until(lambda: rep.posts(thread)[n:], what="a re-ask")[0]
    settle(rep.api)
    assert "🤔" in shown(reask)
    assert len(rep.posts(thread)) == n + 1  # the question is not posted twice: it stays
    assert rep.answers() == []
    assert rep.ts_of(rep.question()) == rep.ts_of(q1)
    assert "Question 1 of 5" in shown(rep.question())


def test_a_top_level_dm_can_start_a_grading(rep: Rep) -> None:
    rep.say("grade Hooli quarterly")
    offer = wait_until(lambda: [c for c in rep.posts() if "create|" in json.dumps(
        c.args.get("blocks"))])[0]
    assert "I don't know a customer called Hooli" in shown(offer)
    rep.click(offer, "create|quarterly|Hooli")
    wait_until(lambda: [c for c in rep.posts() if "Grading Hooli (quarterly)" in shown(c)])


def test_grade_by_the_form(rep: Rep) -> None:
    thread = rep.start("Umbrella", "annual")
    parent = next(c for c in rep.posts() if rep.ts_of(c) == thread)
    sid = rep.session().id
    rep.click(parent, f"form|{sid}")
    opened = rep.api.wait_for("views.open")[0]
    assert opened.args["trigger_id"].startswith("trig.")
    view = opened.args["view"]
    assert view["type"] == "modal"
    assert view["private_metadata"] == str(sid)
    annual = [q.id for q in rep.sv.worksheet.questions_for("annual")]
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == annual
    assert all(b.get("optional") for b in view["blocks"] if b["type"] == "input")

    good = {"mission": "2", "pro_bono": "none", "skill_growth": "4", "new_ground": "yes",
            "pays_now": "4", "hire_later": "4", "refers": "would", "segment_fit": "5",
            "service_level": "right", "revenue_share": "8.5", "outcomes_value": "4",
            "renewal": "5", "payment_risk": "low", "advocacy": "9",
            "notes": "Champion <@U999> moves to the CFO office in March."}
    # the share of revenue is a menu of its bands (as in the chat), so only a forged
    # submission can carry something else: it is refused, field by field
    forged = view_submission(opened, good)
    forged["view"]["state"]["values"]["revenue_share"]["answer"]["selected_option"] = {
        "text": {"type": "plain_text", "text": "lots"}, "value": "lots"}
    revenue = next(b for b in view["blocks"] if b.get("block_id") == "revenue_share")
    assert [o["text"]["text"] for o in revenue["element"]["options"]] == [
        "under 0.5 %", "0.5–2 %", "2–15 %", "15–30 %", "over 30 %"]
    bad = rep.slack.interact(forged)
    assert bad.status_code == 200
    body = bad.json()
    assert set(body) == {"response_action", "errors"}
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == ["revenue_share"]
    assert "percent" in body["errors"]["revenue_share"]  # says what is wrong and what to do
    assert rep.answers(sid) == []
    assert not rep.grades("Umbrella")

    posts = len(rep.posts(thread))
    payload = view_submission(opened, good)
    ok = rep.slack.interact(payload)
    assert ok.status_code == 200, ok.text
    assert not ok.content.strip(), ok.text
    saved = wait_until(lambda: rep.posts(thread)[posts:], what="the saved card")[0]
    grades = rep.grades("Umbrella")
    assert len(grades) == 1
    assert f"Saved: Umbrella is graded {grades[0].letter} ({grades[0].total:g}/100)" in \
        shown(saved)
    assert grades[0].answers["revenue_share"] == 8.5  # "2–15 %": scores in that band
    assert grades[0].answers["refers"] == "would"

    again = rep.slack.interact(payload)  # the same view submitted twice
    assert again.status_code == 200
    settle(rep.api)
    with rep.sv.session() as s:
        assert len(s.exec(select(Grade)).all()) == 1
    assert len([c for c in rep.posts(thread) if "Saved:" in shown(c)]) == 1


def test_change_an_answer_from_the_review_goes_straight_to_that_question(rep: Rep) -> None:
    rep.start("Acme")
    for _ in range(5):
        rep.answer(0)
    review = rep.posts(rep.thread)[-1]
    (change,) = selects(review)
    renewal = next(o for o in change["options"] if o["text"]["text"] == "4. Renewal likelihood")
    n = len(rep.posts(rep.thread))
    r = rep.slack.select(renewal, change["action_id"], user=rep.user, channel=rep.dm,
                         message_ts=rep.ts_of(review), thread_ts=rep.thread)
    assert r.status_code == 200, r.text
    settle(rep.api)
    asked = rep.question()  # the question's own message, with its buttons back
    assert "Question 4 of 5" in shown(asked)
    assert "How likely is Acme to renew?" in shown(asked)
    rep.click(asked, "a|renewal|2")
    settle(rep.api)
    again = next(c for c in rep.messages(rep.thread) if rep.ts_of(c) == rep.ts_of(review))
    assert "c|save|" in json.dumps(again.args.get("blocks"))  # the review, updated in place
    assert "4. Renewal likelihood: 2 — Unlikely" in shown(again)
    assert rep.posts(rep.thread)[n:] == []  # nothing new: both updated in place
    live = [c for c in rep.messages(rep.thread)
            if any(b["value"].startswith("a|") for b in buttons(blocks_of(c.args)))]
    assert live == []  # straight back to the review: no question has buttons
    assert [a.question_id for a in rep.answers() if a.superseded_at is None].count(
        "renewal") == 1
