"""Slack delivers some things twice (event retries, double clicks): each counts once."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.slack.conftest import Rep, blocks_of, buttons, settle, shown, wait_until


def _message(rep: Rep, text: str, client_msg_id: str) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "user": rep.user, "text": text,
            "channel": rep.dm, "ts": f"{time.time():.6f}", "thread_ts": rep.thread,
            "client_msg_id": client_msg_id}


def _snapshot(rep: Rep) -> tuple[int, int, int]:
    return (len(rep.answers()), len(rep.api.of("chat.postMessage")),
            len(rep.api.of("chat.update")))


def test_a_retried_event_changes_nothing(rep: Rep) -> None:
    rep.start("Acme")
    ev = _message(rep, "4", "cm-once")
    n = len(rep.posts(rep.thread))
    assert rep.slack.event(ev, event_id="EvOnce").status_code == 200
    wait_until(lambda: len(rep.posts(rep.thread)) > n)
    settle(rep.api)
    before = _snapshot(rep)
    assert before[0] == 1

    retry = rep.slack.event(ev, event_id="EvOnce", retry_num=1)
    assert retry.status_code == 200, retry.text  # Slack must not retry again
    settle(rep.api)
    assert _snapshot(rep) == before


def test_the_same_message_under_a_new_event_id_is_recorded_once(rep: Rep) -> None:
    rep.start("Acme")
    n = len(rep.posts(rep.thread))
    rep.slack.event(_message(rep, "4", "cm-twice"), event_id="EvFirst")
    wait_until(lambda: len(rep.posts(rep.thread)) > n)
    settle(rep.api)
    before = _snapshot(rep)
    rep.slack.event(_message(rep, "4", "cm-twice"), event_id="EvSecond")
    settle(rep.api)
    assert _snapshot(rep) == before
    assert [(a.question_id, a.value) for a in rep.answers()] == [("pays_now", 4)]


def _click_twice(rep: Rep, call: Any, value: str) -> None:
    """Two clicks of one button on one message, at the same moment."""
    results: list[int] = []
    go = threading.Barrier(2)

    def click() -> None:
        go.wait()
        results.append(rep.click(call, value).status_code)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [200, 200]


def test_a_double_click_on_an_answer_records_once(rep: Rep) -> None:
    rep.start("Acme")
    q = rep.question()
    n = len(rep.posts(rep.thread))
    _click_twice(rep, q, "a|pays_now|4")
    wait_until(lambda: len(rep.posts(rep.thread)) > n)
    settle(rep.api)
    assert [(a.question_id, a.value) for a in rep.answers()] == [("pays_now", 4)]
    new = rep.posts(rep.thread)[n:]
    assert [("Question 2 of 5" in shown(c)) for c in new] == [True]
    assert len([c for c in rep.api.of("chat.update") if c.args["ts"] == rep.ts_of(q)]) == 1
    # and the same click much later (a stale message) does not record again either
    rep.click(q, "a|pays_now|4")
    settle(rep.api)
    assert len(rep.answers()) == 1


def test_a_double_click_on_skip_or_back_moves_once(rep: Rep) -> None:
    rep.start("Acme")
    q1 = rep.question()
    n = len(rep.posts(rep.thread))
    _click_twice(rep, q1, "c|skip|@0")
    wait_until(lambda: len(rep.posts(rep.thread)) > n)
    settle(rep.api)
    assert rep.session().position == 1
    new = rep.posts(rep.thread)[n:]
    assert len(new) == 1
    assert "Question 2 of 5" in shown(new[0])
    q2_ts = rep.ts_of(new[0])

    rep.answer(0)  # question 2 answered → question 3
    q3 = rep.question()
    assert "Question 3 of 5" in shown(q3)
    n = len(rep.posts(rep.thread))
    _click_twice(rep, q3, "c|back|@2")
    settle(rep.api)
    assert rep.session().position == 1
    assert rep.posts(rep.thread)[n:] == []  # question 2 is asked again in its own message
    again = rep.question()
    assert rep.ts_of(again) == q2_ts
    assert "Question 2 of 5" in shown(again)
    assert "c|back|@1" in [b["value"] for b in buttons(blocks_of(again.args))]


def test_a_double_click_on_save_saves_once(rep: Rep) -> None:
    rep.start("Acme")
    for _ in range(5):
        rep.answer(0)
    review = rep.posts(rep.thread)[-1]
    n = len(rep.posts(rep.thread))
    _click_twice(rep, review, "c|save|")
    settle(rep.api)
    assert len(rep.grades("Acme")) == 1
    cards = [c for c in rep.posts(rep.thread)[n:] if "Saved:" in shown(c)]
    assert len(cards) == 1
    # and the second click adds nothing of its own ("this grading is saved" would only
    # confuse, and could land above the saved card)
    assert [shown(c)[:40] for c in rep.posts(rep.thread)[n:]] == [shown(cards[0])[:40]]
    assert not [c for c in rep.responses() if "saved" in str(c.args.get("text", "")).lower()
                and "Saved:" not in str(c.args.get("text", ""))]


def test_save_retires_a_review_card_another_replica_has_not_recorded_yet(rep: Rep) -> None:
    """With several replicas, the rep can click Save on the review card before the replica
    that posted it has stored its ts. The replica handling Save waits for it (briefly) and
    still takes the buttons off the card, instead of leaving a live Save button behind."""
    from storage import sessions as sessions_db

    rep.start("Acme")
    for _ in range(5):
        rep.answer(0)
    review = rep.posts(rep.thread)[-1]
    assert "c|save|" in str(review.args.get("blocks"))
    sid = rep.session().id

    def set_review_ref(ts: str | None) -> None:
        with rep.sv.session() as s:
            gs = sessions_db.get_session(s, sid)  # type: ignore[arg-type]
            refs = {k: v for k, v in gs.refs.items() if k != "review"}
            sessions_db.update_session(s, gs, refs={**refs, **({"review": ts} if ts else {})})

    review_ts = rep.ts_of(review)
    set_review_ref(None)  # as if the posting replica had not got that far yet
    late = threading.Timer(0.4, set_review_ref, args=(review_ts,))
    late.start()
    n = len(rep.posts(rep.thread))
    rep.click(review, "c|save|")
    wait_until(lambda: [c for c in rep.posts(rep.thread)[n:] if "Saved:" in shown(c)],
               what="the saved card")
    late.join()
    retired = [c for c in rep.api.of("chat.update") if c.args["ts"] == review_ts]
    assert retired, "the review card kept its Save button"
    assert not buttons(blocks_of(retired[-1].args))
    assert "Saved ✓" in shown(retired[-1])
