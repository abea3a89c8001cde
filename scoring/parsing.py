"""Rule-based answer parsing: turns what a rep typed or clicked into a legal answer value.

This is the offline path (no LLM) and also the first pass when an LLM is configured: an
explicit answer such as "4", "yes" or "35%" is never worth a model call. A failure always
carries a reason a rep can act on ("Please answer 1 to 5, or one of: ...").

Two passes. The strict pass reads the explicit forms (a number, a button value, a label, a
synonym) and says why it refused. When it refuses, the loose pass tries what busy reps type
("~3% of revenue", "prob a 7", "pretty solid", "coin flip tbh", "4ish", "9/10"). Rules
readings are recorded without a confirmation, so both passes refuse whatever could mean two
things: a refusal only costs a re-ask, a wrong reading silently skews a grade.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

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

_YES_LEAD = frozenset({"yes", "y", "yep", "yeah", "yup", "definitely", "absolutely",
                       "certainly", "sure"})
_NO_LEAD = frozenset({"no", "nope", "nah"})

_NUM_RE = re.compile(r"^[+-]?(\d+(?:[.,]\d+)?|[.,]\d+)$")
_SCALE_OF_RE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(?:/|out of|of)\s*(\d+)$")
_PERCENT_RE = re.compile(r"^(-?\d+(?:[.,]\d+)?)\s*(%|percent|pct|per cent)?$")
# "4 - solid margin", "1) never": a number leading a label; not "3.5" or a range like "3-5"
_LEADING_NUMBER_RE = re.compile(r"^(\d+)\s*[-:.)—–]\s*[^\d\s]")
_NEGATIONS = {"not", "no", "never", "nor", "neither", "hardly", "barely", "cannot", "dont",
              "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "cant", "couldnt",
              "wouldnt", "shouldnt", "havent", "hasnt", "hadnt", "aint"}
# Words that take back or swap what was said ("4, actually 5", "thin or solid"): never read.
_RETRACTIONS = {"or", "either", "actually", "wait", "sorry", "correction", "rather", "instead",
                "jk", "kidding", "scratch", "mean"}
# Small words that name no answer on their own ("not" or "it is" is no label).
_STOPWORDS = {"a", "an", "the", "it", "is", "of", "to", "we", "they", "them", "us", "our",
              "their", "on", "in", "and", "or", "are", "be", "for", "at", "if", "so", "as", "by",
              "with", "all", "would", "will", "have", "has", "that", "this"}


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
    # a reading worth offering but not recording ("3-8%" spans two bands): the rep confirms it
    suggestion: AnswerValue | None = None


ParseResult = Parsed | Unparsed


def normalize(text: str) -> str:
    """Lower-case, accent-free, whitespace-collapsed text with trailing punctuation dropped."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(ch for ch in t
                if not unicodedata.combining(ch) and unicodedata.category(ch)[0] != "C")
    t = t.replace("\u2019", "'").lower().strip()
    return _trim(re.sub(r"\s+", " ", t))


def _trim(text: str) -> str:
    """``text`` without spaces and punctuation at its ends; ".5%" keeps its point."""
    return re.sub(r"^(?:[ !,;]|\.(?!\d))+", "", text.rstrip(" .!,;"))


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
    """A number with a decimal comma ("3,5") or point; "1,000" groups thousands (not 1)."""
    if re.fullmatch(r"[1-9]\d{0,2}(?:,\d{3})+", s):
        s = s.replace(",", "")
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


@lru_cache(maxsize=4096)
def _negations(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[a-z0-9']+", text)
            if w in _NEGATIONS or w.endswith("n't"))


def _negated(text: str, phrase: str) -> bool:
    """True when ``text`` negates something ``phrase`` does not ("not likely" vs "Likely"),
    so a loose match on ``phrase`` would read the opposite of what was meant."""
    return bool(_negations(text) - _negations(phrase))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text)


@lru_cache(maxsize=4096)
def _forms(text: str) -> frozenset[str]:
    """The text's words, space-joined, in both hyphen spellings: "mis-fit" is "mis fit" and
    "misfit"; punctuation between words is dropped ("somewhat, clearly")."""
    return frozenset((" ".join(re.findall(r"[a-z0-9']+", text.replace("-", " "))),
                      " ".join(re.findall(r"[a-z0-9']+", text.replace("-", "")))))


def _within(small: str, big: str) -> bool:
    """``small`` occurs in ``big`` as whole words, in any hyphen spelling."""
    return any(f" {a} " in f" {b} " for a in _forms(small) for b in _forms(big))


@lru_cache(maxsize=1024)
def _norm(label: str) -> str:
    """``normalize`` for the sheet's own phrases, which every answer is compared with."""
    return normalize(label)


def _topic(q: Question) -> frozenset[str]:
    """The words of the question's own name ("Outcomes delivered"): saying "some outcomes"
    echoes the question, it does not name the label "Clear outcomes"."""
    return frozenset(_words(_norm(q.label).replace("-", " "))) - _STOPWORDS


def _says_another(text: str, idx: int, named: list[tuple[int, str]],
                  topic: frozenset[str]) -> bool:
    """True when words of ``text`` beyond answer ``idx`` belong to another answer only
    ("unlikely, very" holds Unlikely, and "very" of Very unlikely): the rep may mean that one.
    ``named`` pairs each answer's index with a way of naming it."""
    def words(i_is_idx: bool) -> set[str]:
        return {w for i, name in named if (i == idx) == i_is_idx
                for w in _words(name.replace("-", " "))}

    extra = set(_words(text.replace("-", " "))) - words(True) - _STOPWORDS - _NEGATIONS - topic
    return bool(extra & words(False))


def _match_label(text: str, labels: list[str], topic: frozenset[str]) -> int | None:
    """Index of the label the text names: exact, then a unique whole-word containment either
    way, then a unique label whose words all occur. Not for a question ("good fit?"), a
    retraction ("solid, actually thin"), a negation only one side has, or a text whose other
    words belong to another label ("unlikely, very")."""
    norm = [_norm(lab) for lab in labels]
    if text in norm:
        return norm.index(text)
    if "?" in text or set(_words(text)) & _RETRACTIONS - {w for lab in norm for w in _words(lab)}:
        return None  # "good fit?", "solid margin, actually thin", "break even or thin"
    # a negation on either side only ("not likely", or "almost certainly" for "... not") bars it
    names = list(enumerate(norm))
    norm = [lab if _negations(text) == _negations(lab) else "" for lab in norm]
    hits = [i for i, lab in enumerate(norm) if lab and (_within(lab, text) or _within(text, lab))]
    if len(hits) == 1 and len(text) >= 3 and not _says_another(text, hits[0], names, topic):
        return hits[0]
    words = set(re.findall(r"[a-z0-9']+", text))
    hits = [i for i, lab in enumerate(norm)
            if (lw := set(re.findall(r"[a-z0-9']+", lab))) and lw <= words]
    if len(hits) == 1 and not _says_another(text, hits[0], names, topic):
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
    idx = _match_label(text, list(q.labels), _topic(q))
    if idx is not None and not _contradicting_numbers(text, idx + 1, 5) and not _said_keys(
            text, _says_options(q, ("1", "2", "3", "4", "5"))) - {str(idx + 1)}:
        return _ok(q, idx + 1)  # (not "thin margin, but profitable": that says 4 as well)
    return _no(q, "I couldn't read that as a 1-5 answer.")


def _parse_yes_no(q: Question, text: str) -> ParseResult:
    for value, words in (("unsure", _UNSURE), ("yes", _YES), ("no", _NO)):
        if text in words:
            return _ok(q, value)
    if any(text.startswith(u) and not text[len(u):len(u) + 1].isalnum()
           for u in _UNSURE if " " in u):
        return _ok(q, "unsure")  # "no idea tbh", "not sure yet": not a "no"
    first, *rest = re.split(r"[\s,.;!/-]+", text)
    for value, lead, opposite in (("yes", _YES_LEAD, _NO_LEAD), ("no", _NO_LEAD, _YES_LEAD)):
        if first in lead and not opposite & set(rest):  # "yes and no" is neither
            if value == "yes" and _negations(" ".join(rest)):
                return _no(q, "I couldn't tell if that was a yes or a no.")  # "yeah, not ours"
            return _ok(q, value)
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
    idx = _match_label(text, [c.label for c in q.choices], _topic(q))
    syn_hits = {c.key for c in q.choices for s in c.synonyms if "?" not in text
                and _norm(s) in text and not _negated(text, _norm(s))}
    key = q.choices[idx].key if idx is not None else (
        next(iter(syn_hits)) if len(syn_hits) == 1 else None)
    if key is not None and not _phrase_keys(q, text) - {key} and (
            idx is not None or not _takes_back(q, text)):
        return _ok(q, key)
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
    result = _parse_strict(q, text)
    if isinstance(result, Parsed):
        return result
    return _parse_loose(q, text) or _suggestion(q, text) or result


def _parse_strict(q: Question, text: str) -> ParseResult:
    """The explicit forms: a number, a button value, a label, a synonym (and why not)."""
    if q.type is AnswerType.SCALE:
        return _parse_scale(q, text)
    if q.type is AnswerType.YES_NO:
        return _parse_yes_no(q, text)
    if q.type is AnswerType.CHOICE:
        return _parse_choice(q, text)
    return _parse_numeric(q, text)


# ------------------------------------------------------------------------------------------
# The loose pass. It returns a reading or None, never a reason (the strict pass's reason stays
# the one the rep sees), and leaves alone alternatives ("4 or 5"), ranges ("2-3"), comparisons
# ("under 5%"), negations ("not a good fit"), questions ("4?"), conditions ("a 9 if we fix
# support") and corrections ("4, actually 5").

def _word_numbers() -> dict[str, int]:
    """Number words from zero to a hundred ("seven", "twenty five", "forty-two")."""
    units = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    teens = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
             "seventeen", "eighteen", "nineteen"]
    tens = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    words = {w: i for i, w in enumerate(units)} | {w: 10 + i for i, w in enumerate(teens)}
    for i, ten in enumerate(tens):
        words[ten] = 20 + 10 * i
        for j, unit in enumerate(units[1:], 1):
            words[f"{ten} {unit}"] = words[f"{ten}-{unit}"] = 20 + 10 * i + j
    words["hundred"] = words["a hundred"] = words["one hundred"] = 100
    return words



class _Lazy:
    """A regular expression compiled when first used. The number patterns below spell out
    every number word, several times over: compiling them took ~70 ms, which every process
    importing ``scoring`` paid at start-up, the CLI look-ups that read no answer too."""

    __slots__ = ("_compiled", "_pattern")

    def __init__(self, pattern: str) -> None:
        self._pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def _rx(self) -> re.Pattern[str]:
        if self._compiled is None:  # (two threads may both compile it: the same pattern)
            self._compiled = re.compile(self._pattern)
        return self._compiled

    def search(self, text: str) -> re.Match[str] | None:
        return self._rx().search(text)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self._rx().fullmatch(text)


_WORD_NUMS = _word_numbers()
_WORD_ALT = "|".join(re.escape(w) for w in sorted(_WORD_NUMS, key=len, reverse=True))
_NUM = rf"(?:\d+(?:[.,]\d+)?|[.,]\d+|\b(?:{_WORD_ALT})\b)"
_NUMBER_TOKEN_RE = _Lazy(rf"\d|\b(?:{_WORD_ALT})\b")
# hedges in front of a value: "~3", "about 3", "prob a 7", "say 40"
_APPROX = (r"(?:(?:~|≈|\+/-)\s*|(?:about|around|roughly|approx|approximately|circa|ca|est|"
           r"estimated|maybe|probably|prob|probs|like|say|call it|i would guess|guess|"
           r"solid|strong|firm|easy|good|decent|"
           r"an?)\s+)*")
_ISH = r"(?:\s*-?\s*ish)?"  # "4ish", "3 -ish", "3%ish"
_VALUE_RE = _Lazy(
    rf"{_APPROX}(?P<n>{_NUM}){_ISH}(?:\s*(?:/|out of|of)\s*(?P<d>{_NUM}))?{_ISH}")
_PERCENT_VALUE_RE = _Lazy(
    rf"{_APPROX}(?P<n>{_NUM}){_ISH}\s*(?:%|percent|per cent|pct){_ISH}"
    r"(?:\s+of\s+(?P<of>[a-z' ]+))?")
_FRACTIONS = {"half": 50.0, "third": 33.3, "quarter": 25.0, "fifth": 20.0, "tenth": 10.0}
_FRACTION_RE = re.compile(
    rf"{_APPROX}(?:(?:a|one)\s+(?P<f>half|third|quarter|fifth|tenth)|(?P<h>half))"
    r"(?:\s+of\s+(?P<of>[a-z' ]+))?")
# "they'd give us a 9", "NPS last time was 7": a score said in a sentence (number questions)
_SCORE_TAIL = rf"{_APPROX}(?P<n>{_NUM}){_ISH}(?:\s*(?:/|out of)\s*(?P<d>{_NUM}))?{_ISH}$"
_SCORE_RES = (
    _Lazy(r"\b(?:gives?|gave|giving|rates?|rated|rating|scores?|scored|scoring|puts?|"
               r"grades?|graded)\s+(?:(?:us|it|them|me|him|her)\s+)?(?:(?:at|as)\s+)?"
               + _SCORE_TAIL),
    _Lazy(r"\b(?:nps|score|rating)\b(?:\s+[a-z']+){0,4}?\s*(?:is|was|were|of|at|=|:)\s*"
               + _SCORE_TAIL),
)

# Words that carry no answer, dropped from either end ("good fit tbh", "hmm, some").
_FILLERS = ("tbh", "to be honest", "honestly", "imo", "imho", "i think", "i guess",
            "i would say", "id say", "i reckon", "i believe", "i feel like", "hmm", "hmmm", "hm",
            "um", "umm", "uh", "erm", "well", "ok", "okay", "so", "oh", "lol", "haha", "tho",
            "though", "overall", "for now", "atm", "at the moment", "right now", "currently",
            "so far", "still", "just", "really", "pretty", "pretty much", "fairly", "quite",
            "it is", "that is")
# Hedges: doubt about a value the rep still gives ("probably a 6", "5% give or take"). Not used
# for yes/no, where "maybe yes" is not a yes.
_HEDGES = ("probably", "prob", "probs", "maybe", "perhaps", "i would guess", "my guess is",
           "my guess", "guess", "or so", "give or take", "ish", "roughly", "about", "around",
           "approximately", "approx", "circa")


def _edge_re(phrases: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns for one of ``phrases`` leading or trailing a text, as a word or before a comma."""
    alt = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return (re.compile(rf"^(?:{alt})(?:\s*,\s*|\s+)(?=\S)"),
            re.compile(rf"(?<=\S)(?:\s*,\s*|\s+)(?:{alt})$"))


_FILLER_EDGES = _edge_re(_FILLERS)
_HEDGE_EDGES = _edge_re(_FILLERS + _HEDGES)

_CONTRACTIONS = tuple((re.compile(p), r) for p, r in (
    (r"\bwon't\b", "will not"), (r"\bcan't\b", "can not"), (r"\bain't\b", "is not"),
    (r"n't\b", " not"), (r"\b(it|that|there|what|he|she)'s\b", r"\1 is"), (r"'re\b", " are"),
    (r"'ve\b", " have"), (r"'ll\b", " will"), (r"'d\b", " would"), (r"\bi'm\b", "i am")))
_SHORTCODE_RE = re.compile(r":[a-z0-9_+'-]*[a-z+][a-z0-9_+'-]*:")  # Slack's :emoji: codes
_THUMBS_UP = {"👍", ":+1:", ":thumbsup:", ":thumbs_up:", "✅", ":white_check_mark:", "✔",
              ":heavy_check_mark:", "☑", ":ballot_box_with_check:"}
_THUMBS_DOWN = {"👎", ":-1:", ":thumbsdown:", ":thumbs_down:", "❌", ":x:", "✖",
                ":heavy_multiplication_x:"}
# Clause breaks: "probably a 6, they grumble a lot" is an answer, then commentary.
_CLAUSE_RE = re.compile(r"\s*,(?=\s|[a-z])\s*|\s*;\s*|\s*\(\s*|\s+[-–—]+\s+|:\s+|\s+but\s+")
# Words that condition or bound a value ("a 9 if ...", "under 5%"): a number near them is no
# reading.
_QUALIFIERS = _RETRACTIONS | {
    "if", "unless", "once", "when", "after", "before", "used", "hope", "hoping", "want", "wants",
    "wanted", "target", "goal", "aim", "should", "above", "below", "under", "over", "than",
    "least", "most", "up", "upto", "nearly", "almost", "close", "between", "from", "max", "min",
    "tops", "plus"}
# A comment about another time or a wish ("used to be solid", "hoping for more"), not an answer
_ELSEWHEN = {"used", "hope", "hoping", "want", "wants", "wanted", "target", "goal", "aim",
             "should", "could", "would", "was", "were", "last", "before", "previously"}
# "50/50", "coin flip": even odds, read as a label that says so ("Coin toss")
_EVEN_ODDS = {"50/50", "50-50", "50 50", "fifty fifty", "fifty-fifty", "coin flip", "coinflip",
              "toss up", "toss-up", "tossup", "flip of a coin", "even odds"}


def _tidy(text: str) -> str:
    """Normalized text without emoji or Slack :codes:, contractions spelled out ("they're" →
    "they are"), so labels match however they were typed."""
    t = _SHORTCODE_RE.sub(" ", text)
    t = "".join(" " if unicodedata.category(ch) in ("So", "Sk") else ch for ch in t)
    for pattern, repl in _CONTRACTIONS:
        t = pattern.sub(repl, t)
    return _trim(re.sub(r"\s+", " ", t))


@lru_cache(maxsize=1024)
def _canon(phrase: str) -> str:
    """A label or synonym as the loose pass compares it (normalized and tidied)."""
    return _tidy(_norm(phrase))


def _strip_edges(text: str, edges: tuple[re.Pattern[str], re.Pattern[str]]) -> str:
    """``text`` without filler phrases at either end; never strips it to nothing."""
    lead, trail = edges
    while True:
        shorter = _trim(trail.sub("", lead.sub("", text)))
        if shorter == text or not shorter:
            return text
        text = shorter


@lru_cache(maxsize=4096)
def _has_content(text: str) -> bool:
    """True when something is left besides negations and small words ("not" is no answer)."""
    return any(w not in _STOPWORDS and w not in _NEGATIONS for w in _words(text))


def _has_number(text: str) -> bool:
    return _NUMBER_TOKEN_RE.search(text) is not None


def _num(token: str) -> float | None:
    return float(_WORD_NUMS[token]) if token in _WORD_NUMS else _to_float(token)


def _stem(word: str) -> str:
    """A crude stem, so "losing"/"lose", "margins"/"margin", "disputes"/"disputing" meet."""
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("es") and len(word) > 4:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


@lru_cache(maxsize=4096)
def _stems(text: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in re.findall(r"[a-z0-9]+", text.replace("-", " "))
                 if w != "ish")


@lru_cache(maxsize=512)
def _label_variants(label: str) -> tuple[str, ...]:
    """A label and the shorter ways reps say it: "Low - they pay on time" is also "low" and
    "they pay on time"; "Most or all of it" is also "most of it" and "all of it";
    "Break-even-ish" is also "break-even"."""
    base = _canon(label)
    out = [base]
    head, sep, rest = base.partition(" - ")
    if sep:
        out += [head, rest]
    for v in list(out):
        if m := re.search(r"\b(\w+) or (\w+)\b", v):
            out += [v[:m.start()] + m.group(i) + v[m.end():] for i in (1, 2)]
    out += [re.sub(r"-?ish\b", "", v).strip(" -") for v in out if re.search(r"-ish\b", v)]
    return tuple(dict.fromkeys(v for v in out if v))


def _osa(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit ("likley" → "likely")."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def _unique(hits: list[tuple[int, str]], contains: Callable[[str, str], bool]) -> int | None:
    """The one label the hits point to; or, when one hit says more than all the others
    ("very unlikely" over "unlikely"), that one; else None (ambiguous)."""
    indices = {i for i, _ in hits}
    if len(indices) == 1:
        return indices.pop()
    tops = {i for i, v in hits
            if all(j == i or (contains(w, v) and w != v) for j, w in hits)}
    return tops.pop() if len(tops) == 1 else None


def _label_index(text: str, variants: list[tuple[int, str]],
                 topic: frozenset[str]) -> int | None:
    """Which label ``text`` names, from the strictest test to the loosest; a test that finds
    two labels stops the search (a looser test would only guess between them)."""
    live = [(i, v) for i, v in variants if _negations(text) == _negations(v)
            and not (set(_words(text)) & _RETRACTIONS) - set(_words(v))]
    exact = [(i, v) for i, v in live if _forms(v) & _forms(text)]
    if exact:
        return _unique(exact, _within)
    inside = [(i, v) for i, v in live if _has_content(v) and _within(v, text)]
    if inside:
        idx = _unique(inside, _within)
        return None if idx is None or _says_another(text, idx, variants, topic) else idx
    inside = [(i, v) for i, v in live if _has_content(text) and len(text) >= 3
              and _within(text, v)]
    if inside:
        return _unique(inside, _within)
    words = set(_stems(text))
    subset = [(i, v) for i, v in live if _has_content(v) and set(_stems(v)) <= words]
    if subset:
        return _unique(subset, lambda a, b: set(_stems(a)) < set(_stems(b)))
    return _typo_index(text, live)


def _typo_index(text: str, variants: list[tuple[int, str]]) -> int | None:
    """One slip of the keyboard ("bullsye", "likley") away from exactly one label, and no
    other label nearly as close; short words are never corrected (too many neighbours)."""
    if not 5 <= len(text) <= 40:
        return None
    dist = [(i, v, _osa(text, v)) for i, v in variants if abs(len(v) - len(text)) <= 2]
    close = {i for i, v, d in dist if d <= 1 and len(v) >= 5}
    near = {i for i, _, d in dist if d <= 2}
    return close.pop() if len(close) == 1 and near == close else None


def _even_odds(text: str) -> bool:
    """ "50/50", "a coin flip", "it is a toss-up": even odds, said as an idiom."""
    return re.sub(r"^(?:it is |that is )?(?:an? )?", "", text) in _EVEN_ODDS


def _loose_label(q: Question, text: str, labels: list[str]) -> int | None:
    """The label ``text`` names, tolerating hyphens, plurals, contractions, a typo, a label's
    short form ("low" for "Low - they pay on time"), and "50/50" for a label that says
    "coin toss" (the even-odds idioms are general; the label decides whether one applies)."""
    variants = [(i, v) for i, lab in enumerate(labels) for v in _label_variants(lab)]
    return _label_index("coin toss" if _even_odds(text) else text, variants, _topic(q))


def _in_order(needle: tuple[str, ...], hay: tuple[str, ...], gap: int = 3) -> bool:
    """``needle`` occurs in ``hay`` in order, with at most ``gap`` words between any two."""
    for start, word in enumerate(hay):
        if word != needle[0]:
            continue
        pos = start
        for w in needle[1:]:
            nxt = next((j for j in range(pos + 1, min(pos + 2 + gap, len(hay))) if hay[j] == w),
                       None)
            if nxt is None:
                break
            pos = nxt
        else:
            return True
    return False


def _phrase_keys(q: Question, text: str) -> set[str]:
    """Choices whose label or synonym the text says in so many words (see ``_said_keys``)."""
    return _said_keys(text, [(c.key, (*_label_variants(c.label),
                                      *(_canon(s) for s in c.synonyms))) for c in q.choices])


def _said_keys(text: str, options: list[tuple[str, tuple[str, ...]]]) -> set[str]:
    """The answers (keys) whose phrases the text says in so many words, in order, a few
    words apart at most ("never been late" says "never late"), and does not negate or take
    back. A phrase inside a longer phrase of another answer gives way to it ("very
    profitable" says 5, not the "profitable" of 4). Two keys left mean the text says two
    things ("they pay on time but always late"): the caller refuses."""
    words = _stems(_tidy(text))
    hits = [(key, st) for key, phrases in options for p in phrases
            if _has_content(p) and not _negated(text, p)
            and (st := _stems(p)) and _in_order(st, words)]
    return {key for key, st in hits
            if not any(k != key and len(longer) > len(st) and _in_order(st, longer, gap=0)
                       for k, longer in hits)}


def said_values(q: Question, text: str) -> set[AnswerValue]:
    """Every answer the text names by the worksheet's own words (labels, synonyms, ``says``),
    unnegated; several when it names several. Not a reading: a check for readings made
    elsewhere (an LLM's "1 — Not at all" for "a nonprofit food bank", which says 4)."""
    clauses = [c for c in _CLAUSE_RE.split(normalize(text)) if c.strip()]
    if len(clauses) > 1:  # "can't tell, could go either way": each clause on its own
        return {v for c in clauses for v in said_values(q, c)}
    t = normalize(text)
    if q.type is AnswerType.CHOICE:
        return set(_phrase_keys(q, t))
    if q.type is AnswerType.SCALE:
        opts = [(str(i), (*_label_variants(lab), *(_canon(p) for p in q.said(str(i)))))
                for i, lab in enumerate(q.labels, 1)]
        return {int(k) for k in _said_keys(t, opts)}
    if q.type is AnswerType.YES_NO:
        return set(_said_keys(t, _says_options(q, ("yes", "no", "unsure"))))
    return set()


def _takes_back(q: Question, text: str) -> bool:
    """The text swaps or corrects what it says ("solid, actually thin", "on time or late"),
    with a word no answer of the question uses."""
    return bool(set(_words(text)) & _RETRACTIONS - _answer_words(q))


def _says_options(q: Question, values: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """A scale's or yes/no question's other phrasings (the worksheet's ``says``), by value."""
    return [(v, tuple(_canon(p) for p in q.said(v))) for v in values if q.said(v)]


def _contradicting_numbers(text: str, value: int, top: int) -> bool:
    """True when the text also holds a different number that could be the answer ("maybe 4"
    is not the label Maybe; "phase 2" beside "already in motion" is left to a person)."""
    found = [_to_float(t) for t in re.findall(r"\b\d+(?:[.,]\d+)?\b", text)]
    found += [float(_WORD_NUMS[w]) for w in _words(text) if w in _WORD_NUMS]
    return any(n is not None and 1 <= n <= top and n != value for n in found)


def _of_the_question(q: Question, words: str | None) -> bool:
    """True for an "of ..." tail that only echoes the question ("3% of our revenue" for
    "what share of our revenue"), not one that changes the base ("3% of what it was")."""
    if words is None:
        return True
    own = set(_words(normalize(f"{q.prompt} {q.label}"))) | {"the", "total", "all", "overall"}
    return set(_words(words)) <= own - _QUALIFIERS


def _value(text: str, den: float) -> float | None:
    """A hedged number ("~3", "4ish", "prob a 7", "ten out of ten"); a denominator must be
    the top of the question's range (so "7/10" on a 1-5 scale is not a 7)."""
    m = _VALUE_RE.fullmatch(text)
    if m is None or (m["d"] is not None and _num(m["d"]) != den):
        return None
    return _num(m["n"])


def _score_value(text: str, den: float) -> float | None:
    """A score said in a sentence ("they'd give us a 9"), when nothing else in it is a number,
    a negation or a condition."""
    if _negations(text):
        return None
    for rx in _SCORE_RES:
        m = rx.search(text)
        if m is None or (m["d"] is not None and _num(m["d"]) != den):
            continue
        prefix = text[:m.start("n")]
        if not _has_number(prefix) and not set(_words(prefix)) & _QUALIFIERS:
            return _num(m["n"])
    return None


def _percent_value(q: Question, text: str) -> float | None:
    """"~3%", "3ish %", "40 percent of revenue", "a fifth of our revenue", "35/100"."""
    m = _PERCENT_VALUE_RE.fullmatch(text)
    if m and _of_the_question(q, m["of"]):
        return _num(m["n"])
    m = _FRACTION_RE.fullmatch(text)
    if m and _of_the_question(q, m["of"]):
        return _FRACTIONS[m["f"] or "half"]
    return _value(text, q.bounds[1])


_UNITS = r"(?:\s*(?:%|percent|per cent|pct))?"
_RANGE_RES = (
    _Lazy(rf"{_APPROX}(?:between\s+)?(?P<a>{_NUM}){_UNITS}\s*(?:-|–|—|to|and)\s*"
               rf"(?P<b>{_NUM}){_UNITS}(?:\s+of\s+(?P<of>[a-z' ]+))?"),
)
_OPEN_RE = _Lazy(
    rf"(?P<op>less than|fewer than|under|below|at most|up to|no more than|max|<|<=|"
    rf"more than|over|above|at least|>|>=)\s*{_APPROX}(?P<n>{_NUM}){_UNITS}"
    r"(?:\s+of\s+(?P<of>[a-z' ]+))?")
_BELOW = {"less than", "fewer than", "under", "below", "at most", "up to", "no more than",
          "max", "<", "<="}
# Net Promoter words, for a 0-10 question: the standard NPS groups
_NPS = {"promoter": (9.0, 10.0), "rave": (9.0, 10.0), "raving": (9.0, 10.0),
        "passive": (7.0, 8.0), "detractor": (0.0, 6.0)}


def _range_of(q: Question, text: str) -> tuple[float, float, bool] | None:
    """A span the text gives instead of one number: "3-5%", "8 to 10 percent", "between 3
    and 5", "promoter" (9-10, on a 0-10 question); ``closed`` is False for "less than 1%"."""
    t = _tidy(text)
    lo, hi = q.bounds
    for rx in _RANGE_RES:
        m = rx.fullmatch(t)
        if m and _of_the_question(q, m["of"]):
            a, b = _num(m["a"]), _num(m["b"])
            if a is not None and b is not None and lo <= a < b <= hi:
                return a, b, True
            return None
    m = _OPEN_RE.fullmatch(t)
    if m and _of_the_question(q, m["of"]) and (n := _num(m["n"])) is not None and lo <= n <= hi:
        return (lo, n, False) if m["op"] in _BELOW else (n, hi, False)
    if q.type is AnswerType.NUMBER and (lo, hi) == (0, 10) and not _negations(t) \
            and "?" not in t and not _has_number(t) and not set(_words(t)) & _RETRACTIONS:
        groups = {span for word, span in _NPS.items() if _stem(word) in _stems(t)}
        if len(groups) == 1:
            a, b = groups.pop()
            return a, b, True
    return None


def _band_index(q: Question, v: float) -> int | None:
    return next((i for i, band in enumerate(q.bands) if v <= band.upto), None)


def _one_band(q: Question, a: float, b: float) -> bool:
    """Both ends score the same: any value between them would give the same grade."""
    return bool(q.bands) and _band_index(q, a) == _band_index(q, b) is not None


def _midpoint(q: Question, a: float, b: float) -> AnswerValue:
    """The middle of a span; a whole number on number questions (scores are whole: 9-10 is
    recorded as 9, which scores as 10 would when both share a band)."""
    mid = (a + b) / 2
    if q.type is AnswerType.NUMBER:
        mid = float(int(mid))
    return int(mid) if mid == int(mid) else round(mid, 2)


def _span_text(q: Question, a: float, b: float) -> str:
    return f"{a:g}-{b:g}{'%' if q.type is AnswerType.PERCENT else ''}"


def _suggestion(q: Question, text: str) -> Unparsed | None:
    """A span that crosses a band, or has one open end: the middle is offered, never recorded
    (the rep taps it, or types a number)."""
    if q.type not in (AnswerType.NUMBER, AnswerType.PERCENT):
        return None
    span = _range_of(q, text)
    if span is None:
        return None
    a, b, closed = span
    lo = q.bounds[0]
    value = _midpoint(q, a, b) if closed or a == lo else (int(a) if a == int(a) else a)
    said = _span_text(q, a, b) if closed else text.strip()
    return Unparsed(f"{said} could score differently depending on the exact figure.",
                    hint_for(q), suggestion=value)


def _loose_numeric(q: Question, text: str) -> Parsed | None:
    """A hedged number, a fraction (percent), a range inside one band ("3-5%"), an NPS word
    ("promoter") or a score said in a sentence (number)."""
    lo, hi = q.bounds
    span = _range_of(q, text)
    if span is not None:
        a, b, closed = span
        if closed and _one_band(q, a, b):
            mid = _midpoint(q, a, b)
            return Parsed(mid, f"{display_value(q, mid)} (you said {_span_text(q, a, b)})")
        return None  # two bands, or open-ended: offered as a suggestion, never recorded
    if q.type is AnswerType.PERCENT:
        n = _percent_value(q, text)
    else:
        n = _value(text, hi)
        n = _score_value(text, hi) if n is None else n
    if n is None or not lo <= n <= hi:
        return None
    return _ok(q, int(n) if n == int(n) else n)


def _loose_scale(q: Question, text: str) -> Parsed | None:
    """A hedged whole number 1-5 ("4ish", "a 4", "about 4/5"), else a label said loosely."""
    if _even_odds(text):  # before the numbers: "50/50" is no 50
        idx = _loose_label(q, text, list(q.labels))
        return _ok(q, idx + 1) if idx is not None else None
    if _VALUE_RE.fullmatch(text):
        n = _value(text, 5)
        return _ok(q, int(n)) if n is not None and n == int(n) and 1 <= n <= 5 else None
    if re.search(r"\d", text):
        return None  # a number we cannot read: the words around it are no safer
    idx = _loose_label(q, text, list(q.labels))
    keys = set() if _takes_back(q, text) else _said_keys(
        text, _says_options(q, ("1", "2", "3", "4", "5")))
    if idx is not None:
        keys.add(str(idx + 1))
    if len(keys) != 1:
        return None  # nothing said, or two answers said ("thin margin, but profitable")
    value = int(keys.pop())
    return None if _contradicting_numbers(text, value, 5) else _ok(q, value)


def _loose_choice(q: Question, text: str) -> Parsed | None:
    """A choice named loosely, by label or by synonym, and by nothing that names another."""
    if re.search(r"\d", text) or _takes_back(q, text):
        return None
    keys = _phrase_keys(q, text)
    idx = _loose_label(q, text, [c.label for c in q.choices])
    if idx is not None:
        keys.add(q.choices[idx].key)
    return _ok(q, keys.pop()) if len(keys) == 1 else None


def _loose_yes_no(q: Question, text: str) -> Parsed | None:
    """Thumbs up or down alone, fillers ("honestly no"), and a doubtful "maybe?"."""
    bare = re.sub(r":skin-tone-\d:", "", text)
    bare = "".join(ch for ch in bare if unicodedata.category(ch) != "Sk" and ch != "\ufe0f")
    if bare.strip() in _THUMBS_UP | _THUMBS_DOWN:
        return _ok(q, "yes" if bare.strip() in _THUMBS_UP else "no")
    t = _strip_edges(_tidy(text), _FILLER_EDGES)
    if "?" in t:
        return _ok(q, "unsure") if t.rstrip("? ") in _UNSURE else None
    result = _parse_yes_no(q, t)
    if isinstance(result, Parsed):
        return result
    if _takes_back(q, t):
        return None
    keys = _said_keys(t, _says_options(q, ("yes", "no", "unsure")))
    return _ok(q, keys.pop()) if len(keys) == 1 else None


def _read(q: Question, text: str) -> Parsed | None:
    """Strict, then loose without splitting clauses again."""
    result = _parse_strict(q, text)
    return result if isinstance(result, Parsed) else _parse_loose(q, text, split=False)


def _with_commentary(q: Question, head: str, tail: str) -> Parsed | None:
    """The answer in the first clause, if the rest does not take it back or say another."""
    tail_words = _words(tail)
    if set(tail_words) & _RETRACTIONS or "?" in tail:
        return None
    if tail_words and tail_words[0] in _NEGATIONS | {"nah", "nope"} and len(tail_words) <= 2:
        return None  # "good fit, not really"
    got = _read(q, head)
    if got is None or (_has_number(head) and _has_number(tail)):
        return None
    if q.type is AnswerType.SCALE and _contradicting_numbers(tail, int(got.value), 5):
        return None
    if set(tail_words) & _ELSEWHEN:
        return got  # "thin margins, used to be solid": the tail is about another time
    other = _read(q, tail)
    return got if other is None or other.value == got.value else None


def _parse_loose(q: Question, text: str, split: bool = True) -> Parsed | None:
    """A reading of what the strict pass refused, or None."""
    if q.type is AnswerType.YES_NO:
        return _loose_yes_no(q, text)
    t = _tidy(text)
    if not t or "?" in t:
        return None  # "4?" or "4 or 5?" asks rather than answers
    if split and (m := _CLAUSE_RE.search(t)) and m.start() > 0 and t[m.end():].strip(" )"):
        head, tail = t[:m.start()], t[m.end():].strip(" )")
        if _read(q, head) is not None:
            return _with_commentary(q, head, tail)
    for c in dict.fromkeys([t, *_unwrapped(q, t)]):
        got = _read_one(q, c)
        if got is not None:
            return got
    return None


def _answer_words(q: Question) -> set[str]:
    """Every word of the question's labels and synonyms: these are never stripped as filler."""
    phrases = [*q.labels, *(c.label for c in q.choices),
               *(s for c in q.choices for s in c.synonyms), *(p for _, ps in q.says for p in ps)]
    return {w for p in phrases for w in _words(_canon(p))}


def _unwrapped(q: Question, text: str) -> list[str]:
    """``text`` without fillers, then also without hedges, unless that cuts a word one of the
    question's answers uses ("about right" keeps its "about", "Maybe" its "maybe")."""
    out = []
    for edges in (_FILLER_EDGES, _HEDGE_EDGES):
        shorter = _strip_edges(text, edges)
        cut = set(_words(text)) - set(_words(shorter))
        if not cut & _answer_words(q):
            out.append(shorter)
    return out


def _read_one(q: Question, text: str) -> Parsed | None:
    """One candidate wording, strictly then loosely; nothing from a bare "not" or "it is"."""
    if not _has_content(text) and not _has_number(text):
        return None
    strict = _parse_strict(q, text)
    if isinstance(strict, Parsed):
        return strict
    if q.type is AnswerType.SCALE:
        return _loose_scale(q, text)
    if q.type is AnswerType.CHOICE:
        return _loose_choice(q, text)
    if q.type in (AnswerType.PERCENT, AnswerType.NUMBER):
        return _loose_numeric(q, text)
    return None
