"""The strategic review: the rep's whole book, weakest first, one decision per customer.

A state machine of its own (a queue of customer ids, a position, decisions recorded per
customer), so it lives here rather than inside ``Conversation``: the conversation routes a
strategic session's text, decisions and the commands that move it (skip, back, save,
review) to ``StrategicReview`` and keeps what every session shares (help, pause, resume,
discard, the transaction, who may act).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.engine import options as opts
from bot.engine.kinds import SessionKind
from bot.engine.prompts import Kind, Option, Progress, Prompt, Reply, plural
from bot.engine.replies import error, info
from scoring import Cadence, Recommendation
from storage import grades as grades_db
from storage import sessions as sessions_db
from storage.models import Customer, GradingSession, SessionStatus

if TYPE_CHECKING:
    from bot.engine.conversation import Actor, Conversation

DECISIONS = [
    Recommendation.INVEST_MORE,
    Recommendation.MAINTAIN,
    Recommendation.INVEST_LESS,
    Recommendation.EXIT,
]

# what a rep may type instead of tapping a decision
_TYPED = {
    "invest more": "invest_more",
    "more": "invest_more",
    "maintain": "maintain",
    "keep": "maintain",
    "invest less": "invest_less",
    "less": "invest_less",
    "exit": "exit",
    "fire": "exit",
    "let go": "exit",
    "1": "invest_more",
    "2": "maintain",
    "3": "invest_less",
    "4": "exit",
}


class StrategicReview:
    """The review's steps; state lives in the session row (``state["queue"]``, position)."""

    def __init__(self, conversation: Conversation) -> None:
        self.conv = conversation

    def start(self, s: Session, actor: Actor) -> Reply:
        entries = grades_db.rep_book(s, actor.person_id)
        words = self.conv.words
        if not entries:
            return [error(f"Your book is empty: grade a customer first with {words.how_to_grade}.")]
        order = sorted(entries, key=lambda e: (e.total is None, e.total or 0, e.name))
        period = self.conv.today(s, actor.person_id).isoformat()
        try:
            gs = sessions_db.start_session(
                s,
                workspace_id=actor.workspace_id,
                person_id=actor.person_id,
                customer_id=None,
                cadence=Cadence.STRATEGIC.value,
                kind=SessionKind.STRATEGIC.value,
                worksheet_id=self.conv.ws.id,
                worksheet_version=self.conv.ws.version,
                platform=actor.platform,
                state={
                    "queue": [e.customer_id for e in order],
                    "period": period,
                    "customer": "your book",
                },
            )
        except sessions_db.ActiveSessionExists as exc:
            sid = exc.existing.id
            return [
                Prompt(
                    kind=Kind.RESUME_OR_RESTART,
                    session_id=sid,
                    text="You have a strategic review in progress. Resume it or start over?",
                    choices=[
                        Option(value=opts.command("resume", sid), label="Resume", style="primary"),
                        Option(value=opts.command("restart", sid), label="Start over"),
                    ],
                )
            ]
        intro = info(
            gs,
            f"Strategic review of your book: {plural(len(order))}, weakest "
            "first. For each: invest more, maintain, invest less or exit.",
        )
        return [intro, self.current(s, gs)]

    def current(self, s: Session, gs: GradingSession) -> Prompt:
        """The customer to decide on now, or the summary once the queue is done."""
        queue = _queue(gs)
        if gs.position >= len(queue):
            return self.summary(s, gs)
        cid = queue[gs.position]
        customer = s.get(Customer, cid)
        name = customer.name if customer else f"customer {cid}"
        latest = grades_db.latest_grade(s, customer) if customer else None
        if latest is not None:
            mark = f", provisional: {latest.coverage:.0%} answered" if latest.provisional else ""
            graded_on = latest.created_at.astimezone(self.conv.zone(s, gs.person_id)).date()
            if self.conv.ws.grading.is_stale(graded_on, self.conv.today(s, gs.person_id)):
                mark += f", stale: graded {graded_on.isoformat()}"  # (see docs/display.md)
            text = (
                f"{name}: {latest.letter} ({latest.total:g}/100{mark}), the grade "
                f"recommends {Recommendation(latest.recommendation).label}. What do we do?"
            )
        else:
            text = f"{name}: not graded yet. What do we do?"
        return Prompt(
            kind=Kind.DECISION,
            session_id=gs.id,
            customer=name,
            text=text,
            detail=" ".join(latest.explanation) if latest else "",
            progress=Progress(index=gs.position + 1, total=len(queue)),
            choices=[
                Option(
                    value=opts.encode(opts.Decide(cid, d.value)),
                    label=d.label.capitalize(),
                    style="danger" if d is Recommendation.EXIT else None,
                )
                for d in DECISIONS
            ],
            # skip carries the position it was offered at: a double click acts once
            actions=[
                Option(value=opts.command("skip", at=gs.position), label="Skip"),
                Option(value=opts.command("pause"), label="Pause"),
            ],
        )

    def decide(
        self, s: Session, actor: Actor, gs: GradingSession, customer_id: int, decision: str
    ) -> Reply:
        queue = _queue(gs)
        if gs.kind != SessionKind.STRATEGIC or gs.status != SessionStatus.OPEN:
            return [info(gs, "This review is not open; that decision was not recorded.")]
        if decision not in {d.value for d in DECISIONS}:
            return [error("That is not a decision I know.", gs)]
        if gs.position >= len(queue) or queue[gs.position] != customer_id:
            return []  # a stale or repeated click: this customer was already decided
        sessions_db.record_decision(
            s,
            gs,
            workspace_id=actor.workspace_id,
            customer_id=customer_id,
            person_id=actor.person_id,
            decision=decision,
            period=str(gs.state.get("period", "")),
            position=gs.position + 1,
            **({"status": SessionStatus.SAVED} if gs.position + 1 >= len(queue) else {}),
        )
        customer = s.get(Customer, customer_id)
        echo = Prompt(
            kind=Kind.ECHO,
            session_id=gs.id,
            text=f"Recorded: {Recommendation(decision).label} for "
            f"{customer.name if customer else customer_id}.",
        )
        return [echo, self.current(s, gs)]

    def text(self, s: Session, actor: Actor, gs: GradingSession, text: str) -> Reply:
        """A decision typed in words ("invest more", "exit", "2"), else how to answer."""
        t = text.strip().lower().replace("-", " ").replace("_", " ")
        queue = _queue(gs)
        if t in _TYPED and gs.position < len(queue):
            return self.decide(s, actor, gs, queue[gs.position], _TYPED[t])
        return [
            Prompt(
                kind=Kind.REASK,
                session_id=gs.id,
                text="Say invest more, maintain, invest less or exit (or skip).",
                detail="",
            ),
            self.current(s, gs),
        ]

    def command(self, s: Session, gs: GradingSession, word: str) -> Reply:
        """The commands that move the review (the others are the conversation's)."""
        queue = _queue(gs)
        if word == "skip":
            pos = gs.position + 1
            changes: dict[str, object] = {"position": pos}
            if pos >= len(queue):
                changes["status"] = SessionStatus.SAVED
            sessions_db.update_session(s, gs, **changes)
            return [self.current(s, gs)]
        if word == "back":
            sessions_db.update_session(s, gs, position=max(0, gs.position - 1))
            return [self.current(s, gs)]
        if word in ("save", "review"):
            return [self.summary(s, gs)]
        return [
            info(
                gs,
                "In a strategic review, answer invest more, maintain, invest less "
                "or exit; or say skip, back, pause or cancel.",
            )
        ]

    def summary(self, s: Session, gs: GradingSession) -> Prompt:
        """The decisions so far; it ends the session once every customer was decided."""
        counts: dict[str, int] = {}
        assert gs.id is not None  # (a stored row)
        for d in sessions_db.decisions_of(s, gs.id):
            counts[d.decision] = counts.get(d.decision, 0) + 1
        parts = [f"{counts[d.value]} {d.label}" for d in DECISIONS if d.value in counts]
        return Prompt(
            kind=Kind.SUMMARY,
            session_id=gs.id,
            text="Strategic review done: " + (", ".join(parts) or "no decisions") + ".",
            detail="Decisions are recorded; managers see them in the team view.",
            closed=gs.status == SessionStatus.SAVED,
        )


def _queue(gs: GradingSession) -> list[int]:
    return list(gs.state.get("queue", []))
