"""Customers: finding one by what a rep typed, and creating it when it is new."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.errors import MAX_ID, InvalidInput, NotFound
from storage.models import Customer, CustomerStatus
from storage.names import clean_name, clean_text, normalize_name
from storage.types import utcnow

_CLOSE_CANDIDATES = 5000


@dataclass(frozen=True)
class CustomerMatch:
    """The result of looking a name up: one exact hit, or suggestions for "did you mean"."""

    query: str
    exact: Customer | None = None
    prefix: list[Customer] = field(default_factory=list)
    close: list[Customer] = field(default_factory=list)

    @property
    def suggestions(self) -> list[Customer]:
        seen: set[int | None] = set()
        out = []
        for c in [*self.prefix, *self.close]:
            if c.id not in seen:
                seen.add(c.id)
                out.append(c)
        return out[:5]


def find_customer(session: Session, workspace_id: int, name: str,
                  *, include_archived: bool = False) -> CustomerMatch:
    """Exact (case/accent/spacing-insensitive) match first, then names starting with what was
    typed, then close spellings. Never raises for odd input: it just finds nothing."""
    query = name.strip()
    key = normalize_name(query)
    if not key:
        return CustomerMatch(query)
    base = select(Customer).where(Customer.workspace_id == workspace_id)
    if not include_archived:
        base = base.where(col(Customer.archived).is_(False))
    exact = session.exec(base.where(Customer.normalized_name == key)).first()
    if exact is not None:
        return CustomerMatch(query, exact=exact)
    # a range scan uses the (workspace_id, normalized_name) unique index on both backends
    prefix = session.exec(base.where(Customer.normalized_name >= key,
                                     Customer.normalized_name < key + "\U0010ffff")
                          .order_by(Customer.normalized_name).limit(5)).all()
    rows = session.exec(base.where(Customer.normalized_name >= key[0],
                                   Customer.normalized_name < key[0] + "\U0010ffff")
                        .limit(_CLOSE_CANDIDATES)).all()
    by_key = {c.normalized_name: c for c in rows}
    close_keys = difflib.get_close_matches(key, list(by_key), n=5, cutoff=0.7)
    return CustomerMatch(query, prefix=list(prefix), close=[by_key[k] for k in close_keys])


def create_customer(session: Session, workspace_id: int, name: str, owner_id: int | None,
                    *, segment: str | None = None, status: str = CustomerStatus.CUSTOMER,
                    external_ref: str | None = None, commit: bool = True) -> Customer:
    clean = clean_name(name)
    try:
        status = CustomerStatus(status)
    except ValueError:
        raise InvalidInput(f"Unknown status {status!r}: use prospect, customer or former.") \
            from None
    c = Customer(workspace_id=workspace_id, name=clean, normalized_name=normalize_name(clean),
                 owner_id=owner_id, status=status,
                 segment=_optional(segment, "Segment"),
                 external_ref=_optional(external_ref, "External reference"))
    session.add(c)
    if commit:
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise InvalidInput(f"A customer called {clean!r} already exists.") from None
    return c


def _optional(value: str | None, what: str) -> str | None:
    """A cleaned optional field; empty or blank means "not given"."""
    return clean_text(value, what, 100, required=False) or None if value else None


def find_or_create_customer(session: Session, workspace_id: int, name: str,
                            owner_id: int | None) -> tuple[Customer, bool]:
    """The exact match, or a new customer owned by ``owner_id``; (customer, created)."""
    match = find_customer(session, workspace_id, clean_name(name), include_archived=True)
    if match.exact is not None:
        return match.exact, False
    try:
        return create_customer(session, workspace_id, name, owner_id), True
    except InvalidInput:  # created by someone else a moment ago
        again = find_customer(session, workspace_id, name, include_archived=True)
        if again.exact is None:
            raise
        return again.exact, False


def get_customer(session: Session, workspace_id: int, customer_id: int) -> Customer:
    if not 0 < customer_id <= MAX_ID:  # a forged button value: no such row (and no overflow)
        raise NotFound(f"No customer {customer_id} in this workspace.")
    c = session.get(Customer, customer_id)
    if c is None or c.workspace_id != workspace_id:
        raise NotFound(f"No customer {customer_id} in this workspace.")
    return c


def set_owner(session: Session, customer: Customer, owner_id: int | None) -> Customer:
    customer.owner_id = owner_id
    customer.updated_at = utcnow()
    session.add(customer)
    session.commit()
    return customer


def archive_customer(session: Session, customer: Customer, archived: bool = True) -> Customer:
    customer.archived = archived
    customer.updated_at = utcnow()
    session.add(customer)
    session.commit()
    return customer
