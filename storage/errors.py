"""Errors storage raises; each message is fit to show a user or an operator as it is."""


class StorageError(Exception):
    """Base class for storage errors."""


class InvalidInput(StorageError, ValueError):
    """User-typed data that cannot be stored (too long, empty, control characters, ...)."""


class NotFound(StorageError, LookupError):
    """A referenced row does not exist (or belongs to another workspace)."""


class Conflict(StorageError):
    """Someone else changed the row first (optimistic lock); re-read and try again."""


MAX_ID = 2**63 - 1  # the largest row id either database can hold: larger ones are not found
