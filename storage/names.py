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
    return clean_text(value, what, NAME_MAX)


def normalize_name(name: str) -> str:
    """The look-up key: case-folded, accents removed, whitespace collapsed.

    Every look-up computes it, so ASCII names (most of them) skip the decomposition, which
    cannot change them; ``str.split`` splits on exactly what ``\\s`` matches."""
    t = name if name.isascii() else "".join(
        ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    return " ".join(t.casefold().split())[:NAME_MAX]
