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
