"""The channel-neutral grading conversation.

``Conversation.handle`` takes who is speaking, an input (start, text, a chosen option) and
the session it belongs to, and returns prompts as plain data. All state lives in the
database and every step is one transaction, so a restart, a second replica or a rep coming
back next week finds the grading exactly where it was. A step that loses an optimistic-lock
race is re-run on fresh state (never dropped); a retried input (same ``input_key``) is
recognised and changes nothing.

Where things are: option values are decoded in ``bot.engine.options`` (and only there);
command words run through the ``COMMANDS`` table; a strategic review's own steps are
``bot.engine.strategic``; the form's state and its one rule are ``Conversation.form``.
``docs/protocol.md`` is the contract with the channels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from bot.engine import inputs as inp
from bot.engine import options as opts
from bot.engine.actor import Actor
from bot.engine.form import FormRefused, FormState, asked
from bot.engine.help import GRADING_HELP
from bot.engine.inputs import Choose, Input, Start
from bot.engine.kinds import SessionKind
from bot.engine.opinions import SecondOpinions, restart_refused
from bot.engine.prompts import (
    VOCABULARIES,
    AnswerLine,
    DimensionLine,
    Kind,
    Option,
    Progress,
    Prompt,
    Reply,
    Review,
    Vocabulary,
)
from bot.engine.replies import error, info
from bot.engine.strategic import StrategicReview
from bot.interpret import CONFIDENT, Interpretation, Interpreter, RulesInterpreter
from bot.observability import GRADINGS
from bot.zones import zone_of
from scoring import (
    AnswerType,
    AnswerValue,
    Cadence,
    Good,
    NoAnswersError,
    Question,
    Recommendation,
    Worksheet,
    cadence_to_ask,
    display_value,
    grade,
    is_legal,
    parse_answer,
    period_key,
)
from scoring.grading import Grade as ScoredGrade
from scoring.parsing import Parsed, hint_for
from scoring.sheet import MergedSheet, merge_answers, sheet_note
from scoring.taps import tap_choices, tap_label
from storage import customers as customers_db
from storage import grades as grades_db
from storage import sessions as sessions_db
from storage.engine import once_more_if_dropped, session_scope
from storage.errors import Conflict, InvalidInput, NotFound
from storage.models import (
    ACTIVE_STATUSES,
    AnswerSource,
    Customer,
    GradingSession,
    Person,
    SessionStatus,
)
from storage.names import clean_name
from storage.types import utcnow
from storage.visibility import can_see

log = logging.getLogger("gradebot.engine")
T = TypeVar("T")

MAX_TEXT = 3000
Summarizer = Callable[[ScoredGrade, str], str | None]
_WORDS: ContextVar[Vocabulary] = ContextVar("gradebot_words", default=VOCABULARIES["cli"])


HELP_TEXT = GRADING_HELP  # (bot.engine.help: the words every channel's help lists)

class When(Enum):
    """When a command applies (``COMMANDS``)."""

    ANY = "any"        # whatever the status: help, why, resume, restart
    ACTIVE = "active"  # an active grading (open, review or paused): pause, cancel, discard
    MOVING = "moving"  # an open grading, not paused; a strategic review moves its own way


@dataclass(frozen=True, slots=True)
class Step:
    """One command's input: where it runs, who asked, and its argument."""

    s: Session
    actor: Actor
    gs: GradingSession
    number: int | None = None      # change N; the session a resume/restart is about
    cadence: Cadence | None = None  # restart on this worksheet


@dataclass(frozen=True, slots=True)
class CommandEntry:
    when: When
    run: Callable[[Conversation, Step], Reply]


REVIEW_TITLE = "Review before saving — not saved yet"
SAVED_TITLE = "Saved ✓"


class Conversation:
    """The grading conversation engine. Thread-safe: it holds no per-conversation state."""

    def __init__(self, db: Engine, worksheet: Worksheet, *,
                 interpreter: Interpreter | None = None, summarizer: Summarizer | None = None,
                 idle: timedelta = timedelta(days=7), timezone: str = "UTC",
                 clock: Callable[[], datetime] = utcnow,
                 vocabularies: dict[str, Vocabulary] | None = None) -> None:
        self.db = db
        self.ws = worksheet
        self.rules = RulesInterpreter()
        self.interpreter = interpreter or self.rules
        self.summarizer = summarizer
        self.idle = idle
        self.tz = ZoneInfo(timezone)
        self.clock = clock
        self.vocabularies = vocabularies or VOCABULARIES
        self.strategic = StrategicReview(self)
        self.opinions = SecondOpinions(self)

    @property
    def words(self) -> Vocabulary:
        """The command words of the channel the current step came from (set per call by
        ``handle``/``submit_form``: the engine holds no per-conversation state)."""
        return _WORDS.get()

    def _words_of(self, actor: Actor) -> Vocabulary:
        return self.vocabularies.get(actor.platform) or self.vocabularies.get("cli") \
            or VOCABULARIES["cli"]

    def _speaking(self, actor: Actor) -> Token[Vocabulary]:
        return _WORDS.set(self._words_of(actor))

    # ------------------------------------------------------------------ entry point
    def handle(self, actor: Actor, message: Input, *, session_id: int | None = None,
               input_key: str | None = None) -> Reply:
        """Apply ``message`` and say what comes next. Never raises for user input: bad
        input gets an ERROR or REASK prompt that says what to do instead."""
        token = self._speaking(actor)
        try:
            return self._in_transaction(
                lambda s: self._dispatch(s, actor, message, session_id, input_key))
        finally:
            _WORDS.reset(token)

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a session of its own, and run it again on fresh state when
        another writer moved the grading first (Conflict, up to three times) or once when
        the database connection dropped mid-way (a restarted or failed-over server, a
        proxy's idle cut): the transaction was rolled back, and input keys make a redo of a
        recorded answer a no-op."""
        dropped = False
        for attempt in range(4):
            with session_scope(self.db) as s:
                try:
                    return work(s)
                except Conflict:
                    if attempt == 3:
                        raise
                    s.rollback()
                except DBAPIError as exc:
                    if dropped or not exc.connection_invalidated:
                        raise
                    dropped = True
                    log.warning("database connection dropped (%s); trying once more",
                                type(exc.orig).__name__)
        raise AssertionError("unreachable")

    def _dispatch(self, s: Session, actor: Actor, message: Input, session_id: int | None,
                  input_key: str | None) -> Reply:
        if isinstance(message, Start):
            if message.second_opinion is not None:
                if message.withdraw:
                    return self.opinions.withdraw(s, actor, message.customer,
                                                  message.second_opinion)
                return self.opinions.ask(s, actor, message.customer, message.second_opinion)
            return self._start(s, actor, message.customer, message.cadence)
        opt: opts.EngineValue | None = None
        if isinstance(message, Choose):
            decoded = opts.decode_or_none(message.value)
            if not isinstance(decoded, opts.EngineValue):  # stale, forged, or a channel's own
                return [error("That button is no longer valid. Type help to see what you "
                              "can do.")]
            opt = decoded
            if isinstance(opt, opts.Pick | opts.Create):
                return self._start_from_option(s, actor, opt)
            if isinstance(opt, opts.Command) and opt.word in ("resume", "restart") \
                    and opt.number is not None:
                session_id = opt.number  # the offer names the session it is about
        gs = self._session_for(s, actor, session_id)
        if gs is None:
            return [error("There is no grading in progress here. Start one with "
                           f"{self.words.how_to_grade}.")]
        if gs.status in ACTIVE_STATUSES and self._expired(gs):
            sessions_db.update_session(s, gs, status=SessionStatus.EXPIRED)
            return [self._expired_notice(gs)]
        news = self._catch_up(s, actor, gs)
        if gs.status in (SessionStatus.SAVED, SessionStatus.DISCARDED):
            ended = self._ended_reply(s, actor, gs, message, opt)
            if ended is not None:
                return ended
        reply = self._step(s, actor, gs, message, opt, input_key, bool(news))
        if news:
            reply.insert(0, info(gs, "Changed on another device: " + "; ".join(news)))
        return reply

    def _step(self, s: Session, actor: Actor, gs: GradingSession, message: Input,
              opt: opts.EngineValue | None, input_key: str | None,
              moved_elsewhere: bool) -> Reply:
        if opt is not None:
            return self._choose(s, actor, gs, opt, input_key)
        assert isinstance(message, inp.Text)
        text = message.text.strip()
        if not text:
            return [self._current(s, gs)]
        if len(text) > MAX_TEXT:
            return [error(f"That message is too long ({len(text):,} characters). Please keep "
                           f"answers under {MAX_TEXT:,}.", gs)]
        cmd = inp.command_of(text)
        if cmd is not None:
            return self._command(s, actor, gs, cmd[0], cmd[1])
        if gs.status in (SessionStatus.SAVED, SessionStatus.DISCARDED):
            return [info(gs, f"This grading is {gs.status}. Start a new one with "
                              f"{self.words.how_to_grade}.")]
        if gs.status not in (SessionStatus.OPEN, SessionStatus.REVIEW):  # review: the answer
            # path says "all answered: save, discard or change N" and shows the review again
            return [info(gs, "This grading is " + gs.status + ". Say resume to continue, or "
                          "help for options.")]
        if moved_elsewhere:
            # typed for the question this place last showed, which may not be the current
            # one any more: not recorded, and the rep sees where the grading stands now
            return [info(gs, "That message was not recorded, as the grading moved on "
                          "another device. Here is where it stands now:"), self._current(s, gs)]
        if gs.kind == SessionKind.STRATEGIC:
            return self.strategic.text(s, actor, gs, text)
        return self._answer_text(s, actor, gs, text, input_key)

    # ------------------------------------------------------------------ several places
    def _catch_up(self, s: Session, actor: Actor, gs: GradingSession) -> list[str]:
        """What other places changed since this one last took a step (and remember that it
        now has)."""
        news, state = sessions_db.news_for(gs.state, actor.where)
        if state is not None:
            sessions_db.update_session(s, gs, state=state)
        return news

    def _ended_reply(self, s: Session, actor: Actor, gs: GradingSession,
                     message: Input, opt: opts.EngineValue | None) -> Reply | None:
        """Input reaching a saved or discarded grading: a clear end and a way on (resume
        the grading of this customer that is open now, or start one) — never a dead end.
        None: let the input through (help; a double click on Save; Start over)."""
        withdrawn = self.opinions.withdrawn_line(gs)  # a second opinion no longer wanted
        if withdrawn is not None:
            return [self._ended(s, actor, gs, withdrawn)]
        elsewhere = gs.state.get("ended_by", actor.where) != actor.where
        word = opt.word if isinstance(opt, opts.Command) else None
        if word in ("restart", "help"):
            return None  # "Grade … again" (this notice's own button), or help
        if not elsewhere:
            if (word == "save" and
                                               gs.status == SessionStatus.SAVED):
                return None
            if isinstance(message, inp.Text):
                cmd = inp.command_of(message.text.strip())
                if cmd is not None and cmd[0] in ("help", "restart"):
                    return None
                if cmd is not None and cmd[0] == "resume":
                    return [self._ended(s, actor, gs, f"This grading is {gs.status} and "
                                                      "cannot be resumed.")]
        if elsewhere:
            what = ("saved on another device." if gs.status == SessionStatus.SAVED else
                    "discarded on another device: nothing was saved.")
            return [self._ended(s, actor, gs, f"This grading was {what}")]
        return [self._ended(s, actor, gs, f"This grading is {gs.status}. Start a new one "
                                          f"with {self.words.how_to_grade}.")]

    def _ended(self, s: Session, actor: Actor, gs: GradingSession, text: str) -> Prompt:
        name = self.customer_name(gs)
        if gs.kind == SessionKind.OPINION:  # its restart is refused: offer nothing
            return Prompt(kind=Kind.INFO, session_id=gs.id, customer=name or None, text=text,
                          closed=True)
        open_now = sessions_db.active_session(s, actor.person_id, gs.customer_id)
        if open_now is not None and open_now.id != gs.id:
            choice = Option(value=opts.command("resume", open_now.id),
                            label=f"Resume the open grading of {name}" if gs.customer_id
                            else "Resume your open strategic review", style="primary")
        else:
            choice = Option(value=opts.command("restart", gs.id),
                            label=f"Grade {name} again" if gs.customer_id
                            else "Start a new strategic review", style="primary")
        return Prompt(kind=Kind.INFO, session_id=gs.id, customer=name or None, text=text,
                      detail="Pick one, or start another grading.", choices=[choice],
                      closed=True)

    def _session_for(self, s: Session, actor: Actor, session_id: int | None
                     ) -> GradingSession | None:
        if session_id is None:
            active = sessions_db.active_sessions_of(s, actor.person_id)
            return active[0] if active else None
        try:
            gs = sessions_db.get_session(s, session_id)
        except NotFound:
            return None
        if gs.person_id != actor.person_id:
            return None  # never act on someone else's conversation
        return gs

    def _expired(self, gs: GradingSession) -> bool:
        return self.clock() - gs.updated_at > self.idle

    def zone(self, s: Session, person_id: int) -> ZoneInfo:
        """Whose calendar periods and cadences are read in: the person's (``bot.zones``);
        the configured default only for a person who is gone."""
        person = s.get(Person, person_id)
        return zone_of(s, person) if person is not None else self.tz

    def today(self, s: Session, person_id: int) -> date:
        return self.clock().astimezone(self.zone(s, person_id)).date()

    # ------------------------------------------------------------------ starting
    def _start(self, s: Session, actor: Actor, name: str, cadence: Cadence | None) -> Reply:
        if not name.strip():
            if cadence is Cadence.STRATEGIC:
                return self.strategic.start(s, actor)
            return [error(f"Which customer? Try {self.words.example} (optionally followed "
                           "by quarterly, annual or strategic).")]
        try:
            name = clean_name(name)
        except InvalidInput as exc:
            return [error(str(exc))]
        viewer = s.get(Person, actor.person_id)
        match = customers_db.find_customer(s, actor.workspace_id, name, viewer=viewer)
        if match.exact is None:
            options = [Option(value=opts.pick(c.id, cadence), label=c.name)
                       for c in match.suggestions]
            options.append(Option(value=opts.encode(opts.Create(name, cadence)),
                                  label=f"Create {name}", style="primary"))
            text = f"I don't know a customer called {name}."
            if match.suggestions:
                text += " Did you mean one of these?"
            detail = ("Or create it as a new customer you own." if match.suggestions else
                      "Create it as a new customer you own?")
            return [Prompt(kind=Kind.CHOOSE_CUSTOMER, text=text, customer=name, detail=detail,
                           choices=options)]
        return self._open(s, actor, match.exact, cadence)

    def _start_from_option(self, s: Session, actor: Actor, opt: opts.Pick | opts.Create
                           ) -> Reply:
        if isinstance(opt, opts.Pick):
            try:
                customer = customers_db.get_customer(s, actor.workspace_id, opt.customer_id)
            except NotFound:
                return [error("That customer no longer exists. Start again with "
                               f"{self.words.how_to_grade}.")]
            person = s.get(Person, actor.person_id)
            owner = s.get(Person, customer.owner_id) if customer.owner_id else None
            if person is None or not can_see(person, owner):
                # a button names its customer by id only: say nothing of whose it is
                return [error(f"{NOT_YOURS} Start with {self.words.how_to_grade}.")]
        else:
            try:
                customer, _ = customers_db.find_or_create_customer(
                    s, actor.workspace_id, opt.name, actor.person_id)
            except InvalidInput as exc:
                return [error(str(exc))]
        return self._open(s, actor, customer, opt.cadence)

    def _open(self, s: Session, actor: Actor, customer: Customer,
              cadence: Cadence | None) -> Reply:
        person = s.get(Person, actor.person_id)
        owner = s.get(Person, customer.owner_id) if customer.owner_id else None
        if person is None:
            return [error("I don't know you yet. Try again in a moment.")]
        if not can_see(person, owner):
            return [error(elsewhere_line(customer.name, owner))]
        if customer.owner_id is None:
            customers_db.set_owner(s, customer, person.id)
        if customer.archived:  # "Create Old Co", or a Grade button from before it was archived
            customers_db.archive_customer(s, customer, archived=False)
            return [info(None, f"{customer.name} was archived: grading it puts it back in "
                                "the book."), *self._grade(s, actor, customer, cadence)]
        return self._grade(s, actor, customer, cadence)

    def _grade(self, s: Session, actor: Actor, customer: Customer,
               cadence: Cadence | None) -> Reply:
        """Resume, or start, this rep's grading of a customer they may grade."""
        active = sessions_db.active_session(s, actor.person_id, customer.id)
        if active is not None and not self._expired(active):
            return [self._resume_offer(s, active, customer, "You are already grading", cadence)]
        if active is not None:
            sessions_db.update_session(s, active, status=SessionStatus.EXPIRED)
        draft = sessions_db.latest_draft(s, actor.person_id, customer.id)
        if draft is not None and sessions_db.current_answers(s, draft.id):
            return [self._resume_offer(s, draft, customer, "You have a draft grading of",
                                       cadence)]
        if cadence is None:
            latest = grades_db.latest_grade(s, customer)
            tz = self.zone(s, actor.person_id)
            last = latest.created_at.astimezone(tz).date() if latest else None
            cadence = cadence_to_ask(last, self.clock().astimezone(tz).date())
        if cadence is Cadence.STRATEGIC and not self.ws.questions_for(cadence):
            cadence = Cadence.ANNUAL
        return self._new_session(s, actor, customer, cadence)

    def _new_session(self, s: Session, actor: Actor, customer: Customer,
                     cadence: Cadence) -> Reply:
        try:
            gs = sessions_db.start_session(
                s, workspace_id=actor.workspace_id, person_id=actor.person_id,
                customer_id=customer.id, cadence=cadence.value, worksheet_id=self.ws.id,
                worksheet_version=self.ws.version, platform=actor.platform,
                state={"customer": customer.name, "seen": {actor.where: 0}})
        except sessions_db.ActiveSessionExists as exc:
            return [self._resume_offer(s, exc.existing, customer, "You are already grading")]
        GRADINGS.labels("started").inc()
        qs = self.questions(gs)
        intro = info(gs, f"Grading {customer.name}: the {cadence.value} worksheet, "
                      f"{len(qs)} questions.",
                      "Pick a choice or answer in your own words. Say help at any time.")
        intro.opening = True
        return [intro, self._question(gs, 0)]

    def _expired_notice(self, gs: GradingSession) -> Prompt:
        """Said when input reaches a grading idle past the limit: it is now a draft, the
        input was not taken (it may answer a question asked days ago), and one tap resumes
        it where it was."""
        return Prompt(kind=Kind.INFO, session_id=gs.id,
                      text="This grading was idle too long, so it was put aside as a draft; "
                           "your answers are kept. That last message was not recorded.",
                      detail="Resume to pick up at the question you were on, or start over.",
                      choices=[Option(value=opts.command("resume", gs.id),
                                      label="Resume", style="primary"),
                               Option(value=opts.command("restart", gs.id),
                                      label="Start over")], closed=True)

    def _resume_offer(self, s: Session, gs: GradingSession, customer: Customer,
                      lead: str, cadence: Cadence | None = None) -> Prompt:
        """Resume, or start over — with the sheet the rep just asked for, if they named one."""
        n = len(sessions_db.current_answers(s, gs.id))
        return Prompt(kind=Kind.RESUME_OR_RESTART, session_id=gs.id, customer=customer.name,
                      text=f"{lead} {customer.name} ({gs.cadence}, {n} answered). Resume it or "
                           "start over?",
                      choices=[Option(value=opts.command("resume", gs.id),
                                      label="Resume", style="primary"),
                               Option(value=opts.command("restart", gs.id, cadence=cadence),
                                      label="Start over")])

    # ------------------------------------------------------------------ questions
    def questions(self, gs: GradingSession) -> tuple[Question, ...]:
        return self.ws.questions_for(gs.cadence)

    def customer_name(self, gs: GradingSession) -> str:
        return str(gs.state.get("customer", ""))

    def asked(self, gs: GradingSession, q: Question) -> str:
        """A question as this grading asks it (the customer's name filled in)."""
        return asked(q, self.customer_name(gs))

    def _question(self, gs: GradingSession, index: int, lead: str = "") -> Prompt:
        qs = self.questions(gs)
        q = qs[index]
        name = self.customer_name(gs)
        choices = _answer_options(q)
        # back/skip carry the position they were offered at: a double click acts once
        skip = opts.command("skip", at=index)
        if not q.scored:  # a note: "nothing to add" is an answer a tap can give
            choices = [Option(value=skip, label="Nothing to add")]
        actions = [Option(value=opts.command("back", at=index), label="Back")] \
            if index else []
        if q.scored:
            actions.append(Option(value=skip, label="Skip"))
        actions.append(Option(value=opts.command("why"), label="Why?"))
        return Prompt(kind=Kind.QUESTION, session_id=gs.id, question_id=q.id, customer=name,
                      text=(lead + " " if lead else "") + self.asked(gs, q),
                      detail=q.help or hint_for(q), progress=Progress(index=index + 1,
                                                                      total=len(qs)),
                      choices=choices, actions=actions)

    def _why(self, q: Question) -> str:
        """The worksheet's reason for asking ``q``; else what it feeds (nothing, for a
        free-text question without one)."""
        if q.why:
            return q.why
        if q.dimension is None:
            return "it is not scored: it keeps context for whoever grades this customer next."
        dim = self.ws.dimension_map.get(q.dimension)
        return f"it feeds the {dim.name if dim else q.dimension} score."

    def _current(self, s: Session, gs: GradingSession) -> Prompt:
        """Where the conversation stands: the current question, the review, or status."""
        if gs.kind == SessionKind.STRATEGIC:
            return self.strategic.current(s, gs)
        if gs.status == SessionStatus.REVIEW or gs.position >= len(self.questions(gs)):
            return self._review(s, gs)
        if gs.status in (SessionStatus.OPEN, SessionStatus.PAUSED):
            return self._question(gs, gs.position)
        return info(gs, f"This grading is {gs.status}.")

    def _next_position(self, s: Session, gs: GradingSession, answered: set[str]) -> int:
        qs = self.questions(gs)
        if gs.state.get("return_to_review"):
            return len(qs)
        for i in range(gs.position + 1, len(qs)):
            if qs[i].id not in answered:
                return i
        return len(qs)

    # ------------------------------------------------------------------ answering
    def _answer_text(self, s: Session, actor: Actor, gs: GradingSession, text: str,
                     input_key: str | None) -> Reply:
        qs = self.questions(gs)
        if gs.position >= len(qs):
            return [error("All questions are answered: say save, discard, or change N.", gs),
                    self._review(s, gs)]
        q = qs[gs.position]
        # explicit answers ("4", "yes") never reach the LLM; only what the rules cannot read
        reading = self.rules.read(q, (), text, self.customer_name(gs))
        if reading.failure is not None and self.interpreter is not self.rules:
            answered = set(sessions_db.current_answers(s, gs.id))
            others = [o for o in qs if o.id != q.id and o.id not in answered and o.scored]
            reading = self.interpreter.read(q, others, text, self.customer_name(gs))
        by_id = {x.id: x for x in qs}
        legal = [a for a in reading.answers
                 if a.question_id in by_id and is_legal(by_id[a.question_id], a.value)]
        mine = next((a for a in legal if a.question_id == q.id), None)
        extra = [a for a in legal if a.question_id != q.id]
        if mine is None:
            failure = reading.failure
            reason = failure.reason if failure else "I couldn't read that as an answer."
            hint = hint_for(q) + ("" if q.type in (AnswerType.YES_NO, AnswerType.TEXT)
                                  else " Don't know? Say skip.")
            if reading.note:  # the model is failing: say so rather than look obtuse
                hint += f" {reading.note}"
            reply = [Prompt(kind=Kind.REASK, session_id=gs.id, question_id=q.id,
                            text=reason, detail=hint, customer=self.customer_name(gs))]
            reply += [self._confirm(gs, by_id[a.question_id], a) for a in extra]
            return [*reply, self._question(gs, gs.position)]
        if mine.confidence < CONFIDENT:
            return [self._confirm(gs, q, mine, nearest=True)] + \
                   [self._confirm(gs, by_id[a.question_id], a) for a in extra]
        src = AnswerSource.TEXT if q.type is AnswerType.TEXT else (
            AnswerSource.LLM if mine.source == "llm" else AnswerSource.RULES)
        reply = self._record(s, actor, gs, q, mine.value, text, src, mine.confidence,
                             input_key)
        if extra and reply:
            reply[1:1] = [self._confirm(gs, by_id[a.question_id], a) for a in extra]
        return reply

    def _confirm(self, gs: GradingSession, q: Question, a: Interpretation,
                 nearest: bool = False) -> Prompt:
        reads = shown(q, a.value)
        options = [Option(value=opts.encode(opts.Confirm(q.id, str(a.value))),
                          label=f"Yes: {reads}", style="primary")]
        if nearest:
            options += [o for o in _answer_options(q, near=a.value, confirm=True)
                        if o.value != options[0].value][:4]
        why = f" ({a.rationale})" if a.rationale else ""
        return Prompt(kind=Kind.CONFIRM, session_id=gs.id, question_id=q.id,
                      customer=self.customer_name(gs),
                      text=f"{q.label}: did you mean {reads}?{why}",
                      detail="Pick one, or type your answer again.", choices=options)

    def _record(self, s: Session, actor: Actor, gs: GradingSession, q: Question,
                value: AnswerValue, raw: str, source: str, confidence: float,
                input_key: str | None) -> Reply:
        qs = self.questions(gs)
        answered = set(sessions_db.current_answers(s, gs.id)) | {q.id}
        is_current = gs.position < len(qs) and qs[gs.position].id == q.id
        changes: dict[str, object] = {}
        if is_current:
            nxt = self._next_position(s, gs, answered)
            changes["position"] = nxt
            if nxt >= len(qs):
                changes["status"] = SessionStatus.REVIEW
                changes["state"] = {**gs.state, "return_to_review": False}
        changes["state"] = sessions_db.with_change(
            changes.get("state", gs.state), actor.where,  # type: ignore[arg-type]
            f"{q.label} → {display_value(q, value)}")
        recorded = sessions_db.record_answers(
            s, gs, [{"question_id": q.id, "value": value, "raw_text": raw[:MAX_TEXT],
                     "source": source, "confidence": confidence}],
            person_id=actor.person_id, input_key=input_key, **changes)
        if recorded and recorded[0].duplicate:
            return []  # a retried delivery: it was handled the first time
        number = qs.index(q) + 1 if q in qs else None
        echo = Prompt(kind=Kind.ECHO, session_id=gs.id, question_id=q.id,
                      customer=self.customer_name(gs),
                      text=f"Got it: {shown(q, value)}", answer=shown(q, value),
                      question=self.asked(gs, q),
                      # where the answered question sits, for channels that show it answered
                      progress=Progress(index=number, total=len(qs)) if number else None,
                      actions=[Option(value=opts.command("change", number),
                                      label="Change")] if number else [])
        return [echo, self._current(s, gs)]

    # ------------------------------------------------------------------ options
    def _choose(self, s: Session, actor: Actor, gs: GradingSession, opt: opts.EngineValue,
                input_key: str | None) -> Reply:
        if isinstance(opt, opts.Command):
            if opt.at is not None and (opt.at != gs.position
                                       or gs.status != SessionStatus.OPEN):
                return []  # offered at another position: a stale or repeated click
            if opt.word in ("resume", "restart") and opt.number is not None \
                    and opt.number != gs.id:
                return [error("That button belongs to another grading.")]
            return self._command(s, actor, gs, opt.word, opt.number, opt.cadence)
        if isinstance(opt, opts.Decide):
            return self.strategic.decide(s, actor, gs, opt.customer_id, opt.decision)
        if not isinstance(opt, opts.Answer | opts.Confirm):
            return [error("That button is no longer valid here.", gs)]  # (pick/create: above)
        if not SessionKind(gs.kind).worksheet or gs.status not in (SessionStatus.OPEN,
                                                             SessionStatus.REVIEW):
            return [info(gs, f"This grading is {gs.status}; that answer was not recorded.")]
        qs = self.questions(gs)
        q = next((x for x in qs if x.id == opt.question_id), None)
        if q is None:
            return [error("That answer belongs to a question this grading does not ask.", gs)]
        current = gs.position < len(qs) and qs[gs.position].id == q.id \
            and gs.status == SessionStatus.OPEN
        if not current:
            answered = sessions_db.current_answers(s, gs.id)
            # a confirmation may answer a question mentioned in passing, while it is open
            if not isinstance(opt, opts.Confirm) or q.id in answered:
                return self._stale(gs, q, answered.get(q.id), opt.value)
        parsed = parse_answer(q, opt.value)
        if not isinstance(parsed, Parsed):
            return [error(f"That is not a valid answer: {parsed.reason}", gs)]
        return self._record(s, actor, gs, q, parsed.value, opt.value, AnswerSource.BUTTON,
                            1.0, input_key)

    def _stale(self, gs: GradingSession, q: Question, answer: object, tapped: str) -> Reply:
        """A tap on a question card that is no longer the current one (a card left over
        from before a typed answer, back or change): it never changes an answer silently;
        it says what stands and offers to change it."""
        qs = self.questions(gs)
        number = qs.index(q) + 1
        value = getattr(answer, "value", None)
        if value is not None and str(value) == tapped:
            return []  # the same answer again (a double click): nothing changes
        change = Option(value=opts.command("change", number), label="Change it")
        if value is not None:
            text = (f"That question was already answered ({q.label}: {shown(q, value)}), so "
                    "that tap changed nothing. Change it?")
        else:
            text = f"That question ({q.label}) was skipped, so that tap changed nothing. " \
                   "Answer it now?"
        return [Prompt(kind=Kind.INFO, session_id=gs.id, question_id=q.id,
                       customer=self.customer_name(gs), text=text, actions=[change])]

    # ------------------------------------------------------------------ commands
    def _command(self, s: Session, actor: Actor, gs: GradingSession, word: str,
                 arg: int | None, cadence: Cadence | None = None) -> Reply:
        """Run a command word (typed, or a button's) through ``COMMANDS``: each entry says
        when it applies, so the refusals are said once, here."""
        entry = COMMANDS.get(word)
        if entry is None:  # (command_of and the option codec only let known words through)
            return [info(gs, HELP_TEXT)]
        if word == "save" and gs.status == SessionStatus.SAVED:
            return []  # a second click on Save: the first one saved it and says so
        if entry.when is not When.ANY and gs.status not in ACTIVE_STATUSES:
            return [info(gs, f"This grading is {gs.status}. Start a new one with "
                             f"{self.words.how_to_grade}.")]
        if entry.when is When.MOVING:
            if gs.status == SessionStatus.PAUSED:
                return [info(gs, "This grading is paused. Say resume to continue.")]
            if gs.kind == SessionKind.STRATEGIC:
                return self.strategic.command(s, gs, word)
        return entry.run(self, Step(s, actor, gs, arg, cadence))

    def _help(self, st: Step) -> Reply:
        return [info(st.gs, HELP_TEXT)]

    def _why_cmd(self, st: Step) -> Reply:
        gs, qs = st.gs, self.questions(st.gs)
        if SessionKind(gs.kind).worksheet and gs.position < len(qs):
            q = qs[gs.position]
            return [info(gs, f"Why we ask about {q.label.lower()}: {self._why(q)}")]
        return [info(gs, "The review shows what lifted and what held back the grade.")]

    def _resume(self, st: Step) -> Reply:
        s, gs, qs = st.s, st.gs, self.questions(st.gs)
        if gs.status in (SessionStatus.PAUSED, SessionStatus.EXPIRED):
            status = SessionStatus.REVIEW if gs.position >= len(qs) \
                and SessionKind(gs.kind).worksheet else SessionStatus.OPEN
            try:
                sessions_db.update_session(s, gs, status=status)
            except IntegrityError:  # another grading of this customer (or review) is active
                what = "strategic review" if gs.customer_id is None else \
                    "grading of this customer"
                return [error(f"You already have another {what} open.")]
        elif gs.status not in ACTIVE_STATUSES:
            return [info(gs, f"This grading is {gs.status} and cannot be resumed.")]
        asked = self.opinions.resume_note(s, gs) if gs.kind == SessionKind.OPINION else ""
        return [info(gs, "Picking up where you left off.", asked), self._current(s, gs)]

    def _restart(self, st: Step) -> Reply:
        s, gs = st.s, st.gs
        if gs.kind == SessionKind.OPINION:
            return [restart_refused(gs)]
        customer = s.get(Customer, gs.customer_id) if gs.customer_id else None
        if gs.status not in (SessionStatus.SAVED, SessionStatus.DISCARDED):
            sessions_db.update_session(s, gs, status=SessionStatus.DISCARDED,
                                       state=_ended_by(gs, st.actor, "started over"))
        if customer is None:
            return self.strategic.start(s, st.actor)
        return self._new_session(s, st.actor, customer, st.cadence or Cadence(gs.cadence))

    def _pause(self, st: Step) -> Reply:
        gs = st.gs
        sessions_db.update_session(st.s, gs, status=SessionStatus.PAUSED,
                                   state=sessions_db.with_change(gs.state, st.actor.where,
                                                                 "paused"))
        return [info(gs, "Paused. Say resume when you're ready; your answers are "
                     "kept.").model_copy(update={"closed": True})]

    def _discard(self, st: Step) -> Reply:
        gs = st.gs
        notices = self.opinions.decline(st.s, st.actor, gs) \
            if gs.kind == SessionKind.OPINION else []
        sessions_db.update_session(st.s, gs, status=SessionStatus.DISCARDED,
                                   state=_ended_by(gs, st.actor, "discarded"))
        GRADINGS.labels("discarded").inc()
        return [info(gs, "Discarded. Nothing was saved as a grade.").model_copy(
            update={"closed": True}), *notices]

    def _back(self, st: Step) -> Reply:
        gs = st.gs
        pos = max(0, min(gs.position, len(self.questions(gs))) - 1)
        sessions_db.update_session(st.s, gs, position=pos, status=SessionStatus.OPEN,
                                   state={**gs.state, "return_to_review": False})
        return [self._question(gs, pos)]

    def _skip(self, st: Step) -> Reply:
        s, gs, qs = st.s, st.gs, self.questions(st.gs)
        if gs.position >= len(qs):
            return [self._review(s, gs)]
        answered = set(sessions_db.current_answers(s, gs.id))
        nxt = self._next_position(s, gs, answered)
        changes: dict[str, object] = {"position": nxt}
        if nxt >= len(qs):
            changes["status"] = SessionStatus.REVIEW
            changes["state"] = {**gs.state, "return_to_review": False}
        sessions_db.update_session(s, gs, **changes)
        return [self._current(s, gs)]

    def _change(self, st: Step) -> Reply:
        gs, arg, n = st.gs, st.number, len(self.questions(st.gs))
        if arg is None or not 1 <= arg <= n:
            which = f"There is no question {arg}. " if arg is not None else ""
            return [error(f"{which}Say change and a question number from 1 to {n}, "
                          "e.g. change 2.", gs)]
        back_to_review = gs.status == SessionStatus.REVIEW or bool(
            gs.state.get("return_to_review"))
        sessions_db.update_session(st.s, gs, position=arg - 1, status=SessionStatus.OPEN,
                                   state={**gs.state, "return_to_review": back_to_review})
        return [self._question(gs, arg - 1)]

    def _review_cmd(self, st: Step) -> Reply:
        return [self._review(st.s, st.gs)]

    def _save_cmd(self, st: Step) -> Reply:
        return self._save_asked(st.s, st.actor, st.gs)

    def _save_asked(self, s: Session, actor: Actor, gs: GradingSession) -> Reply:
        """Saving a grade that leaves scored questions unanswered asks once, with what it
        covers ("save" half-way may also mean "keep my progress", which is pause); a second
        save with no new answer in between saves it as it is."""
        answered = sessions_db.current_answers(s, gs.id)
        scored_qs = [q for q in self.questions(gs) if q.scored]
        missing = [q for q in scored_qs if q.id not in answered]
        if not answered or not missing or gs.state.get("save_asked_at") == len(answered):
            return self._save(s, actor, gs)
        scored, _ = self._sheet(s, gs)
        if scored is not None and scored.coverage >= 0.999:  # complete with carried answers
            return self._save(s, actor, gs)
        coverage = f" ({scored.coverage:.0%} of the weighted sheet)" if scored else ""
        sessions_db.update_session(s, gs, state={**gs.state, "save_asked_at": len(answered)})
        first = self.questions(gs).index(missing[0]) + 1
        ask = Prompt(
            kind=Kind.CONFIRM, session_id=gs.id, customer=self.customer_name(gs),
            title="Save an incomplete grade?",
            text=f"Only {len(scored_qs) - len(missing)} of {len(scored_qs)} scored questions "
                 f"are answered{coverage}. Save the grade as it is?",
            detail="Pause keeps it for later.",
            actions=[Option(value=opts.command("save"), label="Save anyway",
                            style="primary"),
                     Option(value=opts.command("change", first),
                            label=f"Answer question {first}")])
        return [ask] if gs.status == SessionStatus.REVIEW else [ask, self._review(s, gs)]

    # ------------------------------------------------------------------ review & save
    def _sheet(self, s: Session, gs: GradingSession) -> tuple[ScoredGrade | None, MergedSheet]:
        """This grading's answers over the whole worksheet: merged with the customer's latest
        earlier answers (scoring.sheet), and graded. Answers the current worksheet no longer
        accepts are left out."""
        qmap = self.ws.question_map
        fresh = {k: a.value for k, a in
                 sessions_db.current_answers(s, gs.id).items()
                 if k in qmap and is_legal(qmap[k], a.value)}
        # a second opinion is blind: nothing is carried from the customer's earlier grades
        earlier = (grades_db.earlier_answers(s, gs.customer_id)
                   if gs.customer_id is not None and gs.kind != SessionKind.OPINION else {})
        merged = merge_answers(self.ws, fresh, earlier, self.clock())
        try:
            return grade(self.ws, merged.answers, gs.cadence), merged
        except NoAnswersError:
            return None, merged

    def _sheet_note(self, s: Session, gs: GradingSession, merged: MergedSheet) -> str | None:
        """"5 answers from this pulse, 9 carried from the annual of 2026-10-02"."""
        tz = self.zone(s, gs.person_id)
        days = {k: (a.cadence, a.at.astimezone(tz).date()) for k, a in merged.carried.items()}
        return sheet_note(gs.cadence, self._fresh_scored(merged), days, len(merged.stale))

    def _fresh_scored(self, merged: MergedSheet) -> int:
        return sum(1 for k in merged.fresh if self.ws.question_map[k].scored)

    def _review(self, s: Session, gs: GradingSession) -> Prompt:
        scored, merged = self._sheet(s, gs)
        answers = merged.answers
        qs = self.questions(gs)
        name = self.customer_name(gs)
        lines = [AnswerLine(number=i + 1, question_id=q.id, label=q.label,
                            answer=shown(q, answers[q.id])
                            if q.id in merged.fresh else None)
                 for i, q in enumerate(qs)]
        change = Option(value=opts.command("change", 1), label="Change an answer",
                        menu=[Option(value=opts.command("change", line.number),
                                     label=f"{line.number}. {line.label}") for line in lines])
        save = Option(value=opts.command("save"), style="primary",
                      label="Save" if scored is not None and scored.graded else "Keep as draft")
        actions = [save, change,
                   Option(value=opts.command("discard"), label="Discard", style="danger")]
        if scored is None:
            return Prompt(kind=Kind.REVIEW, session_id=gs.id, customer=name, title=REVIEW_TITLE,
                          text=f"Nothing about {name} is answered yet, so there is no grade.",
                          detail="Say change 1 to answer the first question, or discard.",
                          actions=actions[1:])
        customer = s.get(Customer, gs.customer_id) if gs.customer_id else None
        previous = grades_db.latest_grade(s, customer) \
            if customer and gs.kind != SessionKind.OPINION else None  # blind until saved
        summary = self._summary(scored, name) if scored.graded else None
        note = self._sheet_note(s, gs, merged)
        rec = scored.recommendation.label if scored.recommendation else None
        review = Review(
            customer=name, cadence=gs.cadence, letter=scored.letter, total=scored.total,
            recommendation=rec, profile=scored.profile.label if scored.profile else None,
            coverage=scored.coverage,
            dimensions=[DimensionLine(name=d.name, score=d.score, answered=d.answered,
                                      asked=d.asked) for d in scored.dimensions],
            lifted_by=[r.text for r in scored.reasons_up[:3]],
            held_back_by=[r.text for r in scored.reasons_down[:3]],
            caps=[k.reason for k in scored.knockouts], answers=lines,
            previous_letter=previous.letter if previous else None,
            previous_total=previous.total if previous else None,
            previous_profile=Good(previous.profile).label
            if previous and previous.profile else None,
            summary=summary, carried_by=scored.carried_by, sheet=note,
            provisional=scored.provisional,
            not_enough=None if scored.graded else scored.not_enough)
        if not scored.graded:
            return Prompt(kind=Kind.REVIEW, session_id=gs.id, customer=name, review=review,
                          title=REVIEW_TITLE, text=f"{name}: {scored.not_enough}",
                          detail="Answer more (change N), keep it as a draft, or discard.",
                          actions=actions)
        mark = f", provisional: {scored.coverage:.0%} answered" if scored.provisional else ""
        text = (f"{name}: {scored.letter} ({scored.total:g}/100{mark}), "
                f"recommendation: {rec}.")
        if review.unchanged:
            text += " No change since the last grade."
        return Prompt(kind=Kind.REVIEW, session_id=gs.id, customer=name, review=review,
                      title=REVIEW_TITLE, text=text,
                      detail=summary or " ".join(self._explanation(scored, note)),
                      actions=actions)

    @staticmethod
    def _explanation(scored: ScoredGrade, note: str | None) -> list[str]:
        """The grade's sentences, with where its answers came from after "Carried by …"."""
        lines = scored.explanation()
        if note:
            at = next((i + 1 for i, line in enumerate(lines) if line.startswith("Carried by")),
                      0)
            lines.insert(at, note[0].upper() + note[1:] + ".")
        return lines

    def _summary(self, scored: ScoredGrade, name: str) -> str | None:
        if self.summarizer is None:
            return None
        try:
            return self.summarizer(scored, name)
        except Exception:  # the rule-based explanation is always there as the fallback
            return None

    def _save(self, s: Session, actor: Actor, gs: GradingSession) -> Reply:
        scored, merged = self._sheet(s, gs)
        if scored is None:
            return [error("There is nothing to save yet: answer at least one question.", gs)]
        customer = s.get(Customer, gs.customer_id) if gs.customer_id else None
        if customer is None:
            return [error("This customer no longer exists; the grading cannot be saved.", gs)]
        if not scored.graded:
            return self._keep_draft(s, gs, scored)
        note = self._sheet_note(s, gs, merged)
        # the review card as saved (channels turn the review they showed into it); its
        # summary is the one stored, so the model is asked once
        saved_card = self._review(s, gs).review
        row = grades_db.grade_row(
            scored, workspace_id=actor.workspace_id, customer=customer,
            grader_id=actor.person_id,
            period=period_key(self.today(s, actor.person_id), gs.cadence),
            answers=merged.answers, session_id=gs.id,
            summary=saved_card.summary if saved_card else None,
            sources=merged.sources_json(self._fresh_scored(merged)),
            explanation=self._explanation(scored, note))
        if gs.kind == SessionKind.OPINION:
            return self.opinions.save(s, actor, gs, customer, row, saved_card,
                                      _ended_by(gs, actor, "saved"))
        previous = grades_db.latest_grade(s, customer)
        from_review = gs.status == SessionStatus.REVIEW
        sessions_db.finish_session(s, gs, grade=row, customer=customer,
                                   state=_ended_by(gs, actor, "saved"))
        GRADINGS.labels("saved").inc()
        mark = f", provisional: {scored.coverage:.0%} answered" if scored.provisional else ""
        text = (f"Saved: {customer.name} is graded {row.letter} ({row.total:g}/100{mark}). "
                f"Recommendation: {Recommendation(row.recommendation).label}.")
        if previous is not None:
            same = (previous.total, previous.letter, previous.profile) == (
                row.total, row.letter, row.profile)
            text += " No change since the last grade." if same else \
                f" Previously {previous.letter} ({previous.total:g})."
        return [Prompt(kind=Kind.SAVED, session_id=gs.id, customer=customer.name, text=text,
                       detail=" ".join(row.explanation), grade_id=row.id,
                       closes_review=from_review, review=saved_card, title=SAVED_TITLE,
                       closed=True)]

    def _keep_draft(self, s: Session, gs: GradingSession, scored: ScoredGrade) -> Reply:
        """Too little of the worksheet is answered for a letter: nothing is stored as a
        grade; the grading is paused with its answers, to finish later."""
        from_review = gs.status == SessionStatus.REVIEW
        sessions_db.update_session(s, gs, status=SessionStatus.PAUSED)
        return [Prompt(kind=Kind.INFO, session_id=gs.id, customer=self.customer_name(gs),
                       text=f"{scored.not_enough} Kept as a draft: nothing was saved as a "
                            "grade.",
                       detail="Say resume to answer more now, or later with "
                              f"{self.words.how_to_grade}.",
                       choices=[Option(value=opts.command("resume", gs.id),
                                       label="Resume", style="primary")],
                       closes_review=from_review)]

    # ------------------------------------------------------------------ the form path
    def form(self, actor: Actor, session_id: int | None) -> FormState | FormRefused:
        """What the form of ``session_id`` shows, or why ``actor`` may not open it."""
        refused = FormRefused("That grading is finished or no longer yours; start a new "
                              f"one with {self._words_of(actor).how_to_grade}.")

        def read() -> FormState | FormRefused:
            with Session(self.db) as s:
                gs = self._fillable(s, actor, session_id)
                if gs is None or gs.status not in ACTIVE_STATUSES:
                    return refused
                assert gs.id is not None  # (a stored row)
                current = {k: a.value for k, a in sessions_db.current_answers(s, gs.id).items()}
                return FormState(gs.id, self.customer_name(gs), self.questions(gs), current)

        return once_more_if_dropped(read)  # a read: safe to redo

    def _fillable(self, s: Session, actor: Actor, session_id: int | None
                  ) -> GradingSession | None:
        """The one rule for the form: ``actor``'s own grading of a customer (a strategic
        review has no sheet); None for anything else, a stale id included."""
        if session_id is None:
            return None
        gs = self._session_for(s, actor, session_id)
        return gs if gs is not None and SessionKind(gs.kind).worksheet else None

    def submit_form(self, actor: Actor, session_id: int, raw: dict[str, str], *,
                    input_key: str | None = None) -> dict[str, str] | Reply:
        """Answer the whole sheet at once (a Slack modal, a Teams form card) and save.

        Returns ``{question_id: reason}`` when some answers are invalid (nothing is stored),
        else the prompts of the saved grade. Empty fields are left unanswered."""
        token = self._speaking(actor)
        try:
            return self._in_transaction(lambda s: self._submit(s, actor, session_id, raw,
                                                               input_key))
        finally:
            _WORDS.reset(token)

    def _submit(self, s: Session, actor: Actor, session_id: int, raw: dict[str, str],
                input_key: str | None) -> dict[str, str] | Reply:
        gs = self._fillable(s, actor, session_id)
        if gs is None:
            return [error("That grading is not one of yours, or it no longer exists. Start "
                           f"one with {self.words.how_to_grade}.")]
        if gs.status == SessionStatus.SAVED:
            return []  # submitted twice: the first one saved it
        if gs.status not in ACTIVE_STATUSES:
            return [error(f"This grading is {gs.status}; start again with "
                           f"{self.words.how_to_grade}.")]
        errors: dict[str, str] = {}
        answers: list[dict[str, object]] = []
        for q in self.questions(gs):
            text = (raw.get(q.id) or "").strip()
            if not text:
                continue
            parsed = parse_answer(q, text)
            if isinstance(parsed, Parsed):
                answers.append({"question_id": q.id, "value": parsed.value,
                                "raw_text": text[:MAX_TEXT], "source": AnswerSource.FORM})
            else:
                errors[q.id] = f"{parsed.reason} {parsed.hint}"
        if errors:
            return errors
        if not answers and not sessions_db.current_answers(s, gs.id):
            first = self.questions(gs)[0].id
            return {first: "Answer at least one question to get a grade."}
        if answers:
            sessions_db.record_answers(
                s, gs, answers, person_id=actor.person_id, input_key=input_key,
                position=len(self.questions(gs)), status=SessionStatus.REVIEW)
        return self._save(s, actor, gs)


COMMANDS: dict[str, CommandEntry] = {
    "help": CommandEntry(When.ANY, Conversation._help),
    "why": CommandEntry(When.ANY, Conversation._why_cmd),
    "resume": CommandEntry(When.ANY, Conversation._resume),
    "restart": CommandEntry(When.ANY, Conversation._restart),
    "pause": CommandEntry(When.ACTIVE, Conversation._pause),
    "cancel": CommandEntry(When.ACTIVE, Conversation._discard),
    "discard": CommandEntry(When.ACTIVE, Conversation._discard),
    "back": CommandEntry(When.MOVING, Conversation._back),
    "skip": CommandEntry(When.MOVING, Conversation._skip),
    "change": CommandEntry(When.MOVING, Conversation._change),
    "review": CommandEntry(When.MOVING, Conversation._review_cmd),
    "save": CommandEntry(When.MOVING, Conversation._save_cmd),
}
"""Every command word the engine takes (typed, or on a button), and when it applies."""


def _answer_options(q: Question, near: object = None, *, confirm: bool = False
                    ) -> list[Option]:
    """The answers a question offers for one tap (``scoring.taps`` picks them, and the value
    a band records): buttons, or one option with a menu when there are too many. ``near``:
    sort by closeness to that number (the choices offered to confirm a reading)."""
    make = opts.Confirm if confirm else opts.Answer
    taps = tap_choices(q)
    choices = list(taps.choices)
    if isinstance(near, int | float) and not isinstance(near, bool) and q.type in _NUMERIC:
        choices.sort(key=lambda c: abs(float(c.value) - near))
    out = [Option(value=opts.encode(make(q.id, str(c.value))), label=c.label)
           for c in choices]
    if taps.menu and not confirm:
        return [Option(value=opts.command("help"), label="Pick a value", menu=out)]
    return out


def shown(q: Question, value: object) -> str:
    """How a recorded answer reads back: a tapped band as its label ("0.5–2 %"), anything
    else as ``display_value`` has it."""
    return tap_label(q, value) or display_value(q, value)  # type: ignore[arg-type]


_NUMERIC = (AnswerType.SCALE, AnswerType.PERCENT, AnswerType.NUMBER)


NOT_YOURS = ("That customer is not in your book (or your team's), so you cannot grade it "
             "here.")  # (followed by how to start a grading, in the channel's words)


def elsewhere_line(name: str, owner: Person | None) -> str:
    """Said of a customer in a book the person may not see: that it exists and whom to
    ask — never its grade."""
    who = owner.display_name if owner else "someone else"
    return f"{name} is in {who}'s book. Ask them or your manager to grade it."


def _ended_by(gs: GradingSession, actor: Actor, what: str) -> dict[str, object]:
    """The state of a grading ``actor`` ends here (saved, discarded): other places are told
    at their next step."""
    return {**sessions_db.with_change(gs.state, actor.where, what), "ended_by": actor.where}
