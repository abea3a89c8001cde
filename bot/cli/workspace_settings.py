"""``gradebot settings show|set``: a workspace's settings from the command line.

Slack admins have the Settings modal in App Home; Teams has no settings card, and operators
like to script set-up, so every setting can also be read and changed here. Values are typed
the way a person would write them (``8``, ``Europe/Paris``, ``2027-03-15, 2027-09-15``,
``A=annual B=quarterly``, ``50/30/20``) and checked by the same validation as the modal:
a bad value is refused with one line and nothing is saved.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.context import WorkspaceOption, open_database, workspace_named
from bot.cli.context import worksheet as configured_worksheet
from bot.cli.output import console, fail

if TYPE_CHECKING:
    from rich.table import Table

    from storage.models import WorkspaceSettings

settings_app = typer.Typer(help="A workspace's settings (time zone, reminders, target balance).",
                           no_args_is_help=True)


def keys() -> tuple[str, ...]:
    """The settings a workspace has (the fields of ``WorkspaceSettings``)."""
    from storage.models import WorkspaceSettings

    return tuple(WorkspaceSettings.model_fields)


_EMPTY = ("", "none", "default", "-")


def parse_value(key: str, raw: str) -> Any:
    """What ``raw`` means for ``key``, before validation (which says what is wrong)."""
    from storage.errors import InvalidInput

    value = raw.strip()
    if key == "target_balance":
        if value.lower() in _EMPTY:
            return None  # the worksheet's default
        parts = [p for p in re.split(r"[/,\s]+", value) if p]
        if len(parts) != 3:
            raise InvalidInput("target_balance: three percentages, good for you / good at it "
                               "/ good for others, e.g. 50/30/20 (or 'default').")
        names = ("good_for_you", "good_at_it", "good_for_others")
        try:
            return dict(zip(names, (float(p) for p in parts), strict=True))
        except ValueError:
            raise InvalidInput(f"target_balance: {value!r} are not three numbers.") from None
    if key == "strategic_dates":
        return sorted({p for p in re.split(r"[,;\s]+", value) if p})
    if key == "regrade_by_letter":
        pairs = [p for p in re.split(r"[,;\s]+", value) if p]
        if not all("=" in p for p in pairs):
            raise InvalidInput("regrade_by_letter: letter=cadence pairs, e.g. "
                               "'A=annual B=quarterly'.")
        return {k.strip().upper(): v.strip().lower()
                for k, v in (p.split("=", 1) for p in pairs)}
    if key in ("reminder_channel", "digest_channel"):
        return None if value.lower() in _EMPTY else value
    return value


def _balance(value: dict[str, float]) -> str:
    return "/".join(f"{value[k]:g}" for k in ("good_for_you", "good_at_it", "good_for_others"))


def _worksheet_balance() -> str:
    """The target balance of the worksheet in use (GRADEBOT_WORKSHEET, else the shipped one):
    what a workspace without its own gets."""
    return _balance(configured_worksheet().target_balance.model_dump())


def _shown(key: str, value: Any) -> str:
    if value is None:
        return (f"{_worksheet_balance()} (the worksheet's)" if key == "target_balance"
                else "(not set)")
    if key == "target_balance":
        return _balance(value)
    if key == "regrade_by_letter":
        return " ".join(f"{k}={v}" for k, v in sorted(value.items()))
    if key == "strategic_dates":
        return ", ".join(value) or "(none)"
    return str(value)


def _table(title: str, settings: WorkspaceSettings) -> Table:
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, title_justify="left")
    t.add_column("Setting")
    t.add_column("Value")
    for key, value in settings.model_dump(mode="json").items():
        t.add_row(key, Text(_shown(key, value)))
    return t


@settings_app.command("show")
def settings_show(workspace: WorkspaceOption = "cli:local") -> None:
    """Every setting of a workspace."""
    from storage.engine import session_scope

    with open_database(migrate=False) as engine, session_scope(engine) as s:
        ws = workspace_named(s, workspace, create_local=False)
        console.print(_table(f"Settings of {ws.platform}:{ws.external_id}"
                             + (f" ({ws.name})" if ws.name else ""), ws.get_settings()))


@settings_app.command("set")
def settings_set(
    key: Annotated[str, typer.Argument(help="A setting, as `gradebot settings show` names it")],
    value: Annotated[str, typer.Argument(help="The new value ('' or 'default' clears one)")],
    workspace: WorkspaceOption = "cli:local",
) -> None:
    """Change one setting (validated; nothing is saved when the value is refused)."""
    from rich.text import Text

    from storage import people as people_db
    from storage.engine import session_scope
    from storage.errors import InvalidInput

    if key not in keys():
        fail(f"Unknown setting {key!r}: use one of {', '.join(keys())}.")
    with open_database(migrate=False) as engine, session_scope(engine) as s:
        ws = workspace_named(s, workspace, create_local=False)
        try:
            saved = people_db.update_workspace_settings(s, ws, **{key: parse_value(key, value)})
        except InvalidInput as exc:
            fail(str(exc))
        shown = _shown(key, saved.model_dump(mode="json")[key])
        console.print(Text(f"✓ {key} = {shown}"))


def register(app: typer.Typer) -> None:
    app.add_typer(settings_app, name="settings")
