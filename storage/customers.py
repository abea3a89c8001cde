"""Customers: finding one by what a rep typed, and creating it when it is new."""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.errors import MAX_ID, InvalidInput, NotFound
from storage.models import Customer, CustomerStatus, Person
from storage.names import clean_name, clean_text, normalize_name
from storage.types import utcnow
from storage.visibility import visible_customers

# "did you mean": how alike a name must be (rapidfuzz's ratio, 0-100: the share of characters
# two names have in common in order, as difflib's ratio) and how many names of a workspace
# are compared at most (every name of any workspace of a sales team; ~5 ms per 100k names).
CLOSE_CUTOFF = 70
CLOSE_CANDIDATES = 250_000


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


def _in_workspace(workspace_id: int, include_archived: bool) -> SelectOfScalar[Customer]:
    base = select(Customer).where(Customer.workspace_id == workspace_id)
    if not include_archived:
        base = base.where(col(Customer.archived).is_(False))
    return base


def customer_named(session: Session, workspace_id: int, name: str) -> Customer | None:
    """The customer whose name has the same key as ``name`` (archived or not), if any: the
    exact step of ``find_customer`` alone, for callers that never suggest anything."""
    key = normalize_name(name.strip())
    if not key:
        return None
    return session.exec(_in_workspace(workspace_id, True)
                        .where(Customer.normalized_name == key)).first()


def find_customer(session: Session, workspace_id: int, name: str,
                  *, include_archived: bool = False,
                  viewer: Person | None = None) -> CustomerMatch:
    """Exact (case/accent/spacing-insensitive) match first, then names starting with what was
    typed, then close spellings. Never raises for odd input: it just finds nothing.

    ``viewer``: suggest only customers that person may see (``storage.visibility``). The
    exact match is returned whoever owns it, so the caller can say whose book it is in
    (and show nothing else of it)."""
    query = name.strip()
    key = normalize_name(query)
    if not key:
        return CustomerMatch(query)
    base = _in_workspace(workspace_id, include_archived)
    exact = session.exec(base.where(Customer.normalized_name == key)).first()
    if exact is not None:
        return CustomerMatch(query, exact=exact)
    if viewer is not None:
        base = base.where(visible_customers(viewer))
    # a range scan uses the (workspace_id, normalized_name) unique index on both backends
    prefix = session.exec(base.where(Customer.normalized_name >= key,
                                     Customer.normalized_name < key + "\U0010ffff")
                          .order_by(Customer.normalized_name).limit(5)).all()
    return CustomerMatch(query, prefix=list(prefix), close=_close(session, base, workspace_id, key))


def _close(session: Session, base: SelectOfScalar[Customer], workspace_id: int,
           key: str) -> list[Customer]:
    """Names spelt like ``key``, best first, whatever letter the typo is in.

    Every normalized name of the workspace is compared: a typo in the first letter must be
    found too, so no index range can narrow it. The names come from the (workspace_id,
    normalized_name) index alone, through Core (~1 µs a name; ORM rows cost twice that), and
    only those whose length lets the ratio, 2 * common / (len a + len b), reach the cut-off.
    Archived customers are dropped after ranking, when the few best rows are loaded.
    """
    r = CLOSE_CUTOFF / 100
    length = func.length(Customer.normalized_name)
    keys = session.connection().execute(
        select(Customer.normalized_name)
        .where(Customer.workspace_id == workspace_id,
               length >= int(len(key) * r / (2 - r)), length <= int(len(key) * (2 - r) / r) + 1)
        .limit(CLOSE_CANDIDATES)).scalars().all()
    found = process.extract(key, keys, scorer=fuzz.ratio, score_cutoff=CLOSE_CUTOFF,
                            limit=None)
    # (more than five: names the viewer may not see are dropped when the rows are loaded)
    ranked = [k for k, _, _ in sorted(found, key=lambda f: (-f[1], f[0]))[:50]]
    if not ranked:
        return []
    rows = session.exec(base.where(col(Customer.normalized_name).in_(ranked))).all()
    by_key = {c.normalized_name: c for c in rows}
    return [by_key[k] for k in ranked if k in by_key][:5]


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
    if c.external_ref is not None:  # the CSV import updates customers by it
        other = session.exec(select(Customer).where(
            Customer.workspace_id == workspace_id,
            Customer.external_ref == c.external_ref)).first()
        if other is not None:
            raise InvalidInput(f"{other.name!r} already has the external reference "
                               f"{c.external_ref!r}.")
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
    found = customer_named(session, workspace_id, clean_name(name))
    if found is not None:
        return found, False
    try:
        return create_customer(session, workspace_id, name, owner_id), True
    except InvalidInput:  # created by someone else a moment ago
        again = customer_named(session, workspace_id, name)
        if again is None:
            raise
        return again, False


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
