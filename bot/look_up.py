"""Which look-up a command's words ask for, and the answers it can get: decided once here,
so that Slack, Teams and the terminal only render (``Services.look_up`` runs it).

``customer Acme`` is a card, ``customer Acme override …`` / ``… overrides`` an override
command, ``grades [me|@rep|team|overdue]`` a book, ``portfolio [team]`` the balance,
``portfolio optimism`` and ``portfolio calibration`` the managers' and admins' views. Each
channel passes the command's word without its prefix (Slack's ``/`` included).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypeAlias, TypeVar

if TYPE_CHECKING:  # (types only: a look-up's start-up must not load what it never uses)
    from bot.calibration_card import CalibrationView
    from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView
    from bot.trust import OverrideResult, Refused, TextView


class LookUp(StrEnum):
    CARD = "card"
    OVERRIDE = "override"
    BOOK = "book"
    PORTFOLIO = "portfolio"
    TEAM_PORTFOLIO = "team portfolio"
    OPTIMISM = "optimism"
    CALIBRATION = "calibration"


# what the channels render; each kind of refusal carries its own line (``.message``)
Answer: TypeAlias = (
    "CustomerCard | NotFoundCard | Denied | OverrideResult | TextView | Refused | BookView"
    " | PortfolioView | CalibrationView"
)

_PORTFOLIO_VIEWS = {"": LookUp.PORTFOLIO, "team": LookUp.TEAM_PORTFOLIO,
                    "optimism": LookUp.OPTIMISM, "calibration": LookUp.CALIBRATION}


def split_override(text: str) -> tuple[str, str | None]:
    """``Acme Corp override B until …`` → ("Acme Corp", "override B until …"); the name and
    None when the words ask no override."""
    words = text.split()
    for i, w in enumerate(words):
        if w.lower() in ("override", "overrides") and i > 0:
            return " ".join(words[:i]), " ".join(words[i:])
    return text, None


def asked(word: str, rest: str) -> LookUp | None:
    """The look-up ``word rest`` asks for; None when the words are no look-up (``grade``,
    ``help``, an unknown portfolio view, ``customer`` without a name)."""
    word = word.lower().lstrip("/")
    rest = rest.strip()
    if word == "customer" and rest:
        return LookUp.OVERRIDE if split_override(rest)[1] is not None else LookUp.CARD
    if word == "grades":
        return LookUp.BOOK
    if word == "portfolio":
        return _PORTFOLIO_VIEWS.get(rest.lower())
    return None


def answered(answer: Answer) -> bool:
    """False for a refusal, a denial or nothing found (the CLI exits 1 then)."""
    from bot.lookups import Denied, NotFoundCard
    from bot.trust import OverrideResult, Refused

    if isinstance(answer, OverrideResult):
        answer = answer.view
    return not isinstance(answer, Refused | Denied | NotFoundCard)


T = TypeVar("T", covariant=True)


class Renders(Protocol[T]):
    """A channel's layout of each kind of answer (Block Kit, a card, console lines): the
    channel says how each looks, ``render`` says which one an answer is — once, so a new
    kind of answer is a type error in every channel until each lays it out."""

    def card(self, card: CustomerCard | NotFoundCard) -> T: ...
    def book(self, view: BookView) -> T: ...
    def portfolio(self, view: PortfolioView) -> T: ...
    def lines(self, view: TextView | Refused | Denied) -> T: ...
    def override(self, result: OverrideResult) -> T: ...
    def calibration(self, view: CalibrationView) -> T: ...


def render(answer: Answer, to: Renders[T]) -> T:
    """``answer`` laid out by ``to``'s method for its kind (the calibration report is
    recognised last, by elimination: a look-up's start-up never imports it)."""
    from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView
    from bot.trust import OverrideResult, Refused, TextView

    if isinstance(answer, OverrideResult):
        return to.override(answer)
    if isinstance(answer, CustomerCard | NotFoundCard):
        return to.card(answer)
    if isinstance(answer, BookView):
        return to.book(answer)
    if isinstance(answer, PortfolioView):
        return to.portfolio(answer)
    if isinstance(answer, TextView | Refused | Denied):
        return to.lines(answer)
    return to.calibration(answer)
