"""An admin drops an outcomes CSV into the bot's DM: the header tells it is outcomes, the
preview says what would be recorded, and Import records it (once: the same file again is
"recorded already"). Signed requests into the running app, the file from the fake Web API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlmodel import select

from storage import customers as customers_db
from storage import people as people_db
from storage.models import Outcome, Person
from tests.fakes.slack_http import TEAM
from tests.slack.conftest import Env, blocks_of, texts
from tests.slack.test_imports import ADMIN, click, replies, share

OUTCOMES = (
    b"customer,kind,happened_on,note\r\n"
    b"Acme,renewed,2026-03-31,three years\r\n"
    b"Nobody Inc,churned,2026-04-30,\r\n"
)


def test_an_admin_imports_outcomes_from_a_csv(make_env: Callable[..., Env]) -> None:
    env = make_env()
    with env.sv.session() as s:
        ws = people_db.get_or_create_workspace(s, "slack", TEAM)
        customers_db.create_customer(s, ws.id, "Acme", None)  # type: ignore[arg-type]
    env.api.add_file("F0OUT", "outcomes.csv", OUTCOMES, user=ADMIN)
    ts = share(env, ADMIN, "F0OUT")
    [preview] = replies(env.api, ts)
    shown = texts(blocks_of(preview.args))
    assert "outcomes.csv (outcomes)" in shown
    assert "1 of 2 rows can be imported: 1 new outcome, 0 recorded already." in shown
    assert "unknown customer: 1 row (line 3)" in shown
    with env.sv.session() as s:
        assert s.exec(select(Outcome)).all() == []  # a preview writes nothing
    click(env, ADMIN, preview, "go")
    [_, report] = replies(env.api, ts, 2)
    assert "✓ Imported 1 of 2 rows: 1 new outcome, 0 recorded already." in texts(
        blocks_of(report.args)
    )
    with env.sv.session() as s:
        [o] = s.exec(select(Outcome)).all()
        who = s.get(Person, o.recorded_by_id) if o.recorded_by_id else None
    assert (o.kind, o.happened_on, o.source, o.note) == (
        "renewed",
        date(2026, 3, 31),
        "import",
        "three years",
    )
    assert who is not None
    assert who.external_id == ADMIN  # recorded by the admin who imported it


def test_the_codec_knows_every_import_kind() -> None:
    """The Import button carries the kind through the option codec: every kind the import
    code knows must be one the codec accepts."""
    from bot.engine.options import IMPORT_KINDS
    from bot.imports import ImportKind

    assert {k.value for k in ImportKind} == IMPORT_KINDS


def test_the_word_outcomes_beside_a_file_says_what_it_is() -> None:
    from bot.imports import ImportKind
    from bot.slack.imports import parse_options

    kind, options = parse_options('outcomes --map kind="Event"')
    assert kind is ImportKind.OUTCOMES
    assert options.columns == {"kind": "Event"}
