"""The grading survives: a crashed bot, an idle week, and a rep who starts the same customer
again. State lives in the database, so a new engine on the same file carries on."""

from __future__ import annotations

from sqlmodel import select

from bot.engine import Choose, Conversation
from scoring import Cadence
from storage import grades as grades_db
from storage import sessions as sessions_db
from storage.engine import make_engine, session_scope
from storage.models import Answer, GradingSession
from tests.engine.helpers import Chat, dedent, kinds


def _session(db, session_id: int) -> GradingSession:
    with session_scope(db) as s:
        return sessions_db.get_session(s, session_id)


def _answers(db, session_id: int) -> dict[str, object]:
    with session_scope(db) as s:
        return {k: a.value for k, a in sessions_db.current_answers(s, session_id).items()}


def test_resume_after_a_crash_on_a_new_engine_and_database_connection(
        chat, conv, db, db_url, worksheet, clock, alice):
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    chat.say("4")
    chat.pick("About right")
    asked = chat.prompt("question")
    assert (asked.question_id, asked.progress.text) == ("outcomes_value", "3 of 5")
    sid = chat.session_id

    # the process dies: nothing in memory survives; a new one opens the same file
    conv.db.dispose()
    del conv
    db2 = make_engine(db_url)
    conv2 = Conversation(db2, worksheet, clock=clock)

    # the rep's next message carries no session id (a fresh terminal): the engine finds the
    # grading, and an empty message asks where it stands: the same question
    again = Chat(conv2, alice)
    again.say("", keep_session=False)
    again.say("3", keep_session=False)
    assert again.transcript() == dedent("""
        > (empty)
        [question 3 of 5] Are we delivering business outcomes Acme can point to?
          choices: 1 Nothing visible | 2 Little | 3 Some | 4 Clear outcomes | 5 Transformational
          actions: Back | Skip | Why?
        > 3
        [echo] Got it: 3 — Some
          actions: Change
        [question 4 of 5] How likely is Acme to renew?
          choices: 1 Almost certainly not | 2 Unlikely | 3 Coin toss | 4 Likely | 5 Almost certain
          actions: Back | Skip | Why?
        """)
    assert again.session_id == sid

    # and a third engine, addressed by the same session id, finishes it
    conv3 = Conversation(make_engine(db_url), worksheet, clock=clock)
    third = Chat(conv3, alice)
    third.session_id = sid
    third.say("4")
    third.say("low")
    assert kinds(third.last) == ["echo", "review"]
    third.say("save")
    assert kinds(third.last) == ["saved"]

    with session_scope(db2) as s:
        latest = grades_db.latest_grade_by_name(s, alice.workspace_id, "Acme")
        assert latest is not None
        assert latest.letter == "A"
        assert len(s.exec(select(Answer).where(Answer.session_id == sid)).all()) == 5
    assert _session(db2, sid).status == "saved"


def test_expired_grading_is_put_aside_and_resumes_where_it_was(chat, db, clock):
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    chat.say("4")
    chat.say("about right")
    sid = chat.session_id

    clock.advance(days=7, hours=1)
    chat.clear()
    chat.say("3")
    assert chat.transcript() == dedent("""
        > 3
        [info] This grading was idle too long, so it was put aside as a draft; your answers are kept. That last message was not recorded.
            Resume to pick up at the question you were on, or start over.
          choices: Resume | Start over
        """)  # noqa: E501
    assert _session(db, sid).status == "expired"
    assert "outcomes_value" not in _answers(db, sid)  # the late input was not taken

    chat.clear()
    chat.start("Acme")  # no cadence: the draft is what matters
    chat.pick("Resume")
    chat.say("3")
    assert chat.transcript() == dedent("""
        > start Acme
        [resume_or_restart] You have a draft grading of Acme (quarterly, 2 answered). Resume it or start over?
          choices: Resume | Start over
        > [Resume]
        [info] Picking up where you left off.
        [question 3 of 5] Are we delivering business outcomes Acme can point to?
          choices: 1 Nothing visible | 2 Little | 3 Some | 4 Clear outcomes | 5 Transformational
          actions: Back | Skip | Why?
        > 3
        [echo] Got it: 3 — Some
          actions: Change
        [question 4 of 5] How likely is Acme to renew?
          choices: 1 Almost certainly not | 2 Unlikely | 3 Coin toss | 4 Likely | 5 Almost certain
          actions: Back | Skip | Why?
        """)  # noqa: E501
    assert chat.session_id == sid
    assert _answers(db, sid) == {"pays_now": 4, "service_level": "right", "outcomes_value": 3}
    assert _session(db, sid).status == "open"


def _answer_one_then_idle(chat: Chat, clock, late_reply: str) -> int | None:
    """A quarterly grading of Acme with the first question answered, then a reply sent
    after the idle limit (it gets the expiry notice); the session id."""
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    chat.say("4")
    clock.advance(days=8)
    chat.say(late_reply)
    assert chat.option("Resume")  # the notice offers it
    return chat.session_id


def test_the_expiry_notice_resumes_with_one_tap(chat, db, clock):
    sid = _answer_one_then_idle(chat, clock, "about right")
    chat.clear()
    chat.pick("Resume")
    chat.say("about right")
    assert chat.transcript().splitlines()[:3] == [
        "> [Resume]", "[info] Picking up where you left off.",
        "[question 2 of 5] For what Acme brings, are we over-serving or under-serving them?"]
    assert _answers(db, sid) == {"pays_now": 4, "service_level": "right"}
    assert _session(db, sid).status == "open"


def test_the_expiry_notice_can_start_over(chat, db, clock):
    sid = _answer_one_then_idle(chat, clock, "3")
    chat.pick("Start over")
    assert _session(db, sid).status == "discarded"
    assert chat.session_id != sid
    assert kinds(chat.last)[-1] == "question"
    assert chat.last[-1].question_id == "pays_now"


def test_just_under_the_idle_limit_nothing_expires(chat, db, clock):
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    chat.say("4")
    clock.advance(days=6, hours=23)
    assert kinds(chat.say("about right")) == ["echo", "question"]
    assert _session(db, chat.session_id).status == "open"


def test_a_draft_can_be_thrown_away_for_a_fresh_start(chat, db, clock):
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    chat.say("4")
    old = chat.session_id
    clock.advance(days=10)
    chat.start("Acme", Cadence.QUARTERLY)  # expired on sight: offered as a draft
    assert chat.prompt("resume_or_restart").text.startswith("You have a draft grading of Acme")
    chat.pick("Start over")
    assert kinds(chat.last) == ["info", "question"]
    assert chat.prompt("question").progress.text == "1 of 5"
    assert chat.session_id != old
    assert _session(db, old).status == "discarded"
    assert _answers(db, chat.session_id) == {}


def test_one_open_grading_per_rep_and_customer(chat, db):
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Create Acme")
    chat.say("4")
    first = chat.session_id

    chat.clear()
    chat.start("Acme", Cadence.QUARTERLY)
    chat.pick("Resume")
    assert chat.transcript() == dedent("""
        > start Acme quarterly
        [resume_or_restart] You are already grading Acme (quarterly, 1 answered). Resume it or start over?
          choices: Resume | Start over
        > [Resume]
        [info] Picking up where you left off.
        [question 2 of 5] For what Acme brings, are we over-serving or under-serving them?
          choices: Heavily over-serving | Somewhat over-serving | About right | Under-serving
          actions: Back | Skip | Why?
        """)  # noqa: E501
    assert chat.session_id == first

    chat.start("acme")  # any spelling of the same customer
    chat.pick("Start over")
    second = chat.session_id
    assert second != first
    assert kinds(chat.last) == ["info", "question"]
    assert chat.prompt("question").progress.text == "1 of 5"
    assert _session(db, first).status == "discarded"
    assert _session(db, second).status == "open"
    assert _answers(db, second) == {}
    with session_scope(db) as s:
        active = s.exec(select(GradingSession).where(
            GradingSession.status.in_(("open", "review", "paused")))).all()
        assert [g.id for g in active] == [second]

    # a repeated "Start over" (double click) never throws away the new grading: it offers it
    chat.say("4")
    stale = chat.conv.handle(chat.actor, Choose(f"c|restart|{first}"), session_id=second)
    assert kinds(stale) == ["resume_or_restart"]
    assert stale[0].session_id == second
    assert "(quarterly, 1 answered)" in stale[0].text
    assert _session(db, second).status == "open"
    assert _answers(db, second) == {"pays_now": 4}
