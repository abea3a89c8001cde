"""Importing from Slack: an admin drops a CSV into the bot's DM, gets a preview (rows,
mapping, problems) with Import / Cancel, and the report in the thread; a rep is refused.

Signed requests into the running app; the file comes from the fake Web API (files.info,
then url_private with the bot token), as from Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from sqlmodel import select

from storage.models import Customer, Person
from tests.fakes.slack_api import Call, FakeSlackAPI
from tests.slack.conftest import Env, blocks_of, buttons, settle, texts, wait_until

ADMIN = "UADMIN"  # GRADEBOT_ADMINS in the test app
PEOPLE = b"name,email,role\r\nAlice Nguyen,alice@example.com,rep\r\n"
ACCOUNTS = ("\ufeffAccount Name,Account Owner Email,Type\r\n"
            "Acme,alice@example.com,Customer - Direct\r\n"
            "<!channel> Co,alice@example.com,Prospect\r\n"
            ",<!here>,Reseller?\r\n"
            "Hooli,hank@example.com,Customer - Direct\r\n").encode()  # Hank: in Slack only


def share(env: Env, user: str, file_id: str, text: str = "") -> str:
    ts = f"{time.time():.6f}"
    env.sender.event({"type": "message", "subtype": "file_share", "channel_type": "im",
                      "user": user, "text": text, "channel": "D" + user.lstrip("U"), "ts": ts,
                      "files": [{"id": file_id, "name": "x"}]})
    return ts


def replies(api: FakeSlackAPI, ts: str, count: int = 1) -> list[Call]:
    return wait_until(lambda: [c for c in api.of("chat.postMessage")
                               if c.args.get("thread_ts") == ts] if len(
        [c for c in api.of("chat.postMessage") if c.args.get("thread_ts") == ts]) >= count
        else None, what=f"{count} replies in {ts}")


def click(env: Env, user: str, preview: Call, which: str) -> None:
    [btn] = [b for b in buttons(blocks_of(preview.args)) if b["action_id"] == f"imp:{which}"]
    env.sender.click(btn["value"], action_id=btn["action_id"], user=user,
                     channel=preview.args["channel"], message_ts=preview.result["ts"],  # type: ignore[index]
                     thread_ts=preview.args["thread_ts"])


def customers(env: Env) -> dict[str, int | None]:
    with env.sv.session() as s:
        return {c.name: c.owner_id for c in s.exec(select(Customer)).all()}


def test_an_admin_previews_and_imports_a_crm_export(make_env: Callable[..., Env]) -> None:
    env = make_env()
    api = env.api
    api.add_user("U0ALICE", "alice@example.com", "alice", tz="America/Chicago")
    api.add_user("U0HANK", "hank@example.com", "hank")
    api.add_file("F0PEOPLE", "team.csv", PEOPLE, user=ADMIN)
    api.add_file("F0ACCTS", "accounts.csv", ACCOUNTS, user=ADMIN)

    ts = share(env, ADMIN, "F0PEOPLE")  # a people file, told apart by its header
    [preview] = replies(api, ts)
    assert "team.csv (people)" in texts(blocks_of(preview.args))
    assert customers(env) == {}
    click(env, ADMIN, preview, "go")
    [_, report] = replies(api, ts, 2)
    assert "✓ Imported 1 of 1 row" in texts(blocks_of(report.args))
    assert "Found 1 of 1 people known only by email in Slack." in texts(blocks_of(report.args))
    with env.sv.session() as s:
        alice = s.exec(select(Person).where(Person.email == "alice@example.com")).one()
    assert (alice.external_id, alice.timezone) == ("U0ALICE", "America/Chicago")

    ts = share(env, ADMIN, "F0ACCTS", 'customers --status "Reseller?"=customer')
    [preview] = replies(api, ts)
    shown = texts(blocks_of(preview.args))
    assert "Import preview — accounts.csv (customers)" in shown
    assert "2 of 4 rows can be imported: 2 new customers, 0 to update." in shown
    assert 'Salesforce export: name ← "Account Name", owner ← "Account Owner Email"' in shown
    assert "bad name: 1 row (line 4)" in shown
    assert "unknown owner: 2 rows (lines 4–5)" in shown
    assert "Owners not known yet are looked up in Slack" in shown
    assert "unknown owner '<!here>'" in shown
    # what came from the file is only ever plain text (no mention is parsed)
    assert all(t.get("type") == "plain_text" for b in blocks_of(preview.args)
               for t in [b.get("text") or {}] if t)
    downloads = api.of("download")
    assert downloads
    assert {d.args["authorization"] for d in downloads} == {"Bearer xoxb-test"}
    assert customers(env) == {}  # a preview writes nothing

    click(env, ADMIN, preview, "go")
    [_, report] = replies(api, ts, 2)
    said = texts(blocks_of(report.args))
    assert "✓ Imported 3 of 4 rows: 3 created" in said
    assert "Added 1 owner from Slack by email: hank@example.com" in said
    with env.sv.session() as s:
        hank = s.exec(select(Person).where(Person.external_id == "U0HANK")).one()
    assert customers(env) == {"Acme": alice.id, "<!channel> Co": alice.id, "Hooli": hank.id}
    upload = wait_until(lambda: api.of("files.completeUploadExternal"), what="rejected rows")
    files = upload[0].args["files"]
    files = json.loads(files) if isinstance(files, str) else files
    assert files[0]["title"] == "accounts.rejected.csv"
    body = api.of("upload")[-1].args["_body"]
    assert b"reason" in body
    assert b"<!here>" in body

    # a second click on the same preview does nothing more
    n = len(api.of("chat.postMessage"))
    click(env, ADMIN, preview, "go")
    settle(api)
    assert len(api.of("chat.postMessage")) == n


def test_cancel_imports_nothing(make_env: Callable[..., Env]) -> None:
    env = make_env()
    env.api.add_file("F0C", "accounts.csv", b"name\r\nAcme\r\n", user=ADMIN)
    ts = share(env, ADMIN, "F0C")
    [preview] = replies(env.api, ts)
    click(env, ADMIN, preview, "cancel")
    [_, said] = replies(env.api, ts, 2)
    assert texts(blocks_of(said.args)) == "Import cancelled: nothing was changed."
    assert customers(env) == {}


def test_a_rep_is_refused_at_the_preview_and_at_the_click(make_env: Callable[..., Env]) -> None:
    env = make_env()
    env.api.add_file("F0R", "accounts.csv", b"name\r\nAcme\r\n", user="U1")
    ts = share(env, "U1", "F0R")
    [said] = replies(env.api, ts)
    assert texts(blocks_of(said.args)).startswith("Only admins can import")
    assert env.api.of("download") == []  # the file was not even fetched
    # a forged click with an admin's button value is refused too
    value = json.dumps({"a": "go", "f": "F0R", "k": "customers"})
    env.sender.click(value, action_id="imp:go", user="U1", message_ts=ts, thread_ts=ts)
    [_, refused] = replies(env.api, ts, 2)
    assert texts(blocks_of(refused.args)).startswith("Only admins can import")
    settle(env.api)
    assert customers(env) == {}


def test_a_file_that_cannot_be_read_gets_one_clear_answer(
        make_env: Callable[..., Env]) -> None:
    env = make_env()
    env.api.add_file("F0L", "latin.csv", "name\r\nCafé\r\n".encode("latin-1"), user=ADMIN)
    env.api.add_file("F0P", "deck.pdf", b"%PDF-1.4", user=ADMIN, filetype="pdf")
    ts = share(env, ADMIN, "F0L")
    [said] = replies(env.api, ts)
    assert "latin.csv is not UTF-8" in texts(blocks_of(said.args))
    ts = share(env, ADMIN, "F0P")
    [said] = replies(env.api, ts)
    assert "deck.pdf is not a CSV file" in texts(blocks_of(said.args))
    env.api.missing_scopes.add("files:read")
    ts = share(env, ADMIN, "F0L")
    [said] = replies(env.api, ts)
    assert "files:read" in texts(blocks_of(said.args))
    settle(env.api)
    assert customers(env) == {}


def test_an_imported_person_is_matched_on_first_contact(make_env: Callable[..., Env]) -> None:
    """Someone imported by email writes to the bot for the first time: the Slack profile's
    email finds the imported row (role, manager, customers kept), no second person."""
    from storage import csvio, people_csv
    from storage import people as people_db
    from storage.engine import session_scope

    env = make_env()
    env.api.add_user("U0MIA", "Mia@Example.com", "mia", tz="Europe/Berlin")
    with session_scope(env.sv.db) as s:
        ws = people_db.get_or_create_workspace(s, "slack", "T1")
        people_csv.import_people(s, ws, "name,email,role\nMia M,mia@example.com,manager\n"
                                        "Ray R,ray@example.com,rep\n")
        csvio.import_customers(s, ws.id, "name,owner\nAcme,mia@example.com\n")  # type: ignore[arg-type]
    env.sender.dm("hello", user="U0MIA")
    wait_until(lambda: [c for c in env.api.of("chat.postMessage")
                        if c.args.get("channel") == "D0MIA"], what="the help reply")
    with env.sv.session() as s:
        people = s.exec(select(Person)).all()
        mia = next(p for p in people if p.external_id == "U0MIA")
        acme = s.exec(select(Customer)).one()
    assert len(people) == 2
    # the imported name stays (Slack's display name is often a handle)
    assert (mia.role, mia.timezone, mia.display_name) == ("manager", "Europe/Berlin", "Mia M")
    assert acme.owner_id == mia.id


def test_app_home_import_modal(make_env: Callable[..., Env]) -> None:
    """App Home → Import (admins): a modal with a file input; its file is previewed in the
    admin's DM like a dropped one, and Import imports it. A rep's submission is refused."""
    from tests.slack.conftest import view_submission

    env = make_env()
    api = env.api
    env.sender.event({"type": "app_home_opened", "user": ADMIN, "channel": "DADMIN",
                      "tab": "home"})
    home = wait_until(lambda: api.of("views.publish"), what="App Home")[-1]
    view = home.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    [btn] = [b for b in buttons(view["blocks"]) if b["action_id"] == "imp:open"]
    env.sender.click(btn["value"], action_id="imp:open", user=ADMIN)
    opened = wait_until(lambda: api.of("views.open"), what="the import modal")[-1]
    api.add_file("F0HOME", "accounts.csv", b"name\r\nAcme\r\nBeta\r\n", user=ADMIN)
    payload = view_submission(opened, {}, user=ADMIN)
    payload["view"]["state"]["values"]["file"] = {"csv": {"type": "file_input",
                                                          "files": [{"id": "F0HOME",
                                                                     "name": "accounts.csv"}]}}
    assert env.sender.interact(payload).status_code == 200
    parent = wait_until(lambda: [c for c in api.of("chat.postMessage")
                                 if "Import from App Home" in str(c.args.get("text"))],
                        what="the DM thread")[0]
    [preview] = replies(api, parent.result["ts"])  # type: ignore[index]
    assert "2 of 2 rows can be imported" in texts(blocks_of(preview.args))
    click(env, ADMIN, preview, "go")
    replies(api, parent.result["ts"], 2)  # type: ignore[index]
    assert set(customers(env)) == {"Acme", "Beta"}

    # a rep who got hold of the modal is refused when submitting it
    payload = view_submission(opened, {}, user="U1")
    payload["view"]["state"]["values"]["file"] = {"csv": {"type": "file_input",
                                                          "files": [{"id": "F0HOME"}]}}
    env.sender.interact(payload)
    refused = wait_until(lambda: [c for c in api.of("chat.postMessage")
                                  if c.args.get("channel") == "D1" and "Only admins" in
                                  texts(blocks_of(c.args))], what="the refusal")
    assert refused
    # no file: the modal says so under the field
    empty = view_submission(opened, {}, user=ADMIN)
    r = env.sender.interact(empty)
    assert r.json()["errors"] == {"file": "Choose a CSV file."}
