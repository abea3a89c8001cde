"""Importing a CSV dropped into the bot's DM (admins only): preview, then Import or Cancel.

An admin shares a people or customer CSV in their DM with gradebot (optionally with words
like ``people``, ``--map name="Account Name"``, ``--status "Customer - Direct"=customer`` or
``--reassign-owners`` in the same message). The bot downloads it with its own token
(``files.info`` → ``url_private``, only ever sent to Slack's file host), checks it with the
same code as ``gradebot import`` (``bot.imports``: nothing written) and answers in a thread:
rows, the column mapping used, every problem grouped by reason, with **Import** / **Cancel**.
Import downloads the file again (no file is kept between the two steps, so any replica can
take the click) and posts the report, with the rejected rows as a CSV file to fix and drop in
again. Anyone but an admin is refused, at the preview and again at the click.

Registered by ``register`` before the app's own message listener, so file shares reach it
first (Bolt runs the first listener that matches).
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from typing import Any
from urllib.parse import urlparse

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot import imports
from bot.engine import options as opts
from bot.services import InvalidInput, Person, StorageError, Workspace
from bot.slack import blocks as bk

log = logging.getLogger("gradebot.slack")

MAX_BYTES = 20 * 1024 * 1024   # a 200,000-row CSV is well under this
ACTION = "imp"
SLACK_FILE_HOSTS = ("files.slack.com", "files.slack-gov.com")
MODAL = "import_file"
FILE_BLOCK, FILE_ACTION = "file", "csv"
OPTIONS_BLOCK, OPTIONS_ACTION = "options", "words"
NOT_ADMIN = ("Only admins can import people or customers. Ask an admin, or see "
             "`gradebot import` in the README.")


def parse_options(text: str) -> tuple[imports.ImportKind | None, imports.ImportOptions]:
    """The words beside a shared file, as on the command line: ``people``/``customers``,
    ``--map f="Col"``, ``--status "Value"=ours``, ``--reassign-owners``, ``--all-or-nothing``."""
    try:
        words = shlex.split(text or "")
    except ValueError as exc:
        raise InvalidInput(f"I couldn't read the options ({exc}).") from None
    kind: imports.ImportKind | None = None
    maps: list[str] = []
    statuses: list[str] = []
    flags = {"--reassign-owners": False, "--all-or-nothing": False}
    it = iter(words)
    for w in it:
        lw = w.lower()
        if lw in ("people", "customers", "outcomes"):
            kind = imports.ImportKind(lw)
        elif lw in ("--map", "--status"):
            value = next(it, "")
            (maps if lw == "--map" else statuses).append(value)
        elif lw in flags:
            flags[lw] = True
    return kind, imports.ImportOptions.from_words(
        maps, statuses, all_or_nothing=flags["--all-or-nothing"],
        reassign_owners=flags["--reassign-owners"])


def _value(action: str, file_id: str, kind: imports.ImportKind,
           options: imports.ImportOptions) -> str:
    """A button value carrying everything the click needs (Slack allows 2,000 characters)."""
    return opts.encode(opts.ImportFile(action, file_id, kind.value, options.columns,
                                       options.statuses, options.reassign_owners,
                                       options.all_or_nothing))


def _read_value(raw: str) -> tuple[str, str, imports.ImportKind, imports.ImportOptions]:
    """The click's file and options; InvalidInput (said to the admin) for anything else."""
    v = opts.decode_or_none(raw)
    if not isinstance(v, opts.ImportFile):
        raise InvalidInput("That import button is not one I know: drop the file here again.")
    return (v.verb, v.file_id, imports.ImportKind(v.kind),
            imports.ImportOptions(v.columns, v.statuses, v.all_or_nothing, v.reassign_owners))


def home_button() -> ActionsBlock:
    """App Home (admins): open the import modal."""
    return ActionsBlock(block_id="imp_home", elements=[ButtonElement(
        text="Import people or customers (CSV)", action_id=f"{ACTION}:open",
        value=opts.encode(opts.OpenImport()))])


def modal() -> dict[str, Any]:
    """A file input for one CSV, and the same words a DM message may carry."""
    return View(type="modal", callback_id=MODAL, title="Import a CSV", submit="Preview",
                close="Cancel", blocks=[
                    InputBlock(block_id=FILE_BLOCK, label="People or customers (CSV, UTF-8)",
                               element=FileInputElement(action_id=FILE_ACTION,
                                                        filetypes=["csv", "txt", "tsv"],
                                                        max_files=1)),
                    InputBlock(block_id=OPTIONS_BLOCK, optional=True, label="Options",
                               hint='e.g. people, --map name="Account Name", --status '
                                    '"Customer - Direct"=customer, --reassign-owners',
                               element=PlainTextInputElement(action_id=OPTIONS_ACTION,
                                                             max_length=1000))]).to_dict()


def preview_blocks(name: str, kind: imports.ImportKind, report: imports.Report,
                   value: dict[str, str]) -> list[dict[str, Any]]:
    """Rows, mapping and problems, with Import / Cancel. Everything from the file is shown
    as plain text (a customer named ``<!channel>`` pings no one)."""
    lines = [imports.headline(report, kind, preview=True), *imports.detail_lines(report)]
    if imports.unknown_owner_emails(report):
        lines.append("Owners not known yet are looked up in Slack by email when you import; "
                     "the ones Slack knows are added, and their rows imported.")
    out: list[Any] = [SectionBlock(text=bk.plain(f"Import preview — {name} ({kind.value})",
                                                 150))]
    out += [SectionBlock(text=bk.plain(chunk)) for chunk in _chunks(lines)]
    out.append(ActionsBlock(block_id="imp", elements=[
        ButtonElement(text="Import", action_id=f"{ACTION}:go", value=value["go"],
                      style="primary"),
        ButtonElement(text="Cancel", action_id=f"{ACTION}:cancel", value=value["cancel"])]))
    return bk.to_dicts(out)


def _chunks(lines: list[str], limit: int = 2900, most: int = 20) -> list[str]:
    """Lines packed into section texts under Block Kit's 3,000 characters (at most ``most``
    sections; what does not fit is summarised)."""
    out: list[str] = []
    cur = ""
    for line in lines:
        line = bk.clip(line, limit)
        if cur and len(cur) + len(line) + 1 > limit:
            out.append(cur)
            cur = ""
        cur = f"{cur}\n{line}" if cur else line
    if cur:
        out.append(cur)
    if len(out) > most:
        out = [*out[:most - 1], "… (more in the rejected-rows file)"]
    return out


class SlackImports:
    """The file-share and button listeners; ``bot`` is the app's SlackBot (for its
    services, person resolution and failure reporting)."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.sv = bot.sv

    def register(self, app: AsyncApp) -> None:
        app.event({"type": "message", "subtype": "file_share"})(self.on_file_share)
        app.action({"action_id": f"{ACTION}:go"})(self.on_click)
        app.action({"action_id": f"{ACTION}:cancel"})(self.on_click)
        app.action({"action_id": f"{ACTION}:open"})(self.on_open)
        app.view(MODAL)(self.on_submit)

    # ------------------------------------------------------------------ App Home
    async def on_open(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Open at once: the trigger id expires 3 s after the click (admins checked on
        submit, where it matters)."""
        await ack()
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=modal())
        except Exception:
            log.exception("opening the import modal failed")

    async def on_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any],
                        client: AsyncWebClient) -> None:
        """The modal's file becomes a preview in the admin's DM, as if dropped there."""
        values = (view.get("state") or {}).get("values") or {}
        files = ((values.get(FILE_BLOCK) or {}).get(FILE_ACTION) or {}).get("files") or []
        words = ((values.get(OPTIONS_BLOCK) or {}).get(OPTIONS_ACTION) or {}).get("value") or ""
        if not files:
            await ack(response_action="errors", errors={FILE_BLOCK: "Choose a CSV file."})
            return
        try:
            parse_options(words)
        except InvalidInput as exc:
            await ack(response_action="errors", errors={OPTIONS_BLOCK: bk.clip(str(exc), 150)})
            return
        await ack()
        user = body["user"]["id"]
        team = (body.get("team") or {}).get("id", "")
        try:
            channel = str((await client.conversations_open(users=user))["channel"]["id"])
            name = str(files[0].get("name") or "the file")
            parent = await client.chat_postMessage(
                channel=channel, text=bk.escape(f"Import from App Home: {name}"))
            event = {"user": user, "channel": channel, "ts": parent["ts"], "text": words,
                     "files": files[:1]}
        except Exception:
            log.exception("starting an App Home import failed")
            return
        try:
            await self._preview(event, client, {"team_id": team})
        except Exception as exc:
            log.exception("import preview failed")
            await self._say(client, event, _failure(exc))

    # ------------------------------------------------------------------ the file
    async def on_file_share(self, event: dict[str, Any], client: AsyncWebClient,
                            body: dict[str, Any]) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id"):
            return
        try:
            await self._preview(event, client, body)
        except Exception as exc:
            log.exception("import preview failed")
            await self._say(client, event, _failure(exc))

    async def _preview(self, event: dict[str, Any], client: AsyncWebClient,
                       body: dict[str, Any]) -> None:
        _, person = await self.bot.actor_for(body.get("team_id", ""), event["user"], "",
                                             client)
        if not self.sv.is_admin(person):
            await self._say(client, event, NOT_ADMIN)
            return
        files = [f for f in event.get("files") or [] if f.get("id")]
        if not files:
            return
        kind_asked, options = parse_options(event.get("text") or "")
        for f in files[:3]:
            meta, data = await self.download(client, str(f["id"]))
            kind = kind_asked or imports.guess_kind(data)
            ws = await asyncio.to_thread(self._workspace, person)
            report = await asyncio.to_thread(imports.run_import, self.sv.db, ws, kind, data,
                                             options, source=meta["name"], preview=True)
            values = {a: _value(a, str(f["id"]), kind, options) for a in ("go", "cancel")}
            await client.chat_postMessage(
                channel=event["channel"], thread_ts=event.get("ts"),
                text=bk.escape(f"Import preview — {meta['name']}"),
                blocks=preview_blocks(meta["name"], kind, report, values))

    async def download(self, client: AsyncWebClient, file_id: str) -> tuple[dict[str, Any],
                                                                          bytes]:
        """The file's metadata and bytes, with the bot token (``files:read``)."""
        try:
            info = await client.files_info(file=file_id)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error == "missing_scope":
                raise InvalidInput("I can't read shared files yet: add the files:read scope "
                                   "(see manifest.yml) and reinstall the app.") from None
            raise
        meta = dict(info["file"])
        name = str(meta.get("name") or "file.csv")
        if int(meta.get("size") or 0) > MAX_BYTES:
            raise InvalidInput(f"{name} is over {MAX_BYTES // (1024 * 1024)} MB; import it "
                               "with `gradebot import` instead.")
        if meta.get("filetype") not in (None, "csv", "text", "tsv") and not name.lower(
                ).endswith((".csv", ".tsv", ".txt")):
            raise InvalidInput(f"{name} is not a CSV file (save it as CSV UTF-8 and drop it "
                               "here again).")
        url = str(meta.get("url_private_download") or meta.get("url_private") or "")
        if not self._trusted(url):
            raise InvalidInput(f"I can't download {name} from {urlparse(url).netloc!r}.")
        token = client.token or ""
        async with aiohttp.ClientSession() as http, http.get(
                url, headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=60)) as res:
            data = await res.content.read(MAX_BYTES + 1)
            if res.status != 200 or res.content_type == "text/html":
                raise InvalidInput(f"Slack did not give me {name} (HTTP {res.status}); is the "
                                   "files:read scope granted (see manifest.yml)?")
        if len(data) > MAX_BYTES:
            raise InvalidInput(f"{name} is over {MAX_BYTES // (1024 * 1024)} MB.")
        meta["name"] = name
        return meta, data

    def _trusted(self, url: str) -> bool:
        """Only Slack's file hosts (or the configured Web API's host, e.g. GovSlack or a
        test server) ever see the bot token."""
        u = urlparse(url)
        api = urlparse(self.sv.settings.slack_api_url)
        return (u.scheme == "https" and u.hostname in SLACK_FILE_HOSTS) or (
            bool(u.hostname) and u.hostname == api.hostname and u.scheme == api.scheme)

    def _workspace(self, person: Person) -> Workspace:
        return self.sv.workspace_of(person)

    # ------------------------------------------------------------------ the buttons
    async def on_click(self, ack: Any, body: dict[str, Any], action: dict[str, Any],
                       client: AsyncWebClient) -> None:
        await ack()
        channel = (body.get("channel") or {}).get("id") or \
            (body.get("container") or {}).get("channel_id")
        message = body.get("message") or {}
        thread = message.get("thread_ts") or (body.get("container") or {}).get("thread_ts")
        where = {"channel": channel, "ts": thread or message.get("ts")}
        try:
            verb, file_id, kind, options = _read_value(str(action.get("value", "")))
            team = (body.get("team") or {}).get("id", "")
            _, person = await self.bot.actor_for(team, body["user"]["id"], "", client)
            if not self.sv.is_admin(person):
                await self._say(client, where, NOT_ADMIN)
                return
            msg_ts = str((body.get("container") or {}).get("message_ts") or "")
            if not await asyncio.to_thread(self._claim, person, file_id, msg_ts):
                return  # a second click (or Slack's retry) on the same preview
            if verb == "cancel":
                await self._say(client, where, "Import cancelled: nothing was changed.")
                return
            await self._import(client, where, person, file_id, kind, options)
        except Exception as exc:
            log.exception("import failed")
            await self._say(client, where, _failure(exc))

    def _claim(self, person: Person, file_id: str, msg_ts: str) -> bool:
        return self.sv.record_event(f"import:{person.workspace_id}", f"{file_id}:{msg_ts}",
                                    "import")

    async def _import(self, client: AsyncWebClient, where: dict[str, Any], person: Person,
                      file_id: str, kind: imports.ImportKind,
                      options: imports.ImportOptions) -> None:
        meta, data = await self.download(client, file_id)
        ws = await asyncio.to_thread(self._workspace, person)
        added = await self._owners_from_slack(client, ws, kind, data, options, meta["name"])
        report = await asyncio.to_thread(imports.run_import, self.sv.db, ws, kind, data,
                                         options, source=meta["name"],
                                         recorded_by_id=person.id)  # (outcomes: who)
        resolved = None
        if ws.platform == "slack":
            from bot.slack.directory import Directory

            try:
                resolved = await Directory(client, self.sv.db).resolve_pending(
                    ws.id, retry_unfound=False)
            except Exception as exc:
                log.warning("import: looking people up by email failed: %s", exc)
        lines = [("✓ " if report.committed else "") + imports.headline(report, kind, False),
                 *imports.detail_lines(report)]
        if added:
            lines.append(f"Added {len(added)} owner{'s' if len(added) != 1 else ''} from "
                         f"Slack by email: {', '.join(added[:10])}")
        if resolved is not None and (resolved.resolved or resolved.not_found):
            lines.append(f"Found {len(resolved.resolved)} of "
                         f"{len(resolved.resolved) + len(resolved.not_found)} people known "
                         "only by email in Slack.")
        await client.chat_postMessage(
            channel=where["channel"], thread_ts=where["ts"],
            text=bk.escape(lines[0]),
            blocks=bk.to_dicts([SectionBlock(text=bk.plain(c)) for c in _chunks(lines)]))
        if report.skipped:
            stem = meta["name"].rsplit(".", 1)[0].removesuffix(".rejected")
            await client.files_upload_v2(
                channel=where["channel"], thread_ts=where["ts"],
                content=imports.rejected_csv(report).encode("utf-8-sig"),
                filename=f"{stem}.rejected.csv",
                initial_comment="The rows not imported, with a reason column: fix them and "
                                "drop the file here again.")

    async def _owners_from_slack(self, client: AsyncWebClient, ws: Workspace,
                                 kind: imports.ImportKind, data: bytes,
                                 options: imports.ImportOptions, name: str) -> list[str]:
        """Owners a customer file names by an email nobody imported, who are Slack users:
        added as those users before the import, so their customers are not rejected."""
        if kind is not imports.ImportKind.CUSTOMERS or ws.platform != "slack":
            return []
        try:
            check = await asyncio.to_thread(imports.run_import, self.sv.db, ws, kind, data,
                                            options, source=name, preview=True)
        except (InvalidInput, StorageError):
            return []
        emails = imports.unknown_owner_emails(check)
        if not emails:
            return []
        from bot.slack.directory import Directory

        try:
            found = await Directory(client, self.sv.db).add_known(ws.id, emails)
        except Exception as exc:
            log.warning("import: looking owners up in Slack failed: %s", exc)
            return []
        return found.resolved

    async def _say(self, client: AsyncWebClient, where: dict[str, Any], text: str) -> None:
        await client.chat_postMessage(channel=where["channel"], thread_ts=where.get("ts"),
                                      text=bk.escape(text),
                                      blocks=bk.to_dicts([SectionBlock(text=bk.plain(text))]))


def _failure(exc: Exception) -> str:
    if isinstance(exc, InvalidInput):
        return str(exc)
    if isinstance(exc, StorageError):
        return f"The import failed and nothing was imported: {exc}"
    return ("Sorry — something went wrong and nothing was imported. Please try again in a "
            "moment.")


def register(app: AsyncApp, bot: Any) -> SlackImports:
    handler = SlackImports(bot)
    handler.register(app)
    return handler
