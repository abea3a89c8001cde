"""Customers: look-up by what a rep typed, find-or-create, and names that are odd or hostile."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from storage import customers as customers_db
from storage import people as people_db
from storage.errors import InvalidInput, NotFound
from storage.models import NAME_MAX, Customer, Person, Workspace
from storage.names import normalize_name
from storage.types import utcnow
from tests.storage.helpers import customer


def names(cs: list[Customer]) -> list[str]:
    return [c.name for c in cs]


def count_customers(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Customer)).one()


@pytest.fixture
def book(session: Session, workspace: Workspace, rep: Person) -> dict[str, Customer]:
    out = {}
    for n in ("Acme Corp", "Acme Industries", "Acorn Ltd", "Zoë Café", "Straße GmbH",
              "Beta", "50 Cent Co", "Old Co"):
        out[n] = customer(session, workspace, n, rep)
    customers_db.archive_customer(session, out["Old Co"])
    return out


def test_exact_match_ignores_case_accents_spacing_and_width(
        session: Session, workspace: Workspace, book: dict[str, Customer]) -> None:
    for typed in ("Acme Corp", "acme corp", "ACME   CORP", "  Acmé Çorp ", "ａｃｍｅ ｃｏｒｐ"):
        m = customers_db.find_customer(session, workspace.id, typed)  # type: ignore[arg-type]
        assert m.exact is not None, typed
        assert m.exact.id == book["Acme Corp"].id, typed
        assert m.suggestions == [], typed


def test_non_ascii_case_folding(session: Session, workspace: Workspace,
                                book: dict[str, Customer]) -> None:
    ws = workspace.id
    assert customers_db.find_customer(session, ws, "zoe cafe").exact == book["Zoë Café"]
    assert customers_db.find_customer(session, ws, "STRASSE gmbh").exact == book["Straße GmbH"]


def test_prefix_suggestions_in_name_order(session: Session, workspace: Workspace,
                                          book: dict[str, Customer]) -> None:
    m = customers_db.find_customer(session, workspace.id, "acme")  # type: ignore[arg-type]
    assert m.exact is None
    assert names(m.prefix) == ["Acme Corp", "Acme Industries"]
    assert names(m.suggestions)[:2] == ["Acme Corp", "Acme Industries"]


def test_close_matches_for_did_you_mean(session: Session, workspace: Workspace,
                                        book: dict[str, Customer]) -> None:
    m = customers_db.find_customer(session, workspace.id, "Acme Crop")  # type: ignore
    assert m.exact is None
    assert m.prefix == []
    assert names(m.close)[0] == "Acme Corp"
    assert "Acme Corp" in names(m.suggestions)
    nothing = customers_db.find_customer(session, workspace.id, "Quux")  # type: ignore
    assert nothing.exact is None
    assert nothing.suggestions == []


def test_close_matches_whatever_letter_the_typo_is_in(
        session: Session, workspace: Workspace, rep: Person,
        book: dict[str, Customer]) -> None:
    ws = workspace.id
    for typed, meant in [("Bcme Corp", "Acme Corp"),       # the first letter
                         ("Stasse GmbH", "Straße GmbH"),   # a letter dropped
                         ("Zeo Cafe", "Zoë Café"),         # two swapped, accents left out
                         ("Acron Ltd", "Acorn Ltd")]:
        m = customers_db.find_customer(session, ws, typed)  # type: ignore[arg-type]
        assert m.exact is None, typed
        assert names(m.close)[0] == meant, (typed, names(m.close))
    # best first, ties in name order; nothing below the cut-off
    for n in ("Southwind", "Northwinds Co", "Northwood", "Northwind", "Eastwind Gmbh"):
        customer(session, workspace, n, rep)
    m = customers_db.find_customer(session, ws, "nortwind")  # type: ignore[arg-type]
    assert names(m.close) == ["Northwind", "Northwinds Co", "Northwood", "Southwind"]
    # an archived customer is not suggested, however close
    assert "Old Co" not in names(customers_db.find_customer(session, ws, "Olf Co").close)


def test_close_matches_look_at_every_name_of_a_big_workspace(
        session: Session, workspace: Workspace, rep: Person) -> None:
    """6,000 names share the first letter with the one meant: all of them are compared (an
    earlier version compared an arbitrary 5,000, and missed it)."""
    now = utcnow()
    rows = [{"workspace_id": workspace.id, "name": f"Alpha {i:05d} Ltd",
             "normalized_name": normalize_name(f"Alpha {i:05d} Ltd"), "owner_id": rep.id,
             "status": "customer", "archived": False, "created_at": now, "updated_at": now}
            for i in range(6000)]
    session.connection().execute(Customer.__table__.insert(), rows)  # type: ignore[attr-defined]
    target = customer(session, workspace, "Azimuth Systems", rep)
    m = customers_db.find_customer(session, workspace.id, "Azimuht Systems")  # type: ignore
    assert m.exact is None
    assert m.close[0].id == target.id


def test_archived_customers_are_excluded_unless_asked(session: Session, workspace: Workspace,
                                                      book: dict[str, Customer]) -> None:
    ws = workspace.id
    assert customers_db.find_customer(session, ws, "Old Co").exact is None  # type: ignore
    assert "Old Co" not in names(customers_db.find_customer(session, ws, "old").suggestions)
    assert customers_db.find_customer(session, ws, "Old Co", include_archived=True  # type: ignore
                                      ).exact == book["Old Co"]


def test_like_wildcards_are_plain_text_in_prefix_search(
        session: Session, workspace: Workspace, rep: Person, book: dict[str, Customer]) -> None:
    customer(session, workspace, "50% Off Shop", rep)
    customer(session, workspace, "a_b Corp", rep)
    customer(session, workspace, "axb Corp", rep)
    ws = workspace.id
    assert names(customers_db.find_customer(session, ws, "50%").prefix) == ["50% Off Shop"]
    assert names(customers_db.find_customer(session, ws, "a_b").prefix) == ["a_b Corp"]


def test_other_workspaces_are_invisible(session: Session, workspace: Workspace, rep: Person,
                                        book: dict[str, Customer]) -> None:
    other = people_db.get_or_create_workspace(session, "slack", "T0OTHER")
    assert customers_db.find_customer(session, other.id, "Acme Corp").exact is None  # type: ignore
    with pytest.raises(NotFound):
        customers_db.get_customer(session, other.id, book["Acme Corp"].id)  # type: ignore
    # the same name may exist in another workspace
    theirs = customers_db.create_customer(session, other.id, "Acme Corp", None)  # type: ignore
    assert theirs.id != book["Acme Corp"].id


def test_find_or_create(session: Session, workspace: Workspace, rep: Person,
                        book: dict[str, Customer]) -> None:
    ws = workspace.id
    c, created = customers_db.find_or_create_customer(session, ws, "New Deal Inc", rep.id)  # type: ignore
    assert created
    assert c.id is not None
    assert c.owner_id == rep.id
    again, created2 = customers_db.find_or_create_customer(session, ws, " NEW deal inc",  # type: ignore
                                                           None)
    assert not created2
    assert again.id == c.id
    # an archived customer is found, not duplicated
    old, created3 = customers_db.find_or_create_customer(session, ws, "old co", rep.id)  # type: ignore
    assert not created3
    assert old.id == book["Old Co"].id
    assert count_customers(session) == len(book) + 1


def test_duplicate_create_is_refused_clearly(session: Session, workspace: Workspace,
                                             rep: Person, book: dict[str, Customer]) -> None:
    with pytest.raises(InvalidInput, match="already exists"):
        customer(session, workspace, "ACME corp", rep)
    assert count_customers(session) == len(book)


def test_unknown_status_is_refused(session: Session, workspace: Workspace, rep: Person) -> None:
    with pytest.raises(InvalidInput, match="prospect, customer or former"):
        customer(session, workspace, "Status Co", rep, status="vip")
    assert count_customers(session) == 0


BAD_NAMES = [
    ("", "cannot be empty"),
    ("   \t ", "cannot be empty"),
    ("x" * 201, r"too long \(201 characters; at most 200\)"),
    ("Acme\x07Corp", r"control character \(U\+0007\)"),
    ("Acme\nCorp", r"control character \(U\+000A\)"),
    ("Acme\u202eProC", r"invisible or control character \(U\+202E\)"),
    ("Acme\u200bCorp", r"invisible or control character \(U\+200B\)"),
    ("\ufeffAcme", r"invisible or control character \(U\+FEFF\)"),
    ("\u0301", "needs at least one letter, digit or symbol"),     # a lone accent: no key
    ("\u200d\u0302", "needs at least one letter, digit or symbol"),
    ("ß" * (NAME_MAX // 2 + 1), r"too long once spelt out \(202 characters; at most 200\)"),
]


def test_bad_names_are_refused_and_nothing_is_stored(session: Session, workspace: Workspace,
                                                     rep: Person) -> None:
    for bad, message in BAD_NAMES:
        with pytest.raises(InvalidInput, match=message) as exc:
            customer(session, workspace, bad, rep)
        assert str(exc.value).startswith("Customer name "), bad
        with pytest.raises(InvalidInput, match=message):
            customers_db.find_or_create_customer(session, workspace.id, bad,  # type: ignore
                                                 rep.id)
        # looking such a name up never raises: it just finds nothing
        assert customers_db.find_customer(session, workspace.id, bad).exact is None  # type: ignore
    assert count_customers(session) == 0
    customer(session, workspace, "x" * 200, rep)  # the longest name allowed
    assert count_customers(session) == 1


def test_keys_that_spell_names_out_never_merge_two_names(
        session: Session, workspace: Workspace, rep: Person) -> None:
    """"ß" is "ss" and "ﬀ" is "ff" in the key: a key is never cut to fit, so two long names
    that differ only at the end stay two customers; joiners are invisible, so a name that
    differs only by one is the same customer."""
    a = customer(session, workspace, "ß" * 99 + "A", rep)
    b = customer(session, workspace, "ß" * 99 + "B", rep)
    assert a.id != b.id
    assert len(a.normalized_name) == NAME_MAX - 2 + 1
    found, created = customers_db.find_or_create_customer(
        session, workspace.id, "ss" * 99 + "b", None)  # type: ignore[arg-type]
    assert (found.id, created) == (b.id, False)
    customer(session, workspace, "Acme", rep)
    with pytest.raises(InvalidInput, match="already exists"):
        customer(session, workspace, "Ac\u200dme", rep)
    assert customers_db.find_customer(session, workspace.id, "AC\u200cME").exact.name == "Acme"  # type: ignore
    assert count_customers(session) == 3


EXOTIC = [
    "Robert'); DROP TABLE customer;--",
    'Quote "Inc" \\ backslash',
    "100% _real_ [co]",
    "👩‍💻 Dev Shop",
    "🇫🇷 Café de Flore 👨‍👩‍👧‍👦",
    "שלום בע״מ",
    "شركة الأمل للتجارة",
    "می‌خواهم",  # Persian with a zero-width non-joiner (allowed)
    "<!channel> <@U123>",
    "👍" * 200,
]


def test_exotic_names_are_stored_exactly_and_found_again(
        session: Session, workspace: Workspace, rep: Person, engine: Engine) -> None:
    ids = {name: customer(session, workspace, name, rep).id for name in EXOTIC}
    with Session(engine) as fresh:
        assert count_customers(fresh) == len(EXOTIC)  # the table is still there
        for name, cid in ids.items():
            stored = fresh.get(Customer, cid)
            assert stored is not None
            assert stored.name == name
            m = customers_db.find_customer(fresh, workspace.id, name)  # type: ignore[arg-type]
            assert m.exact is not None, name
            assert m.exact.id == cid, name
            found, created = customers_db.find_or_create_customer(
                fresh, workspace.id, name, None)  # type: ignore[arg-type]
            assert not created, name
            assert found.id == cid, name
        assert count_customers(fresh) == len(EXOTIC)
        rtl = customers_db.find_customer(fresh, workspace.id, "שלום")  # type: ignore
        assert [c.name for c in rtl.prefix] == ["שלום בע״מ"]


def test_names_are_stored_in_nfc(session: Session, workspace: Workspace, rep: Person) -> None:
    c = customer(session, workspace, "Cafe\u0301 Noir", rep)  # e + combining acute
    assert c.name == "Caf\u00e9 Noir"
    assert customers_db.find_customer(session, workspace.id, "café noir").exact == c  # type: ignore


def test_set_owner_and_archive(session: Session, workspace: Workspace, rep: Person) -> None:
    c = customer(session, workspace, "Owned", None)
    before = c.updated_at
    customers_db.set_owner(session, c, rep.id)
    customers_db.archive_customer(session, c)
    again = session.get(Customer, c.id, populate_existing=True)
    assert again is not None
    assert again.owner_id == rep.id
    assert again.archived
    assert again.updated_at >= before
    customers_db.archive_customer(session, c, archived=False)
    assert customers_db.find_customer(session, workspace.id, "owned").exact == c  # type: ignore


def _reference_key(name: str) -> str:
    """The look-up key by its definition: every name decomposed, combining marks and joiners
    (U+200C, U+200D) dropped, case-folded, runs of whitespace collapsed. Keys already stored
    were made this way (migration 0004 dropped the joiners from older keys)."""
    import re
    import unicodedata

    t = unicodedata.normalize("NFKD", name)
    t = "".join(ch for ch in t if not unicodedata.combining(ch) and ch not in "\u200c\u200d")
    return re.sub(r"\s+", " ", t.casefold()).strip()


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
       | st.text(alphabet=" \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u2003\u3000aAßﬁİé\u0301"
                          "\u200c\u200d",
                 max_size=12))
def test_the_fast_look_up_key_equals_the_reference_definition(name: str) -> None:
    """normalize_name skips the decomposition for ASCII names; keys must not change, or
    customers saved before would no longer be found."""
    assert normalize_name(name) == _reference_key(name)


def test_an_external_reference_belongs_to_one_customer(session: Session, workspace: Workspace,
                                                       rep: Person) -> None:
    """The CSV import updates customers by their CRM reference, so two cannot share one."""
    customer(session, workspace, "One", rep, external_ref="CRM-1")
    with pytest.raises(InvalidInput, match="'One' already has the external reference 'CRM-1'"):
        customer(session, workspace, "Two", rep, external_ref="CRM-1")
    assert count_customers(session) == 1
