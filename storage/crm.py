"""Reading CRM exports: which column is which, and what their status values mean.

An admin's first file is an export from their CRM, not a file written for gradebot. The
usual column names of HubSpot, Salesforce and Pipedrive exports are recognised without any
flag (``detect_mapping`` says which profile it used, so the report can show it); anything
else is mapped with ``--map field="Column name"``. Status values are mapped the same way:
the common CRM values are known (``Customer - Direct`` is a customer, ``Lead`` a prospect),
the rest with ``--status "Value"=customer``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from storage.errors import InvalidInput
from storage.models import CustomerStatus

CUSTOMER_FIELDS = ("name", "owner", "segment", "status", "external_ref", "renewal_date")


def header_key(cell: str) -> str:
    """A column name as compared: lower case, spaces and dashes as ``_``, no quotes."""
    cell = cell.strip().strip('"').strip().lower()
    return re.sub(r"[\s\-/]+", "_", re.sub(r"[’'().:]", "", cell)).strip("_")


@dataclass(frozen=True)
class Profile:
    name: str                                   # shown in the report: "Salesforce export"
    columns: Mapping[str, tuple[str, ...]]      # field → header keys it may have, preferred first


# The columns of each CRM's usual account/company export (reports and data exports differ a
# little; both spellings are listed). Owner columns holding a name rather than an email are
# matched against the names of imported people.
PROFILES: tuple[Profile, ...] = (
    Profile("gradebot", {f: (f,) for f in CUSTOMER_FIELDS}),
    Profile("Salesforce export", {
        "name": ("account_name", "name"),
        "owner": ("account_owner_email", "owner_email", "account_owner", "owner_name",
                  "account_owner_alias"),
        "segment": ("industry", "account_segment", "segment"),
        "status": ("type", "account_type", "account_status"),
        "external_ref": ("account_id", "id", "account_number"),
        "renewal_date": ("renewal_date", "contract_renewal_date", "contract_end_date",
                         "next_renewal_date"),
    }),
    Profile("HubSpot export", {
        "name": ("company_name", "name"),
        "owner": ("company_owner_email", "hubspot_owner_email", "company_owner",
                  "hubspot_owner", "owner"),
        "segment": ("industry", "type"),
        "status": ("lifecycle_stage", "lifecyclestage"),
        "external_ref": ("record_id", "company_id", "hs_object_id"),
        "renewal_date": ("renewal_date", "contract_renewal_date", "contract_end_date",
                         "next_renewal_date"),
    }),
    Profile("Pipedrive export", {
        "name": ("organization_name", "organisation_name"),
        "owner": ("organization_owner_email", "organization_owner", "owner"),
        "segment": ("organization_industry", "organization_label", "industry"),
        "status": ("organization_status", "organization_label_status", "status"),
        "external_ref": ("organization_id", "organisation_id", "id"),
        "renewal_date": ("organization_renewal_date", "renewal_date", "contract_end_date"),
    }),
)


@dataclass(frozen=True)
class ColumnMap:
    """Which header column (by index) feeds which field, and where that came from."""

    profile: str                     # "gradebot", "Salesforce export", or "your --map"
    columns: dict[str, int]          # field → column index

    def describe(self, header: Sequence[str]) -> str:
        pairs = ", ".join(f"{f} ← \"{header[i].strip()}\"" for f, i in self.columns.items())
        return f"{self.profile}: {pairs}"


def _index(keys: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, k in enumerate(keys):
        out.setdefault(k, i)
    return out


def detect_mapping(header: Sequence[str], explicit: Mapping[str, str] | None = None,
                   fields: Sequence[str] = CUSTOMER_FIELDS,
                   profiles: Sequence[Profile] = PROFILES,
                   required: Sequence[str] = ("name",)) -> ColumnMap:
    """The mapping for ``header``: ``explicit`` (field → column name, from ``--map``) first,
    then the profile that recognises the most columns (a column for one of ``required`` —
    the name, by default — must be found). InvalidInput names what is missing or unknown."""
    keys = [header_key(h) for h in header]
    at = _index(keys)
    columns: dict[str, int] = {}
    for f, column in (explicit or {}).items():
        if f not in fields:
            raise InvalidInput(f"--map {f}=…: unknown field {f!r} (use {', '.join(fields)}).")
        k = header_key(column)
        if k not in at:
            raise InvalidInput(f"--map {f}={column!r}: the file has no such column (it has "
                               f"{', '.join(repr(h.strip()) for h in header)}).")
        columns[f] = at[k]
    best: tuple[int, str, dict[str, int]] = (0, "", {})
    for prof in profiles:
        found: dict[str, int] = {}
        used = set(columns.values())
        for f in fields:
            if f in columns:
                continue
            for k in prof.columns.get(f, ()):
                if k in at and at[k] not in used:
                    found[f] = at[k]
                    used.add(at[k])
                    break
        score = len(found) + (10 if any(f in found or f in columns for f in required)
                              else 0)
        if score > best[0]:
            best = (score, prof.name, found)
    merged = {**best[2], **columns}
    if not any(f in merged for f in required):
        raise InvalidInput(
            "The first line must be a header naming the columns; no column could be read as "
            f"the {' or the '.join(required)} (it has "
            f"{', '.join(repr(h.strip()) for h in header[:12])}). Map it: "
            f"--map {required[0]}=\"Your {required[0].title()} Column\".")
    profile = best[1] if not columns else ("your --map" if not best[2] or best[1] == "gradebot"
                                           else f"your --map and {best[1]}")
    ordered = {f: merged[f] for f in fields if f in merged}
    return ColumnMap(profile, ordered)


# Status values the usual CRMs use, by their key (``status_key``).
_PROSPECT = ("prospect", "lead", "subscriber", "marketing_qualified_lead",
             "marketingqualifiedlead", "sales_qualified_lead", "salesqualifiedlead", "mql",
             "sql", "opportunity", "hot_lead", "warm_lead", "cold_lead", "prospect_direct",
             "prospect_channel")
_CUSTOMER = ("customer", "customer_direct", "customer_channel", "active", "active_customer",
             "evangelist", "client", "account")
_FORMER = ("former", "former_customer", "churned", "churned_customer", "lost", "inactive",
           "ex_customer", "closed_lost")
KNOWN_STATUSES: dict[str, str] = {
    **dict.fromkeys(_PROSPECT, CustomerStatus.PROSPECT.value),
    **dict.fromkeys(_CUSTOMER, CustomerStatus.CUSTOMER.value),
    **dict.fromkeys(_FORMER, CustomerStatus.FORMER.value),
}


def status_key(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")


def parse_status_map(pairs: Sequence[str]) -> dict[str, str]:
    """``--status "Customer - Direct"=customer`` pairs → {status key: our status}."""
    out: dict[str, str] = {}
    for pair in pairs:
        value, sep, ours = pair.rpartition("=")
        if not sep or not value.strip():
            raise InvalidInput(f"--status {pair!r}: use \"CRM value\"=prospect|customer|former.")
        try:
            out[status_key(value)] = CustomerStatus(ours.strip().lower()).value
        except ValueError:
            raise InvalidInput(f"--status {pair!r}: {ours.strip()!r} is not prospect, customer "
                               "or former.") from None
    return out


def parse_field_map(pairs: Sequence[str]) -> dict[str, str]:
    """``--map name="Account Name"`` pairs → {field: column name}."""
    out: dict[str, str] = {}
    for pair in pairs:
        f, sep, column = pair.partition("=")
        if not sep or not f.strip() or not column.strip():
            raise InvalidInput(f"--map {pair!r}: use field=\"Column name\", e.g. "
                               "name=\"Account Name\".")
        out[f.strip().lower()] = column.strip()
    return out


def read_status(value: str, extra: Mapping[str, str]) -> str | None:
    """Our status for a CRM value (``extra`` first, then the known ones); None: unknown."""
    k = status_key(value)
    return extra.get(k) or KNOWN_STATUSES.get(k)
