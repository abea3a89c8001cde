"""Who may open the grading form in Slack: the engine's one rule (``Conversation.form``).

Before, Slack checked the owner and status only: a form button naming a strategic review
opened a modal of a sheet that review does not have, and a stale id ended in a traceback and
the apology. Now both are refused in plain words where the click was, as Teams refuses them.
"""

from __future__ import annotations

from bot.engine import Start
from bot.engine.prompts import APOLOGY
from scoring import Cadence
from tests.slack.conftest import Rep, settle, shown, wait_until

REFUSAL = "That grading is finished or no longer yours; start a new one with /grade"


def _click_form(rep: Rep, value: str) -> str:
    """Click a form button with ``value`` on the thread's parent; what the rep was told."""
    parent = next(c for c in rep.posts() if rep.ts_of(c) == rep.thread)
    settle(rep.api)  # what the start posted is out before we count
    n = len(rep.api.calls)
    r = rep.slack.click(
        value, action_id="form:0", user=rep.user, channel=rep.dm, message_ts=rep.ts_of(parent)
    )
    assert r.status_code == 200, r.text

    def told() -> str:
        said = "\n".join(
            shown(c) for c in rep.api.calls[n:] if c.method in ("chat.postMessage", "response_url")
        )
        return said if ("no longer yours" in said or "Sorry" in said) else ""

    said = wait_until(told, what="the refusal")
    settle(rep.api)
    assert not [c for c in rep.api.calls[n:] if c.method == "views.open"], "a modal opened"
    return said


def test_a_stale_form_id_is_refused_in_words_not_with_an_apology(rep: Rep) -> None:
    rep.start("Acme")
    said = _click_form(rep, f"form|{rep.session().id + 10_000}")
    assert REFUSAL in said
    assert APOLOGY not in said


def test_a_garbled_form_value_is_refused_in_words(rep: Rep) -> None:
    rep.start("Acme")
    said = _click_form(rep, "form|99999999999999999999999999")
    assert REFUSAL in said
    assert APOLOGY not in said


def test_the_form_does_not_open_for_a_strategic_review(rep: Rep) -> None:
    rep.start("Acme")  # the book now holds Acme, so a strategic review can start
    actor, _ = rep.sv.actor("slack", "T1", rep.user)
    review = rep.sv.conversation.handle(actor, Start("", Cadence.STRATEGIC))
    review_id = next(p.session_id for p in review if p.session_id is not None)
    said = _click_form(rep, f"form|{review_id}")
    assert REFUSAL in said


def test_the_rep_s_own_grading_still_opens_its_form(rep: Rep) -> None:
    rep.start("Acme")
    parent = next(c for c in rep.posts() if rep.ts_of(c) == rep.thread)
    rep.click(parent, f"form|{rep.session().id}")
    view = rep.api.wait_for("views.open")[0].args["view"]
    assert view["private_metadata"] == str(rep.session().id)
