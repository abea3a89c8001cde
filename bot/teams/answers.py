"""``customer``, ``grades`` and ``portfolio`` in Teams: the engine's look-up answers
(``Services.look_up``) as Adaptive Cards. Which answer comes is decided in ``bot.look_up``;
this module only lays answers out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from microsoft_teams.cards import AdaptiveCard

from bot.calibration_card import CalibrationView
from bot.look_up import Answer, render
from bot.lookups import BookView, CustomerCard, Denied, NotFoundCard, PortfolioView, grade_value
from bot.teams import cards as ui
from bot.trust import OverrideResult, Refused, TextView


@dataclass(frozen=True)
class TeamsAnswers:
    """Each kind of answer as an Adaptive Card (``bot.look_up.Renders``)."""

    dimension_names: Mapping[str, str]

    def card(self, card: CustomerCard | NotFoundCard) -> AdaptiveCard:
        return ui.customer_card(card, card.regrade.value if card.regrade else None,
                                self.dimension_names)

    def book(self, view: BookView) -> AdaptiveCard:
        return ui.book_card(view, grade_value=grade_value)

    def portfolio(self, view: PortfolioView) -> AdaptiveCard:
        return ui.portfolio_card(view)

    def lines(self, view: TextView | Refused | Denied) -> AdaptiveCard:
        return ui.text_view_card(view)

    def override(self, result: OverrideResult) -> AdaptiveCard:
        return ui.text_view_card(result.view)

    def calibration(self, view: CalibrationView) -> AdaptiveCard:
        from bot.teams.calibration import calibration_card  # (draws the chart)

        return calibration_card(view)


def card_for(answer: Answer, dimension_names: Mapping[str, str]) -> AdaptiveCard:
    """Any look-up answer as a card (the calibration card draws its chart: call this off
    the event loop)."""
    return render(answer, TeamsAnswers(dimension_names))
