"""``portfolio calibration`` in Teams end to end: activities POSTed to /api/messages, the
card the bot sent to the fake Bot Connector — its lines, and the chart inside it as an
``Image`` with a ``data:image/png;base64,`` URL, small enough for a Teams activity.

One app and one seeded database for the module (52 simulated customers, just over the 50
needed, in the admin's tenant; 3 in another tenant's).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot import display
from bot.config import load_settings
from bot.http import create_asgi
from bot.services import build_services
from storage import people as people_db
from storage.engine import session_scope
from tests.calibration_sheet import CARD_LINES, DIMENSION, LABEL_MARK, marked_sheet_path
from tests.conftest import copy_migrated
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_http import ServerThread
from tests.storage.helpers import seed_outcomes
from tests.teams.conftest import TEAMS_ENV, TENANT, USER, Env, Rep, shown, walk

OTHER_TENANT = "0b5c6a1e-1111-4222-8333-944455556666"
COLLEAGUE = "5e6f7a8b-0c1d-4e2f-9a3b-4c5d6e7f8a9b"
TEAMS_LIMIT = 28 * 1024  # what a Teams activity may carry, about


@pytest.fixture(scope="module")
def env(
    connector: FakeBotConnector, migrated_sqlite: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("calcard-teams")
    with pytest.MonkeyPatch.context() as mp:
        for var in TEAMS_ENV:
            mp.delenv(var, raising=False)
        mp.chdir(tmp)  # no stray .env
        db = tmp / "teams.db"
        copy_migrated(migrated_sqlite, db)
        settings = load_settings(
            **{
                "DATABASE_URL": f"sqlite:///{db}",
                "GRADEBOT_LLM_ENABLED": False,
                "GRADEBOT_TEAMS_DEV_NO_AUTH": True,
                "GRADEBOT_ADMINS": USER,
                "GRADEBOT_WORKSHEET": str(marked_sheet_path()),
            }
        )
        sv = build_services(settings, migrate=False)
        with session_scope(sv.db) as s:
            mine = people_db.get_or_create_workspace(s, "teams", TENANT, "Contoso")
            assert seed_outcomes(s, mine, sv.worksheet, 52) >= 5
            other = people_db.get_or_create_workspace(s, "teams", OTHER_TENANT, "Small")
            seed_outcomes(s, other, sv.worksheet, 3, seed=9)
        server = ServerThread(create_asgi(sv, None)).start()
        e = Env(sv, server, connector, httpx.Client(base_url=server.url, timeout=120))
        try:
            yield e
        finally:
            e.http.close()
            server.stop()
            sv.db.dispose()


@pytest.fixture(autouse=True)
def _fresh(env: Env) -> None:
    env.connector.reset()


def test_an_admin_gets_the_card_with_its_chart_inside(env: Env) -> None:
    admin = env.rep(USER, "Ada Admin")
    n = len(admin.sent())
    admin.say("portfolio calibration")
    sent = admin.sent()[n:]
    assert len(sent) == 1
    card = sent[0].card
    seen = shown(card)
    assert seen.splitlines()[0] == display.CALIBRATION_TITLE
    for line in CARD_LINES:
        assert line in seen, line
    # names from the worksheet: shown as written; no mention, no markdown
    assert DIMENSION == "Fit <!channel> <at>all</at> *loud*"
    assert "Fit <!channel> ‹at›all‹/at› *loud*: " in seen  # (mention tags neutralised)
    assert LABEL_MARK in seen
    texts = [n["text"] for n in walk(card) if n.get("type") == "TextBlock"]
    fit = next(t for t in texts if t.startswith("Fit"))
    assert "<at>" not in fit
    assert "\\*loud\\*" in fit
    assert "chart could not be attached" not in seen
    # the chart: an Image whose URL is the PNG itself
    [image] = [n for n in walk(card) if n.get("type") == "Image"]
    head, _, data = image["url"].partition(",")
    assert head == "data:image/png;base64"
    png = base64.b64decode(data)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert image["altText"] == display.CALIBRATION_CHART_ALT
    size = len(json.dumps(sent[0].body).encode())
    assert len(png) < 14_000, len(png)
    assert size < TEAMS_LIMIT * 0.8, size


def test_someone_not_an_admin_is_refused_in_one_line(env: Env) -> None:
    rep = Rep(env, COLLEAGUE, "Cole League")
    assert shown(rep.ask("portfolio calibration")) == display.CALIBRATION_ADMINS_ONLY


def test_too_few_outcomes_is_the_refusal_line(env: Env) -> None:
    from tests.teams.conftest import activity

    body = activity(
        "message",
        env.connector.url,
        user=USER,
        tenant=OTHER_TENANT,
        name="Ada Admin",
        text="portfolio calibration",
        textFormat="plain",
    )
    n = len(env.connector.all())
    assert env.post(body).status_code == 200
    [sent] = env.connector.all()[n:]
    line = shown(sent.card)
    assert line.startswith(
        "Too few outcomes to calibrate: 3 renewed, expanded or churned "
        "with a grade made at least 90 days before; it needs 50."
    )
    assert not [x for x in walk(sent.card) if x.get("type") == "Image"]


def test_help_lists_the_calibration_card(env: Env) -> None:
    assert "portfolio calibration: admins" in shown(env.rep(USER).ask("help"))
