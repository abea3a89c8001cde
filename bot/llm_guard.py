"""Guard rails for model readings that do not depend on the model's own confidence.

A small model says "0.95" as readily about a wrong answer as about a right one, so what the
engine records without asking is decided here, from the rep's words:

* ``evidence`` — another question is only put to the model (and its answer only offered)
  when the reply plainly talks about it: a word of that question's own vocabulary (label,
  answer labels, synonyms, ``says`` phrases) that the current question does not also use.
* ``contradiction`` — a reading that the words contradict is confirmed, never recorded:
  the text names other answers by the worksheet's own phrases, holds a different explicit
  number, or its polarity (with negations) is the opposite of the value's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from scoring import AnswerType, AnswerValue, Question, said_values
from scoring.parsing import normalize


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that carry no topic: they occur in every question's vocabulary or in any reply.
_GENERIC = _set("""
a an the it is of to we they them us our their on in and or are be for at if so as by with
all would will have has that this not no yes very bit lot some little more most less none
do does did how much what who customer customers answer really just one two any about
they're we're it's i you your my me were was been being there here than then so too also
""")
_POSITIVE = _set("""
great good excellent love loves rave raving growing grow strong solid healthy perfect
ideal best happy keen pleased delighted thrilled dream smooth profitable definitely certain
sure renew renewing renewed referred
intro intros clockwork exactly bang fit ton tons loads huge impact transformed success
winning
""")
_NEGATIVE = _set("""
bad poor lose losing loss lost late never replace replacing churn churning leaving cutting
dispute disputes disputing underwater unprofitable misfit terrible awful hate unhappy slow
nothing zero worse worst rfp thin cancel cancelling
""")
_NEGATORS = _set("""
not no never hardly barely dont doesnt didnt isnt arent wasnt werent wont cant couldnt
wouldnt shouldnt havent hasnt aint nor without
""")


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 3:
            return word[: -len(suffix)]
    return word


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", normalize(text).replace("n't", " not").replace("-", " "))


@lru_cache(maxsize=256)
def vocabulary(q: Question) -> frozenset[str]:
    """The stems a reply about ``q`` would use: its label and every way of naming an answer."""
    phrases = [q.label, *q.labels, *(c.label for c in q.choices),
               *(s for c in q.choices for s in c.synonyms), *(p for _, ps in q.says for p in ps)]
    if q.type is AnswerType.NUMBER and q.bounds == (0, 10):
        phrases += ["recommend", "nps", "promoter", "detractor", "passive", "rave"]
    if q.type is AnswerType.PERCENT:
        phrases += ["revenue", "percent", "share"]
    return frozenset(_stem(w) for p in phrases for w in _tokens(p)) - _GENERIC


def evidence(current: Question, other: Question, text: str) -> int:
    """How many words of ``text`` belong to ``other``'s vocabulary and not to the current
    question's: 0 means the reply does not talk about ``other``."""
    words = {_stem(w) for w in _tokens(text)} - _GENERIC
    return len(words & (vocabulary(other) - vocabulary(current)))


def pick_others(current: Question, others: Sequence[Question], text: str,
                most: int) -> list[Question]:
    """The other questions the reply plainly talks about, strongest evidence first."""
    scored = [(evidence(current, o, text), i, o) for i, o in enumerate(others)]
    return [o for n, _, o in sorted(scored, key=lambda t: (-t[0], t[1])) if n > 0][:most]


def polarity(text: str) -> int:
    """+1 when the words are only positive, -1 only negative, else 0; a negation up to three
    words before a word flips it ("not a good fit" is negative)."""
    toks = _tokens(text)
    pos = neg = 0
    for i, w in enumerate(toks):
        st = _stem(w)
        sign = 1 if (w in _POSITIVE or st in _POSITIVE) else -1 if (
            w in _NEGATIVE or st in _NEGATIVE) else 0
        if sign and any(t in _NEGATORS for t in toks[max(0, i - 3):i]):
            sign = -sign
        pos += sign > 0
        neg += sign < 0
    return 1 if pos and not neg else -1 if neg and not pos else 0


def value_polarity(q: Question, value: AnswerValue) -> int:
    """Whether an answer is good (+1) or bad (-1) news for the customer's grade, by the
    points the worksheet gives it; 0 for the middle, and for numbers (left to ``numbers``)."""
    if q.type is AnswerType.SCALE and isinstance(value, int):
        side = (value > 3) - (value < 3)
        return -side if q.reverse else side
    if q.type is AnswerType.CHOICE:
        c = q.choice(str(value))
        points = c.value if c else 50.0
    elif q.type is AnswerType.YES_NO:
        points = {"yes": q.yes_score, "no": q.no_score}.get(str(value), 50.0)
    else:
        return 0
    return 1 if points >= 70 else -1 if points <= 30 else 0


def _numbers(text: str) -> list[float]:
    return [float(n.replace(",", ".")) for n in re.findall(r"(?<![\w.])\d+(?:[.,]\d+)?", text)]


def contradiction(q: Question, value: AnswerValue, text: str) -> str | None:
    """Why the words contradict reading ``value`` for ``q`` (a note for the rep), or None."""
    named = said_values(q, text)
    if named and value not in named:
        return "your words name another answer"
    nums = _numbers(text)
    if q.type is AnswerType.SCALE and any(1 <= n <= 5 and n != value for n in nums):
        return "your reply has another number in it"
    if q.type in (AnswerType.NUMBER, AnswerType.PERCENT) and nums and float(value) not in nums:
        return "that number is not in your reply"
    words, val = polarity(text), value_polarity(q, value)
    if words and val and words != val:
        return "your words sound " + ("positive" if words > 0 else "negative")
    return None
