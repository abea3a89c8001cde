"""Rule-based answer parsing: turns what a rep typed or clicked into a legal answer value.

This is the offline path (no LLM) and also the first pass when an LLM is configured: an
explicit answer such as "4", "yes" or "35%" is never worth a model call. A failure always
carries a reason a rep can act on ("Please answer 1 to 5, or one of: ...").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from scoring.worksheet import AnswerType, Question

AnswerValue = int | float | str

_NUMBER_WORDS = {
    "zero": 0, "none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_YES = {"yes", "y", "yep", "yeah", "yup", "sure", "definitely", "absolutely", "correct", "true",
        "of course", "certainly", "affirmative", "ya", "yea", "si", "oui", "ja"}
_NO = {"no", "n", "nope", "nah", "never", "not really", "no way", "false", "negative",
       "not at all", "none"}
_UNSURE = {"unsure", "not sure", "dont know", "don't know", "do not know", "idk", "maybe",
           "perhaps", "no idea", "unknown", "n/a", "na", "dunno", "hard to say", "?",
           "not certain", "possibly"}

_NUM_RE = re.compile(r"^[+-]?(\d+(?:[.,]\d+)?|[.,]\d+)$")
_SCALE_OF_RE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(?:/|out of|of)\s*(\d+)$")
_PERCENT_RE = re.compile(r"^(-?\d+(?:[.,]\d+)?)\s*(%|percent|pct|per cent)?$")
# "4 - solid margin", "1) never": a number leading a label; not "3.5" or a range like "3-5"
_LEADING_NUMBER_RE = re.compile(r"^(\d+)\s*[-:.)—–]\s*[^\d\s]")
_NEGATIONS = {"not", "no", "never", "nor", "neither", "hardly", "barely", "cannot", "dont",
              "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "cant", "couldnt",
              "wouldnt", "shouldnt", "havent", "hasnt", "hadnt", "aint"}


@dataclass(frozen=True, slots=True)
class Parsed:
    """A legal answer value plus how to echo it back ("4 — Solid margin")."""

    value: AnswerValue
    display: str


@dataclass(frozen=True, slots=True)
class Unparsed:
    """Why the text is not an answer, phrased for the rep, with a hint of what would work."""

    reason: str
    hint: str


ParseResult = Parsed | Unparsed


def normalize(text: str) -> str:
    """Lower-case, accent-free, whitespace-collapsed text with trailing punctuation dropped."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(ch for ch in t
                if not unicodedata.combining(ch) and unicodedata.category(ch)[0] != "C")
    t = t.replace("\u2019", "'").lower().strip()
    t = re.sub(r"\s+", " ", t)
    return t.strip(" .!,;")


def hint_for(q: Question) -> str:
    """A one-line description of what a legal answer looks like."""
    t = q.type
    if t is AnswerType.SCALE:
        scale = ", ".join(f"{i} = {lab}" for i, lab in enumerate(q.labels, 1))
        return f"Answer 1 to 5 ({scale})."
    if t is AnswerType.YES_NO:
        return "Answer yes, no or not sure."
    if t is AnswerType.CHOICE:
        options = ", ".join(f"{i} = {c.label}" for i, c in enumerate(q.choices, 1))
        return f"Pick one: {options}."
    if t is AnswerType.PERCENT:
        lo, hi = q.bounds
        return f"Answer a percent from {lo:g} to {hi:g}, like 35%."
    if t is AnswerType.NUMBER:
        lo, hi = q.bounds
        return f"Answer a number from {lo:g} to {hi:g}."
    return "Type anything, or say skip."


def display_value(q: Question, value: AnswerValue) -> str:
    """How a stored value reads back to a person; used by echoes, reviews and look-ups."""
    t = q.type
    if t is AnswerType.SCALE:
        return f"{int(value)} — {q.labels[int(value) - 1]}"
    if t is AnswerType.YES_NO:
        return {"yes": "Yes", "no": "No", "unsure": "Not sure"}.get(str(value), str(value))
    if t is AnswerType.CHOICE:
        c = q.choice(str(value))
        return c.label if c else str(value)
    if t is AnswerType.PERCENT:
        return f"{float(value):g}%"
    if t is AnswerType.NUMBER:
        return f"{float(value):g}{(' ' + q.unit) if q.unit else ''}"
    return str(value)


def is_legal(q: Question, value: object) -> bool:
    """True when ``value`` is an answer the question accepts (used to vet LLM output too)."""
    t = q.type
    if isinstance(value, bool):
        return False
    if t is AnswerType.SCALE:
        return isinstance(value, int) and 1 <= value <= 5
    if t is AnswerType.YES_NO:
        return value in ("yes", "no", "unsure")
    if t is AnswerType.CHOICE:
        return isinstance(value, str) and q.choice(value) is not None
    if t in (AnswerType.PERCENT, AnswerType.NUMBER):
        lo, hi = q.bounds
        return isinstance(value, int | float) and lo <= value <= hi and value == value
    return isinstance(value, str) and 0 < len(value) <= 3000


def _ok(q: Question, value: AnswerValue) -> Parsed:
    return Parsed(value, display_value(q, value))


def _no(q: Question, reason: str) -> Unparsed:
    return Unparsed(reason, hint_for(q))


def _to_float(s: str) -> float | None:
    s = s.replace(",", ".") if s.count(",") == 1 and "." not in s else s.replace(",", "")
    try:
        return float(s)
    except ValueError:
        return None


def _number_in(text: str) -> float | None:
    """A bare number, a number word, or "x/y" (returned as x only when y matches the scale)."""
    if _NUM_RE.match(text):
        return _to_float(text)
    if text in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[text])
    return None


def _negations(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", text)
            if w in _NEGATIONS or w.endswith("n't")}


def _negated(text: str, phrase: str) -> bool:
    """True when ``text`` negates something ``phrase`` does not ("not likely" vs "Likely"),
    so a loose match on ``phrase`` would read the opposite of what was meant."""
    return bool(_negations(text) - _negations(phrase))


def _match_label(text: str, labels: list[str]) -> int | None:
    """Index of the label the text names: exact, then a unique containment either way."""
    norm = [normalize(lab) for lab in labels]
    if text in norm:
        return norm.index(text)
    norm = [lab if not _negated(text, lab) else "" for lab in norm]
    hits = [i for i, lab in enumerate(norm) if lab and (lab in text or text in lab)]
    if len(hits) == 1 and len(text) >= 3:
        return hits[0]
    words = set(re.findall(r"[a-z0-9']+", text))
    hits = [i for i, lab in enumerate(norm)
            if (lw := set(re.findall(r"[a-z0-9']+", lab))) and lw <= words]
    if len(hits) == 1:
        return hits[0]
    return None


def _parse_scale(q: Question, text: str) -> ParseResult:
    m = _SCALE_OF_RE.match(text)
    if m:
        num, den = _to_float(m.group(1)), _to_float(m.group(2))
        if den != 5:
            return _no(q, f"This question uses a 1-5 scale, not 1-{m.group(2)}.")
        text = m.group(1)
        n = num
    else:
        lead = _LEADING_NUMBER_RE.match(text)
        n = _number_in(lead.group(1) if lead else text)
    if n is not None:
        if n != int(n):
            return _no(q, f"{n:g} is not a whole number.")
        if not 1 <= n <= 5:
            return _no(q, f"{n:g} is out of range.")
        return _ok(q, int(n))
    idx = _match_label(text, list(q.labels))
    if idx is not None:
        return _ok(q, idx + 1)
    return _no(q, "I couldn't read that as a 1-5 answer.")


def _parse_yes_no(q: Question, text: str) -> ParseResult:
    for value, words in (("unsure", _UNSURE), ("yes", _YES), ("no", _NO)):
        if text in words:
            return _ok(q, value)
    if any(text.startswith(u) and not text[len(u):len(u) + 1].isalnum()
           for u in _UNSURE if " " in u):
        return _ok(q, "unsure")  # "no idea tbh", "not sure yet": not a "no"
    first = re.split(r"[\s,.;!-]+", text, maxsplit=1)[0]
    if first in ("yes", "y", "yep", "yeah", "yup"):
        return _ok(q, "yes")
    if first in ("no", "nope", "nah"):
        return _ok(q, "no")
    return _no(q, "I couldn't tell if that was a yes or a no.")


def _parse_choice(q: Question, text: str) -> ParseResult:
    for c in q.choices:
        if text == c.key:
            return _ok(q, c.key)
    lead = _LEADING_NUMBER_RE.match(text)
    n = _number_in(lead.group(1) if lead else text)
    if n is not None:
        if n == int(n) and 1 <= n <= len(q.choices):
            return _ok(q, q.choices[int(n) - 1].key)
        return _no(q, f"There is no choice {n:g}.")
    idx = _match_label(text, [c.label for c in q.choices])
    if idx is not None:
        return _ok(q, q.choices[idx].key)
    syn_hits = {c.key for c in q.choices for s in c.synonyms
                if normalize(s) in text and not _negated(text, normalize(s))}
    if len(syn_hits) == 1:
        return _ok(q, syn_hits.pop())
    return _no(q, "That doesn't match any of the choices.")


def _parse_numeric(q: Question, text: str) -> ParseResult:
    t = text.replace("about", "").replace("around", "").replace("roughly", "").replace("~", "")
    t = t.strip()
    m = _PERCENT_RE.match(t)
    n = _to_float(m.group(1)) if m else _number_in(t)
    if n is None:
        kind = "a percent" if q.type is AnswerType.PERCENT else "a number"
        return _no(q, f"I couldn't read that as {kind}.")
    lo, hi = q.bounds
    if not lo <= n <= hi:
        return _no(q, f"{n:g} is out of range.")
    return _ok(q, int(n) if n == int(n) else n)


def parse_answer(q: Question, raw: str) -> ParseResult:
    """Parse ``raw`` (typed text or a button value) for question ``q``."""
    if q.type is AnswerType.TEXT:
        cleaned = raw.strip()
        if not cleaned:
            return _no(q, "That was empty.")
        if len(cleaned) > 3000:
            return _no(q, "That note is too long (3,000 characters at most).")
        return Parsed(cleaned, cleaned)
    text = normalize(raw)
    if not text:
        return _no(q, "That was empty.")
    if len(text) > 500:
        return _no(q, "That answer is too long for this question.")
    if q.type is AnswerType.SCALE:
        return _parse_scale(q, text)
    if q.type is AnswerType.YES_NO:
        return _parse_yes_no(q, text)
    if q.type is AnswerType.CHOICE:
        return _parse_choice(q, text)
    return _parse_numeric(q, text)
