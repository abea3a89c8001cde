"""A whole annual sheet graded in Slack by taps alone, in a tidy thread: signed requests into
the running app, the fake Web API recording what it posts."""

from __future__ import annotations

import json

from tests.slack.conftest import Rep, blocks_of, buttons, settle, shown, texts


def _values(call) -> list[str]:
    return [b["value"] for b in buttons(blocks_of(call.args))]


def _review(rep: Rep):
    return next(c for c in reversed(rep.messages(rep.thread))
                if "c|save|" in _values(c) or "Review before saving" in shown(c))


def test_the_annual_sheet_by_taps_alone_in_a_tidy_thread(rep: Rep) -> None:
    rep.start("Globex", "annual")
    questions = len(rep.sv.worksheet.questions_for("annual"))
    tapped: list[str] = []
    for _ in range(questions):
        q = rep.question()
        values = _values(q)
        answers = [v for v in values if v.startswith("a|")]
        choice = answers[-1] if "a|revenue_share|" in json.dumps(values) else \
            answers[0] if answers else next(v for v in values if v.startswith("c|skip|"))
        label = next(b["text"]["text"] for b in buttons(blocks_of(q.args))
                     if b["value"] == choice)
        tapped.append(label)
        rep.click(q, choice)
        settle(rep.api)
    assert tapped[9] == "over 30 %"        # the share of revenue: a band, one tap
    assert tapped[13] == "0"               # 0 to 10: eleven buttons
    assert tapped[14] == "Nothing to add"  # the note

    review = _review(rep)
    seen = shown(review)
    assert review.args["blocks"][0]["type"] == "header"
    assert "Review before saving — not saved yet" in seen
    assert "10. Share of revenue: over 30 %" in seen
    assert "Incomplete" not in seen
    save = next(b for b in buttons(blocks_of(review.args)) if b["value"] == "c|save|")
    assert save.get("style") == "primary"
    change = [e for b in blocks_of(review.args) if b["type"] == "actions"
              for e in b["elements"] if e["type"] == "static_select"]
    assert change[0]["placeholder"]["text"] == "Change an answer…"
    assert "c|discard|" in _values(review)

    rep.click(review, "c|save|")
    settle(rep.api)
    [grade] = rep.grades("Globex")
    assert grade.coverage == 1.0
    assert grade.answers["revenue_share"] == 65
    assert grade.answers["advocacy"] == 0
    after = next(c for c in rep.messages(rep.thread) if rep.ts_of(c) == rep.ts_of(review))
    assert "Saved ✓" in shown(after)           # the same message says it is saved
    assert _values(after) == []                # and can no longer be tapped
    assert "Saved: Globex is graded" in shown(rep.messages(rep.thread)[-1])

    # the thread: the opening, one message per question, the review and the result
    thread = rep.messages(rep.thread)
    assert len(thread) + 1 <= questions + 3, [shown(c)[:40] for c in thread]
    opening = next(c for c in rep.posts() if rep.ts_of(c) == rep.thread)
    assert "Grading Globex: the annual worksheet, 15 questions." in shown(opening)
    notices = [c for c in rep.api.of("chat.update") if "below ↓" in str(c.args.get("text"))]
    assert notices == []
    live = [c for c in thread if any(v.startswith(("a|", "c|skip|")) for v in _values(c))]
    assert live == []  # no question left with buttons


def test_back_and_change_update_in_place(rep: Rep) -> None:
    """Back, a typed re-ask and a change from the review add no question messages."""
    rep.start("Acme")
    rep.answer(0)
    q2 = rep.question()
    rep.click(q2, "c|back|@1")
    settle(rep.api)
    assert "Question 1 of 5" in shown(rep.question())
    assert "✅" not in texts(blocks_of(rep.question().args))
    assert "Not answered yet" in shown(next(c for c in rep.messages(rep.thread)
                                            if rep.ts_of(c) == rep.ts_of(q2)))
    for _ in range(5):
        rep.answer(0)
    review = _review(rep)
    n = len(rep.posts(rep.thread))
    rep.say("change 2")
    settle(rep.api)
    rep.answer(1)
    settle(rep.api)
    assert len(rep.posts(rep.thread)) == n  # nothing new: question 2 and the review updated
    assert "2. Cost to serve: Somewhat over-serving" in shown(
        next(c for c in rep.messages(rep.thread) if rep.ts_of(c) == rep.ts_of(review)))
    assert len(rep.messages(rep.thread)) + 1 == 5 + 2  # opening + 5 questions + review
