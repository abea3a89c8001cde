"""Who may see which customers — the one rule, in Python and in SQL.

A rep sees their own book; a manager their own and their direct reports' books; an admin
everything. A customer nobody owns yet is everyone's to see (grading it makes it yours).
Every look-up, suggestion ("did you mean"), App Home, button and form goes through this
module, so the rule cannot drift between two copies of it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true
from sqlmodel import col, select

from storage.models import Customer, Person, Role


def can_see(viewer: Person, owner: Person | None) -> bool:
    """May ``viewer`` see a customer owned by ``owner`` (None: owned by nobody)?"""
    if viewer.role == Role.ADMIN or owner is None or owner.id == viewer.id:
        return True
    return viewer.role == Role.MANAGER and owner.manager_id == viewer.id


def can_see_person(viewer: Person, other: Person) -> bool:
    """May ``viewer`` see ``other``'s book (``/grades @other``, a team portfolio)?"""
    return can_see(viewer, other)


def visible_customers(viewer: Person) -> ColumnElement[bool]:
    """``can_see`` as a WHERE clause on ``Customer`` (the same rule, for queries)."""
    if viewer.role == Role.ADMIN:
        return true()
    mine = or_(col(Customer.owner_id).is_(None), col(Customer.owner_id) == viewer.id)
    if viewer.role != Role.MANAGER:
        return mine
    reports = select(Person.id).where(Person.manager_id == viewer.id)
    return or_(mine, col(Customer.owner_id).in_(reports))


# ------------------------------------------------------------------ second opinions, overrides
# Who may ask for, give, and see second opinions, and who may overrule a grade: beside the
# visibility rule, so the engine, the look-ups and the sweep all ask the same place.

def can_ask_opinion(asker: Person, owner: Person | None) -> bool:
    """The customer's owner or their manager (and admins) may ask for a second opinion; a
    customer nobody owns has no grade of record to compare with."""
    if owner is None:
        return False
    return (asker.id == owner.id or asker.role == Role.ADMIN
            or (asker.role == Role.MANAGER and owner.manager_id == asker.id))


def can_give_opinion(assignee: Person, owner: Person | None) -> bool:
    """Anyone in the workspace but the owner may be asked: a second opinion is someone
    else's view (a manager, finance, delivery)."""
    return owner is not None and assignee.id != owner.id \
        and assignee.workspace_id == owner.workspace_id


def can_override(setter: Person, owner: Person | None) -> bool:
    """Managers (for their reports' customers and unowned ones) and admins may overrule a
    grade; nobody may overrule a customer they own themselves — a rep can never overrule
    their own customers, whatever their role."""
    if setter.role not in (Role.MANAGER, Role.ADMIN):
        return False
    if owner is not None and owner.id == setter.id:
        return False
    return can_see(setter, owner)


def can_see_optimism(viewer: Person, rep: Person | None = None) -> bool:
    """How a rep's grades compare with second opinions is for managers and admins only (of
    the reps they may see)."""
    if viewer.role not in (Role.MANAGER, Role.ADMIN):
        return False
    return rep is None or can_see_person(viewer, rep)


def can_record_outcome(recorder: Person, owner: Person | None) -> bool:
    """Who may record what happened to a customer (renewed, churned, …) from a card or a
    renewal question: whoever may see it — its owner, their manager, an admin (and anyone,
    for a customer nobody owns yet), the same people the card is shown to."""
    return can_see(recorder, owner)
