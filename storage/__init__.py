"""gradebot's storage: SQLModel tables, the engine, migrations, and every query in one place.

Imports ``scoring`` (for its data classes) and nothing from ``bot``.
"""
