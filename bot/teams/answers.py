"""``customer``, ``grades`` and ``portfolio`` in Teams: the engine's look-up answers
(``Services.look_up``) as Adaptive Cards. Which answer comes is decided in ``bot.look_up``;
this module only lays answers out."""

from __future__ import annotations

from collections.abc import Mapping

from microsoft_teams.cards import AdaptiveCard

from bot.look_up import Answer
from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView, grade_value
from bot.teams import cards as ui
from bot.trust import OverrideResult, Refused, TextView


def card_for(answer: Answer, dimension_names: Mapping[str, str]) -> AdaptiveCard:
    """Any look-up answer as a card, by its type (the calibration card draws its chart:
    call this off the event loop)."""
    if isinstance(answer, OverrideResult):
        return ui.text_view_card(answer.view)
    if isinstance(answer, CustomerCard | NotFoundCard):
        return ui.customer_card(answer, answer.regrade.value if answer.regrade else None,
                                dimension_names)
    if isinstance(answer, BookView):
        return ui.book_card(answer, grade_value=grade_value)
    if isinstance(answer, PortfolioView):
        return ui.portfolio_card(answer)
    if isinstance(answer, TextView | Refused | Denied):
        return ui.text_view_card(answer)
    from bot.teams.calibration import calibration_card

    return calibration_card(answer)
