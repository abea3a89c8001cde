"""Validation and normalisation of the names people type.

Names are stored exactly as typed (emoji, right-to-left scripts and SQL meta-characters are
just text) but refused when they cannot be shown safely: control characters, invisible
formatting characters that can reorder text (bidi overrides), empty or over-long names.
``normalized_name`` is the case-, accent- and spacing-insensitive key used for uniqueness
and look-ups, so "ACME  Corp" and "Acmé corp" are one customer.
"""

from __future__ import annotations

import unicodedata

from storage.errors import InvalidInput
from storage.models import NAME_MAX

# Joiners are needed by emoji sequences and Persian/Indic scripts; every other format
# character (bidi overrides, zero-width spaces, BOM) is invisible and refused.
_ALLOWED_FORMAT = {"\u200c", "\u200d"}


def clean_text(value: str, what: str, max_len: int = NAME_MAX, *, required: bool = True) -> str:
    """Strip surrounding whitespace and refuse what cannot be stored or shown safely."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text")
    v = unicodedata.normalize("NFC", value).strip()
    if not v:
        if required:
            raise InvalidInput(f"{what} cannot be empty.")
        return v
    if len(v) > max_len:
        raise InvalidInput(f"{what} is too long ({len(v):,} characters; at most {max_len}).")
    for ch in v:
        cat = unicodedata.category(ch)
        if cat == "Cc" or (cat == "Cf" and ch not in _ALLOWED_FORMAT) or cat in ("Cs", "Co"):
            raise InvalidInput(f"{what} contains an invisible or control character "
                               f"(U+{ord(ch):04X}); please retype it.")
    return v


def clean_name(value: str, what: str = "Customer name") -> str:
    """``clean_text`` for a name that must also have a usable look-up key: one that is not
    empty (a name of only accents or joiners could never be found) and that fits its column
    (``ß`` → ``ss`` and ligatures make a key longer than its name; cutting it would make two
    different names one customer)."""
    v = clean_text(value, what, NAME_MAX)
    key = normalize_name(v)
    if not key:
        raise InvalidInput(f"{what} needs at least one letter, digit or symbol.")
    if len(key) > NAME_MAX:
        raise InvalidInput(f"{what} is too long once spelt out ({len(key):,} characters; at "
                           f"most {NAME_MAX}).")
    return v


def normalize_name(name: str) -> str:
    """The look-up key: case-folded, accents and joiners removed, whitespace collapsed.

    Joiners (allowed in names for emoji and some scripts) are invisible, so "Ac\u200dme" and
    "Acme" must be one customer. Every look-up computes the key, so ASCII names (most of them)
    skip the decomposition, which cannot change them; ``str.split`` splits on exactly what
    ``\\s`` matches."""
    t = name if name.isascii() else "".join(
        ch for ch in unicodedata.normalize("NFKD", name)
        if not unicodedata.combining(ch) and ch not in _ALLOWED_FORMAT)
    return " ".join(t.casefold().split())
