"""What the bot does to a database when it starts (``build_services`` with migrations)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.config import load_settings
from bot.services import build_services
from storage.engine import make_engine, upgrade
from storage.models import Workspace


def test_workspaces_without_a_time_zone_get_gradebot_timezone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workspace created before new ones started in GRADEBOT_TIMEZONE has no time zone
    setting; its reps' calendars keep the zone the bot used for them, not UTC."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        for wid, settings in ((1, "{}"), (2, '{"timezone": "Europe/Paris"}'),
                              (3, '{"reminder_hour": 8}')):
            conn.execute(text("INSERT INTO workspace (id, platform, external_id, name, settings,"
                              " created_at) VALUES (:id, 'slack', :x, '', :s, "
                              "CURRENT_TIMESTAMP)"), {"id": wid, "x": f"T{wid}", "s": settings})
    engine.dispose()
    sv = build_services(load_settings(DATABASE_URL=url, GRADEBOT_TIMEZONE="America/Chicago"))
    try:
        with sv.session() as s:
            got = {ws.id: ws.get_settings() for ws in s.exec(select(Workspace)).all()}
        assert {k: v.timezone for k, v in got.items()} == {
            1: "America/Chicago", 2: "Europe/Paris", 3: "America/Chicago"}
        assert got[3].reminder_hour == 8  # the rest of the settings is kept
    finally:
        sv.db.dispose()


def test_tz_as_containers_set_it_is_understood(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """TZ=:/etc/localtime names a file: the zone is read from where it points, else UTC;
    a zone name that does not exist is still refused with one line."""
    from bot.config import ConfigError

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GRADEBOT_TIMEZONE", raising=False)
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Asia/Tokyo")
    monkeypatch.setenv("TZ", f":{link}")
    assert load_settings().timezone == "Asia/Tokyo"
    plain = tmp_path / "plain"
    plain.write_bytes(b"TZif")
    monkeypatch.setenv("TZ", f":{plain}")
    assert load_settings().timezone == "UTC"
    monkeypatch.setenv("TZ", "Europe/Paris")
    assert load_settings().timezone == "Europe/Paris"
    monkeypatch.setenv("GRADEBOT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match=r"^GRADEBOT_TIMEZONE: unknown timezone 'Mars/Olympus'"):
        load_settings()
