"""/customer, /grades, /portfolio and help: what a rep reads back, and what they may see."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import select

from bot.engine import help
from storage import customers as customers_db
from storage import people as people_db
from storage.models import Grade, Person, Role, Workspace
from tests.slack.conftest import (
    MIDDLING,
    STRONG,
    WEAK,
    Rep,
    blocks_of,
    buttons,
    seed_grade,
    settle,
    shown,
    texts,
    wait_until,
)
from tests.storage.helpers import age_grade


def _answer(rep: Rep, n: int = 0) -> dict:
    """The n-th response_url answer (what replaces the "On it…" ack)."""
    return wait_until(lambda: rep.responses()[n:], what="a response_url answer")[0].args


def _age_grade(rep: Rep, name: str, days: int) -> None:
    age_grade(rep.sv.db, name, days)


def test_customer_card_with_trend_due_date_and_regrade(rep: Rep) -> None:
    rep.api.users["U1"] = {"id": "U1", "name": "uma", "tz": "Europe/Paris",
                           "real_name": "Uma Rep", "profile": {"display_name": "Uma"}}
    seed_grade(rep.sv, "U1", "Acme", MIDDLING)
    seed_grade(rep.sv, "U1", "Acme", STRONG)
    with rep.sv.session() as s:
        letters = [g.letter for g in s.exec(select(Grade).order_by(Grade.id)).all()]
        latest = s.exec(select(Grade).order_by(Grade.id.desc())).first()  # type: ignore[union-attr]
    assert letters[-1] == "A"
    assert letters[0] != "A"

    ack = rep.command("/customer", "acme")
    assert ack.json() == {"response_type": "ephemeral", "text": "On it…"}
    card = _answer(rep)
    assert card["response_type"] == "ephemeral"
    assert card["replace_original"] is True
    blocks = card["blocks"]
    seen = texts(blocks)
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "Acme"
    # letter, score, how much of the sheet the pulses answered, trend
    assert f"A · {latest.total:g}/100 (provisional, 37% answered) · invest more · ↑" in seen
    assert "Carried by Good for you, 100." in seen  # the good the grade rests on
    assert re.search(r"since [BCD] \(\d+(\.\d+)?\)", seen)
    for dim in ("Good for you", "Fit", "Outcomes & loyalty"):
        assert re.search(dim + r": \d+(\.\d+)? [█░]{10}", seen), dim
    # an A is re-graded annually: due at the start of next year
    assert f"Next due {latest.created_at.year + 1}-01-01" in seen
    assert "by Uma" in seen  # the grader, by the display name Slack knows
    assert "Lifted by" in seen
    rep.command("/customer", "Acme")  # the display name sticks on later commands too
    assert "by Uma" in texts(_answer(rep, 1)["blocks"])

    regrade = [b for b in buttons(blocks) if b["text"]["text"] == "Re-grade"]
    assert len(regrade) == 1
    rep.click_ephemeral(card, regrade[0]["value"])
    parent = wait_until(lambda: [c for c in rep.posts() if "Grading Acme" in shown(c)])[0]
    rep.thread = rep.ts_of(parent)
    assert rep.question()
    assert wait_until(lambda: [c for c in rep.responses()
                               if c.args.get("text", "").startswith("Started grading Acme")])


def test_customer_unknown_suggests_names(rep: Rep) -> None:
    seed_grade(rep.sv, "U1", "Acme Corporation", STRONG)
    rep.command("/customer", "Acme Corp")
    seen = texts(_answer(rep)["blocks"])
    assert "No customer called Acme Corp. Did you mean: Acme Corporation?" in seen
    rep.command("/customer", "Zzyzx")
    assert texts(_answer(rep, 1)["blocks"]) == "No customer called Zzyzx."


def test_grades_sorted_with_overdue_marks(rep: Rep) -> None:
    seed_grade(rep.sv, "U1", "Weak Co", WEAK)
    seed_grade(rep.sv, "U1", "Strong Co", STRONG)
    seed_grade(rep.sv, "U1", "Middling Co", MIDDLING)
    _age_grade(rep, "Middling Co", 200)  # a C is re-graded quarterly: overdue now
    actor, _ = rep.sv.actor("slack", "T1", "U1")
    with rep.sv.session() as s:
        customers_db.create_customer(s, actor.workspace_id, "Never Graded", actor.person_id)

    rep.command("/grades")
    blocks = _answer(rep)["blocks"]
    rows = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    names = [next(n for n in ("Strong Co", "Middling Co", "Weak Co", "Never Graded")
                  if n in r) for r in rows]
    assert names == ["Strong Co", "Middling Co", "Weak Co", "Never Graded"]
    assert rows[0].startswith("A ")
    assert "⚠️" not in rows[0]
    assert "⚠️ due now" in rows[1]
    # imported and never graded: due, but not "overdue" for anything
    assert rows[3] == "Never Graded · never graded"
    assert len(buttons(blocks)) == 4  # a Grade button per customer

    rep.command("/grades", "overdue")
    blocks = _answer(rep, 1)["blocks"]
    assert blocks[0]["text"]["text"].endswith("— overdue")
    rows = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(rows) == 2
    assert "Middling Co" in rows[0]
    assert "Never Graded" in rows[1]


@pytest.mark.parametrize("mention", ["@bob", "<@U2|bob>"])
def test_grades_of_someone_else_needs_their_manager(rep: Rep, mention: str) -> None:
    rep.sv.actor("slack", "T1", "U2", "bob")
    seed_grade(rep.sv, "U2", "Bob's Client", STRONG)
    rep.sv.actor("slack", "T1", "U1")

    rep.command("/grades", mention)
    assert texts(_answer(rep)["blocks"]) == \
        "Only their manager or an admin can see someone else's grades."

    with rep.sv.session() as s:
        me = s.exec(select(Person).where(Person.external_id == "U1")).one()
        bob = s.exec(select(Person).where(Person.external_id == "U2")).one()
        people_db.set_role(s, me, Role.MANAGER)
        people_db.set_role(s, bob, Role.REP, manager=me)
    rep.command("/grades", mention)
    blocks = _answer(rep, 1)["blocks"]
    assert blocks[0]["text"]["text"] == "bob's book"
    assert "Bob's Client" in texts(blocks)

    rep.command("/grades", "@nobody")
    assert texts(_answer(rep, 2)["blocks"]) == "I don't know @nobody here."


def test_portfolio_balance_warnings_and_chart(rep: Rep) -> None:
    for name in ("One", "Two", "Three"):
        seed_grade(rep.sv, "U1", name, STRONG)  # all "good for you": out of balance
    rep.command("/portfolio")
    blocks = _answer(rep)["blocks"]
    seen = texts(blocks)
    assert "3 customers, 3 graded." in seen
    assert re.search(r"Good for you: 100% \(target 60%, \+40\) █{10}", seen)
    assert "Good for others: 0% (target 15%, -15)" in seen
    assert "⚠️" in seen  # the model's warnings

    url = rep.api.wait_for("files.getUploadURLExternal")[0]
    assert url.args["filename"] == "portfolio.png"
    assert int(url.args["length"]) > 1000
    upload = rep.api.wait_for("upload")[0]
    assert upload.args["_body"].startswith(b"\x89PNG\r\n\x1a\n")
    assert upload.args["size"] == int(url.args["length"])
    done = rep.api.wait_for("files.completeUploadExternal")[0]
    assert done.args["channel_id"] == "D1"
    files = done.args["files"]
    files = json.loads(files) if isinstance(files, str) else files
    assert [f["id"] for f in files] == [upload.args["file_id"]]


def test_portfolio_of_an_empty_book_uploads_nothing(rep: Rep) -> None:
    rep.command("/portfolio")
    seen = texts(_answer(rep)["blocks"])
    assert "0 customers, 0 graded." in seen
    settle(rep.api)
    assert not rep.api.of("files.getUploadURLExternal")


@pytest.mark.parametrize(("command", "usage"), [
    ("/grade", "/grade <customer> [quarterly|annual|strategic]"),
    ("/customer", "/customer <customer>"),
    ("/grades", "/grades [overdue | @someone]"),
    ("/portfolio", "/portfolio [team]"),
])
def test_help_for_each_command(rep: Rep, command: str, usage: str) -> None:
    body = rep.command(command, "help").json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith(usage.replace("<", "&lt;").replace(">", "&gt;"))
    seen = texts(body["blocks"])  # (as a rep reads it: the entities shown as < >)
    assert seen.startswith(f"*{usage}*\n")
    # every line of that command's help (bot.engine.help), and no other command's
    for line in help.command_help(command, "/"):
        assert f"*{line.usage}*\n{line.what}" in seen
    others = [c for c in help.SLASH_COMMANDS if c != command]
    assert not any(f"*{c} " in seen for c in others)
    assert not rep.api.of("response_url")
    assert not rep.api.of("chat.postMessage")


def test_help_names_the_newer_sub_commands(rep: Rep) -> None:
    """Second opinions, overrides and the optimism view are in the help of their command."""
    grade = texts(rep.command("/grade", "help").json()["blocks"])
    assert "*/grade <customer> second-opinion @someone*" in grade
    customer = texts(rep.command("/customer", "?").json()["blocks"])
    assert "*/customer <customer> override [A-D] [invest-more|maintain|invest-less|exit] " \
           "until YYYY-MM-DD because <reason>*" in customer
    assert "*/customer <customer> override remove*" in customer
    assert "*/customer <customer> overrides*\nthe override history." in customer
    portfolio = texts(rep.command("/portfolio", "help").json()["blocks"])
    assert "*/portfolio optimism*\nmanagers and admins:" in portfolio


def test_a_top_level_dm_that_is_no_command_gets_every_commands_help(rep: Rep) -> None:
    rep.say("hello there")
    (post,) = wait_until(lambda: rep.posts(), what="the help in the DM")
    seen = texts(blocks_of(post.args))
    assert seen.startswith(help.hello("/"))
    for line in help.overview("/"):  # the same lines as Teams and the terminal, with "/"
        assert f"*{line.usage}*\n{line.what}" in seen
    assert "back (previous question), skip, why" in seen  # the words of a grading


def test_grade_with_no_customer_explains_itself(rep: Rep) -> None:
    body = rep.command("/grade", "").json()
    assert "quarterly|annual|strategic" in body["text"]
    assert not rep.api.of("chat.postMessage")


def test_grade_an_existing_customer_goes_straight_to_the_thread(rep: Rep) -> None:
    seed_grade(rep.sv, "U1", "Acme", STRONG)
    rep.command("/grade", "Acme")
    parent = wait_until(lambda: [c for c in rep.posts() if "Grading Acme" in shown(c)])[0]
    rep.thread = rep.ts_of(parent)
    q = rep.question()
    assert "Question 1 of" in shown(q)
    wait_until(lambda: [c for c in rep.responses() if "Started grading Acme" in
                        c.args.get("text", "")])
    # /grade again: back to the same thread (not a second one), offering to resume
    n = len(rep.posts(rep.thread))
    rep.command("/grade", "Acme")
    offer = wait_until(lambda: rep.posts(rep.thread)[n:], what="the resume offer")[0]
    assert "You are already grading Acme" in shown(offer)
    assert [b["text"]["text"] for b in buttons(blocks_of(offer.args))] == ["Resume",
                                                                          "Start over"]
    assert wait_until(lambda: [c for c in rep.responses() if c.args.get("text", "")
                               .startswith("Continuing grading Acme in <https://")])
    assert len([c for c in rep.posts() if "thread_ts" not in c.args]) == 1


def test_a_new_workspace_starts_in_gradebot_timezone(make_env) -> None:
    """The first Slack request from a team creates its workspace in GRADEBOT_TIMEZONE (the
    zone periods and due dates are read in for reps whose Slack profile has none)."""
    env = make_env(GRADEBOT_TIMEZONE="America/Chicago")
    rep = Rep(env.sv, env.sender, env.api)
    rep.command("/grades")
    assert _answer(rep)["text"] == "user-u1's book"
    with env.sv.session() as s:
        (ws,) = s.exec(select(Workspace)).all()
        assert ws.get_settings().timezone == "America/Chicago"


def test_a_portfolio_view_that_does_not_exist_gets_the_portfolio_help(rep: Rep) -> None:
    """``/portfolio tem`` (a typo of team) answers with /portfolio's help in place of the
    ack, not with the rep's own portfolio under a title they did not ask for."""
    seed_grade(rep.sv, "U1", "Acme", STRONG)
    rep.command("/portfolio", "tem")
    seen = texts(_answer(rep)["blocks"])
    for line in help.command_help("/portfolio", "/"):
        assert f"*{line.usage}*\n{line.what}" in seen
    assert "Portfolio —" not in seen
    settle(rep.api)
    assert not rep.api.of("files.getUploadURLExternal")  # no chart of a portfolio not shown
