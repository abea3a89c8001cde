"""What users typed is shown exactly and pings no one (DESIGN: "Contracts").

Slack's formatting reference: ``&``, ``<`` and ``>`` are control characters in every text
object, ``plain_text`` included, so they go out as entities everywhere (Slack shows the
characters). ``texts()`` reads blocks as a rep sees them (entities shown as characters)."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.blocks import text_objects
from tests.slack.conftest import Rep, blocks_of, buttons, settle, shown, texts, wait_until

NAME = "<!channel> <@U123> *x*"
ESCAPED = "&lt;!channel&gt; &lt;@U123&gt; *x*"
RAW = ("<!channel>", "<@U123>", "<!here>", "<@U42>", "R&D", "a > b")
DANGER = ("<!channel>", "<@U123>", "<!here>")


def _payloads(rep: Rep) -> list[tuple[str, dict[str, Any]]]:
    out = [(c.method, c.args) for c in rep.api.calls]
    out += [("ack", r.json()) for _, r in rep.slack.responses
            if r.headers.get("content-type", "").startswith("application/json") and r.content]
    return out


def test_a_customer_named_like_a_mention_pings_no_one(rep: Rep) -> None:
    rep.start(NAME)
    offer = rep.responses()[0].args
    assert offer["text"] == f"I don't know a customer called {ESCAPED}."
    create = [b for b in buttons(offer["blocks"]) if b["value"].startswith("create|")]
    assert create[0]["text"] == {"type": "plain_text", "text": f"Create {ESCAPED}",
                                 "emoji": True}

    n = len(rep.posts(rep.thread))
    rep.say("<!here> maybe 4?")  # typed text is user text too
    wait_until(lambda: rep.posts(rep.thread)[n:])
    settle(rep.api)
    while "c|save|" not in json.dumps(rep.posts(rep.thread)[-1].args.get("blocks")):
        rep.answer(0)
    review = rep.posts(rep.thread)[-1]
    assert NAME in texts(blocks_of(review.args))
    n = len(rep.posts(rep.thread))
    rep.click(review, "c|save|")
    saved = wait_until(lambda: rep.posts(rep.thread)[n:])[0]
    assert saved.args["text"].startswith(f"🎉 Saved: {ESCAPED} is graded")
    assert f"Saved: {NAME} is graded" in texts(blocks_of(saved.args))

    answers = {}
    for cmd, arg in (("/customer", NAME), ("/grades", ""), ("/portfolio", ""),
                     ("/customer", "<!channel> <@U123>")):
        k = len(rep.responses())
        rep.command(cmd, arg)
        answers[(cmd, arg)] = wait_until(lambda k=k: rep.responses()[k:])[0].args
    card = answers[("/customer", NAME)]
    assert card["text"].startswith(f"{ESCAPED}: ")
    assert card["blocks"][0]["text"] == {"type": "plain_text", "text": ESCAPED, "emoji": True}
    assert NAME in texts(answers[("/grades", "")]["blocks"])
    near = answers[("/customer", "<!channel> <@U123>")]
    assert near["text"] == f"No customer called &lt;!channel&gt; &lt;@U123&gt;. Did you mean: " \
                           f"{ESCAPED}?"
    started = [c.args["text"] for c in rep.responses() if c.args["text"].startswith("Started")]
    assert started == [f"Started grading {ESCAPED} in <https://test.slack.com/archives/D1/p"
                       f"{rep.thread.replace('.', '')}|this thread in our DM>."]

    # over everything sent to Slack: top-level text escaped, the name never in mrkdwn
    seen_in_plain = 0
    for method, args in _payloads(rep):
        top = str(args.get("text") or "")
        for bad in DANGER:
            assert bad not in top, (method, top)
        for m in text_objects(args, "mrkdwn"):
            for token in ("!channel", "@U123", "!here"):
                assert token not in m, (method, m)
        seen_in_plain += NAME in texts(args.get("blocks") or []) + texts(
            (args.get("view") or {}).get("blocks") or [])
    assert seen_in_plain >= 10
    assert any(ESCAPED in str(args.get("text")) for m, args in _payloads(rep)
               if m == "chat.update")
    assert json.dumps(ESCAPED)[1:-1] in json.dumps([a for _, a in _payloads(rep)])
    assert shown(saved)


def _strings(node: Any, key: str = "") -> list[tuple[str, str]]:
    """Every (key, string) in a payload, however deeply nested."""
    if isinstance(node, dict):
        return [x for k, v in node.items() for x in _strings(v, k)]
    if isinstance(node, list):
        return [x for v in node for x in _strings(v, key)]
    if isinstance(node, str):
        if node[:1] in "[{":  # blocks and views can arrive as JSON strings
            try:
                return _strings(json.loads(node), key)
            except ValueError:
                pass
        return [(key, node)]
    return []


def test_no_payload_carries_user_text_raw(rep: Rep) -> None:
    """A whole grading with hostile input (name, typed answers, a note, the form), then the
    look-ups: no text object or top-level text anywhere holds a raw < > & of it."""
    name = "R&D <!channel> a > b"
    rep.start(name, "annual")
    rep.say("<!here> 4")
    settle(rep.api)
    while (q := rep.question()) and "notes" not in json.dumps(q.args.get("blocks")) and \
            "Anything the next person" not in shown(q):
        rep.answer(0)
    rep.say("Champion <@U42> & co > all")  # the note, typed
    settle(rep.api)
    parent = next(c for c in rep.posts() if rep.ts_of(c) == rep.thread)
    rep.click(parent, f"form|{rep.session().id}")  # the modal shows the note and the name
    rep.api.wait_for("views.open")
    review = next(c for c in reversed(rep.messages(rep.thread))
                  if "c|save|" in json.dumps(c.args.get("blocks")))
    rep.click(review, "c|save|")
    settle(rep.api)
    for cmd, arg in (("/customer", name), ("/grades", ""), ("/customer", "R&D <!channel>")):
        rep.command(cmd, arg)
    settle(rep.api)
    checked = 0
    for method, args in _payloads(rep):
        for key, text in _strings(args):
            if key != "text":
                continue  # values, ids, urls: never shown as text
            checked += 1
            for bad in RAW:
                assert bad not in text, (method, text)
            if method == "response_url" and "this thread in our DM>" in text:
                continue  # our own link markup, around an escaped name
            assert "<" not in text.replace("<https://", ""), (method, text)
    assert checked > 100
    everything = json.dumps([a for _, a in _payloads(rep)])
    assert "R&amp;D &lt;!channel&gt; a &gt; b" in everything
    assert "Champion &lt;@U42&gt; &amp; co &gt; all" in everything
