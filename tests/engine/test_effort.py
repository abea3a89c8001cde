"""Effort bars: how many inputs a rep spends after /grade, measured on the real engine.

A quarterly pulse must take at most 6 inputs (5 answers + save); the annual sheet at most 16
(15 questions + save). Run with -s to see the figures.
"""

from __future__ import annotations

import pytest

from scoring import Cadence
from storage import customers as customers_db
from storage.engine import session_scope
from tests.engine.helpers import Chat

PULSE_BAR = 6
ANNUAL_BAR = 16


@pytest.fixture
def known(db, alice):
    with session_scope(db) as s:
        customers_db.create_customer(s, alice.workspace_id, "Acme", alice.person_id)
    return "Acme"


def _walk(chat: Chat, answer) -> tuple[int, int]:
    """Answer every question shown until the review, then save: (inputs, prompts sent)."""
    sent = 0
    while chat.prompt_kinds()[-1] == "question":
        q = chat.prompt("question")
        sent += len(answer(chat, q))
    sent += len(chat.pick("Save"))
    assert chat.last[0].kind.value == "saved"
    return chat.inputs, sent


def _click(chat: Chat, q):
    return chat.pick(q.choices[-1].label) if q.choices else chat.say(
        {"revenue_share": "5%", "advocacy": "9", "notes": "fine"}[q.question_id])


def _type(chat: Chat, q):
    return chat.say({"scale": "4", "yes_no": "yes", "choice": "1", "percent": "5%",
                     "number": "9", "text": "fine"}[chat.conv.ws.question_map[q.question_id]
                                                   .type.value])


def test_a_quarterly_pulse_takes_at_most_six_inputs(chat: Chat, known, capsys):
    chat.start(known, Cadence.QUARTERLY)
    by_buttons, prompts = _walk(chat, _click)
    chat.start(known, Cadence.QUARTERLY)
    by_typing, _ = _walk(chat, _type)
    with capsys.disabled():
        print(f"\n[effort] quarterly pulse: {by_buttons} inputs by buttons, {by_typing} typed "
              f"(bar {PULSE_BAR}); {prompts} prompts sent")
    assert by_buttons <= PULSE_BAR
    assert by_typing <= PULSE_BAR


def test_the_annual_sheet_takes_at_most_sixteen_inputs(chat: Chat, known, capsys):
    chat.start(known, Cadence.ANNUAL)
    by_typing, prompts = _walk(chat, _type)
    chat.start("Brand New Co", Cadence.ANNUAL)
    chat.pick("Create Brand New Co")
    new_customer, _ = _walk(chat, _click)
    with capsys.disabled():
        print(f"\n[effort] annual sheet: {by_typing} inputs (bar {ANNUAL_BAR}); "
              f"{new_customer} for a customer created on the way; {prompts} prompts sent")
    assert by_typing <= ANNUAL_BAR
    assert new_customer <= ANNUAL_BAR + 1  # the one extra is the Create click
