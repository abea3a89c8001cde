"""Second opinions in the conversation: asking someone else to grade a customer, blind.

``/grade Acme second-opinion @dana`` (Teams: ``grade Acme second-opinion @Dana``; terminal:
``grade Acme second-opinion dana``) records a request and opens Dana's grading of Acme — the
whole annual worksheet, with no answers carried from earlier gradings and no earlier grade
shown — and hands her first question to her as prompts addressed to her
(``Prompt.for_person_id``: each channel puts them in her DM). When she saves, her grade is
stored as a second opinion (``storage.opinions``), the grade of record is shown to her beside
it with the disagreement, and whoever asked is told. The grading itself is the ordinary
conversation (answers, back, change, review, pause, the form); this module owns only what
differs: starting, saving, declining.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.engine.inputs import user_key
from bot.engine.kinds import SessionKind
from bot.engine.prompts import Kind, Prompt, Reply, Review
from bot.engine.replies import error, info
from scoring import Cadence, Recommendation
from scoring.opinions import GradeScores, disagreement
from storage import customers as customers_db
from storage import grades as grades_db
from storage import opinions as opinions_db
from storage import people as people_db
from storage import sessions as sessions_db
from storage.errors import InvalidInput
from storage.models import Customer, Grade, GradingSession, Person, SessionStatus
from storage.names import clean_name
from storage.visibility import can_ask_opinion, can_give_opinion

if TYPE_CHECKING:
    from bot.engine.conversation import Actor, Conversation

WITHDRAWN_BY = "withdrawn_by"  # GradingSession.state: who withdrew the request (a name)
BLIND = (
    "You grade it blind: the grade of record and any other opinion show only after you save yours."
)


def grade_and_advice(letter: str | None, total: float | None, rec: str | None) -> str:
    """ "A (85/100), invest more"."""
    if letter is None or total is None:
        return "no grade yet"
    label = Recommendation(rec).label if rec else ""
    return f"{letter} ({total:g}/100)" + (f", {label}" if label else "")


class SecondOpinions:
    def __init__(self, conversation: Conversation) -> None:
        self.conv = conversation

    # ------------------------------------------------------------------ asking
    def ask(self, s: Session, actor: Actor, name: str, who: str) -> Reply:
        words = self.conv.words
        asker = s.get(Person, actor.person_id)
        if asker is None:
            return [error("I don't know you yet. Try again in a moment.")]
        if not who.strip():
            return [
                error(f"Whose second opinion? Say {words.how_to_grade} second-opinion @someone.")
            ]
        found = self._customer(s, actor, asker, name)
        if isinstance(found, Prompt):
            return [found]
        customer = found
        owner = s.get(Person, customer.owner_id) if customer.owner_id else None
        if not can_ask_opinion(asker, owner):
            return [
                error(
                    f"Only {customer.name}'s owner or their manager can ask for a "
                    "second opinion on it."
                )
            ]
        assignee = self._person(s, actor, who)
        if isinstance(assignee, Prompt):
            return [assignee]
        if not can_give_opinion(assignee, owner):
            return [
                error(
                    f"{assignee.display_name} owns {customer.name}: a second opinion "
                    "is someone else's view. Ask a manager, finance or delivery."
                )
            ]
        return self._open(s, actor, asker, assignee, customer)

    def _customer(self, s: Session, actor: Actor, viewer: Person, name: str
                  ) -> Customer | Prompt:
        """The customer ``name`` names (or the error saying why not)."""
        try:
            name = clean_name(name)
        except InvalidInput as exc:
            return error(str(exc))
        match = customers_db.find_customer(s, actor.workspace_id, name, viewer=viewer)
        if match.exact is None:
            maybe = ", ".join(c.name for c in match.suggestions)
            return error(
                f"I don't know a customer called {name}."
                + (f" Did you mean: {maybe}?" if maybe else "")
            )
        return match.exact

    @staticmethod
    def _person(s: Session, actor: Actor, who: str) -> Person | Prompt:
        found = people_db.find_person(s, actor.workspace_id, user_key(who))
        if found is None:
            return error(
                f"I don't know {user_key(who)} here: they need to have talked to "
                "me once (or be imported with gradebot import people)."
            )
        return found

    def _open(
        self, s: Session, actor: Actor, asker: Person, assignee: Person, customer: Customer
    ) -> Reply:
        cadence = Cadence.ANNUAL  # the whole worksheet: nothing is carried into a blind grade
        try:
            _req, gs = opinions_db.ask(
                s,
                customer=customer,
                asked_by=asker,
                assignee=assignee,
                cadence=cadence.value,
                worksheet_id=self.conv.ws.id,
                worksheet_version=self.conv.ws.version,
                platform=actor.platform,
                state={"customer": customer.name, "seen": {}},
            )
        except opinions_db.OpinionExists:
            return [
                info(
                    None,
                    f"{assignee.display_name} was already asked for a second "
                    f"opinion on {customer.name}; it is not given yet.",
                )
            ]
        except sessions_db.ActiveSessionExists:
            return [
                error(
                    f"{assignee.display_name} is grading {customer.name} already; ask "
                    "again once that grading is saved or discarded."
                )
            ]
        qs = self.conv.questions(gs)
        intro = info(
            gs,
            f"{asker.display_name} asks for your second opinion on "
            f"{customer.name}: the {cadence.value} worksheet, {len(qs)} "
            "questions.",
            BLIND,
        )
        intro.opening = True
        to_them = [
            p.model_copy(update={"for_person_id": assignee.id})
            for p in (intro, self.conv._question(gs, 0))
        ]
        told = info(
            None,
            f"Asked {assignee.display_name} for a second opinion on "
            f"{customer.name}. They grade it blind; you will be told when they "
            "save, and the customer card shows it beside the grade of record.",
        )
        return [told, *to_them]

    def resume_note(self, s: Session, gs: GradingSession) -> str:
        """What a resumed second opinion reminds its grader of: who asked, and that it is
        blind (the invitation went to their chat once; a terminal user, or one who scrolled
        away, resumes without it)."""
        req = opinions_db.request_of_session(s, gs.id)
        asker = s.get(Person, req.asked_by_id) if req is not None else None
        customer = gs.state.get("customer") or "this customer"
        who = asker.display_name if asker is not None else "Someone"
        return f"{who} asked for your second opinion on {customer}. {BLIND}"

    # ------------------------------------------------------------------ saving
    def save(
        self,
        s: Session,
        actor: Actor,
        gs: GradingSession,
        customer: Customer,
        row: Grade,
        card: Review | None,
        ended: dict[str, object],
    ) -> Reply:
        """Store the grade as a second opinion (the grade of record is untouched), then
        show the assignee the grade of record beside theirs and tell whoever asked."""
        req = opinions_db.request_of_session(s, gs.id)
        if req is None or req.status != opinions_db.OpinionStatus.OPEN:
            status = req.status if req is not None else "gone"
            return [error(f"This second opinion is {status}; nothing was saved.", gs)]
        record = grades_db.latest_grade(s, customer)
        from_review = gs.status == SessionStatus.REVIEW
        og = opinions_db.give(s, req, gs, row, customer, state=ended)
        mine = grade_and_advice(og.letter, og.total, og.recommendation)
        names = {d.id: d.name for d in self.conv.ws.dimensions}
        if record is None:
            verdict = f"{customer.name} has no grade of record yet to compare with."
            told = verdict
        else:
            owner_grader = s.get(Person, record.grader_id) if record.grader_id else None
            by = owner_grader.display_name if owner_grader else "its owner"
            d = disagreement(
                GradeScores(record.letter, record.total, record.dimensions),
                GradeScores(og.letter, og.total, og.dimensions),
            )
            theirs = grade_and_advice(record.letter, record.total, record.recommendation)
            verdict = f"The grade of record, by {by}: {theirs}. " + (
                f"You disagree: {d.describe(names)}." if d.disagrees else "You agree."
            )
            told = f"Beside the grade of record ({theirs}): " + (
                f"they disagree — {d.describe(names)}." if d.disagrees else "they agree."
            )
        assignee = s.get(Person, actor.person_id)
        who = assignee.display_name if assignee else "Someone"
        saved = Prompt(
            kind=Kind.SAVED,
            session_id=gs.id,
            customer=customer.name,
            text=f"Saved your second opinion on {customer.name}: {mine}. {verdict}",
            detail="The grade of record stays the owner's; yours is shown beside "
            "it on the customer card.",
            closes_review=from_review,
            review=card,
            title="Second opinion saved ✓",
            closed=True,
        )
        notice = f"{who} gave a second opinion on {customer.name}: {mine}. {told}"
        tell = {req.asked_by_id, customer.owner_id} - {None, actor.person_id}
        return [
            saved,
            *(info(None, notice).model_copy(update={"for_person_id": pid})
              for pid in sorted(p for p in tell if p is not None)),
        ]

    # ------------------------------------------------------------------ declining
    def decline(self, s: Session, actor: Actor, gs: GradingSession) -> Reply:
        """Discarding a second-opinion grading cancels the request (in the transaction that
        ends the grading) and tells whoever asked."""
        req = opinions_db.request_of_session(s, gs.id)
        if req is None:
            return []
        opinions_db.cancel(s, req)
        if req.asked_by_id == actor.person_id:
            return []
        who = s.get(Person, actor.person_id)
        name = self.conv.customer_name(gs)
        return [
            info(
                None,
                f"{who.display_name if who else 'Someone'} declined the second opinion on {name}.",
            ).model_copy(update={"for_person_id": req.asked_by_id})
        ]


    # ------------------------------------------------------------------ withdrawing
    def withdraw(self, s: Session, actor: Actor, name: str, who: str) -> Reply:
        """``/grade Acme second-opinion cancel @dana``: whoever asked, the owner, their
        manager or an admin withdraws Dana's open request. Her grading ends (its draft
        discarded) in the same transaction; she is told in its thread, whoever asked is told
        if someone else withdrew it, and a later answer there gets ``withdrawn_line``."""
        words = self.conv.words
        me = s.get(Person, actor.person_id)
        if me is None:
            return [error("I don't know you yet. Try again in a moment.")]
        if not who.strip():
            return [error(f"Whose request? Say {words.how_to_grade} second-opinion cancel "
                          "@someone.")]
        found = self._customer(s, actor, me, name)
        if isinstance(found, Prompt):
            return [found]
        customer = found
        assignee = self._person(s, actor, who)
        if isinstance(assignee, Prompt):
            return [assignee]
        req = opinions_db.open_request(s, customer.id, assignee.id)
        if req is None:
            return [info(None, f"{assignee.display_name} has no open request for a second "
                               f"opinion on {customer.name}: nothing to withdraw.")]
        owner = s.get(Person, customer.owner_id) if customer.owner_id else None
        if req.asked_by_id != me.id and not can_ask_opinion(me, owner):
            return [error(f"Only whoever asked, {customer.name}'s owner or their manager can "
                          "withdraw this request.")]
        gs = opinions_db.active_opinion_session(s, req)
        started = gs is not None and (gs.position > 0 or gs.status != SessionStatus.OPEN)
        if not opinions_db.cancel(s, req, opinions_db.OpinionStatus.WITHDRAWN):
            s.rollback()
            return [info(None, f"{assignee.display_name}'s second opinion on {customer.name} "
                               "was saved or declined a moment ago: nothing to withdraw.")]
        if gs is not None:
            sessions_db.update_session(s, gs, status=SessionStatus.DISCARDED, state={
                **sessions_db.with_change(gs.state, actor.where, "withdrawn"),
                "ended_by": actor.where, WITHDRAWN_BY: me.display_name})
        else:
            s.commit()
        draft = " Your answers so far were discarded." if started else ""
        told_them = Prompt(
            kind=Kind.INFO, session_id=gs.id if gs else None, customer=customer.name,
            text=f"{me.display_name} withdrew the request for your second opinion on "
                 f"{customer.name}: there is nothing left to do.{draft}",
            closed=True, for_person_id=assignee.id)
        out: Reply = [
            info(None, f"Withdrew the request for {assignee.display_name}'s second opinion "
                       f"on {customer.name}; they are told."),
            told_them,
        ]
        if req.asked_by_id not in (me.id, assignee.id):
            out.append(info(None, f"{me.display_name} withdrew your request for "
                                  f"{assignee.display_name}'s second opinion on "
                                  f"{customer.name}.").model_copy(
                update={"for_person_id": req.asked_by_id}))
        return out

    def withdrawn_line(self, gs: GradingSession) -> str | None:
        """What an answer reaching a withdrawn second opinion's grading is told (None: the
        grading was not withdrawn)."""
        by = gs.state.get(WITHDRAWN_BY) if gs.kind == SessionKind.OPINION else None
        if by is None:
            return None
        return (f"{by} withdrew this request for a second opinion on "
                f"{self.conv.customer_name(gs)}: nothing you type here is recorded.")


def restart_refused(gs: GradingSession) -> Prompt:
    return error(
        "A second opinion cannot be started over: change answers with change N, "
        "or discard it to decline.",
        gs,
    )
