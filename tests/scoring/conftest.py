"""Fixtures for the scoring tests: the shipped default worksheet, loaded once."""

from __future__ import annotations

import pytest

from scoring import Worksheet, load_worksheet


@pytest.fixture(scope="session")
def ws() -> Worksheet:
    """The default worksheet that ships with gradebot (scoring/worksheets/default.yml)."""
    return load_worksheet()
