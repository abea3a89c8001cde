"""Socket mode as an operator meets it: a real ``gradebot serve`` process with
SLACK_APP_TOKEN set while Slack is out of reach — closed (connection refused) or hanging (a
socket that accepts and never answers). /readyz must say 503 and why; SIGTERM and SIGINT
must stop it well within the 30 s grace period docs/deployment.md gives (it used to need kill -9).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.slack_http import SECRET
from tests.load.harness import free_port, gradebot_command

GRACE = 30.0  # docs/deployment.md, "Several replicas on PostgreSQL"
pytestmark = pytest.mark.slow  # real processes: a few seconds each


@contextlib.contextmanager
def hanging_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = srv.accept()
                held.append(conn)

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        t.join(2)
        for c in held:
            c.close()
        srv.close()


def _serve(tmp_path: Path, api_url: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "OPENAI_", "GRADEBOT_"))
           and k not in ("CLIENT_ID", "CLIENT_SECRET", "TENANT_ID", "DATABASE_URL")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'gb.db'}",
                "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_APP_TOKEN": "xapp-test", "SLACK_API_URL": api_url,
                "GRADEBOT_SWEEP_MINUTES": "0", "PYTHONUNBUFFERED": "1"})
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*gradebot_command(), "serve", "--port", str(port),
                                 "--host", "127.0.0.1"], env=env, cwd=tmp_path,
                                stdout=out, stderr=subprocess.STDOUT)
    return proc, port, log


def _readyz(proc: subprocess.Popen[bytes], port: int, log: Path, says: str) -> httpx.Response:
    """/readyz once it answers with ``says`` in its body."""
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=5) as http:
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
            with contextlib.suppress(httpx.HTTPError):
                r = http.get(f"http://127.0.0.1:{port}/readyz")
                if says in r.text:
                    return r
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
            time.sleep(0.2)


@pytest.mark.parametrize(("slack", "sig"), [("closed", signal.SIGTERM),
                                            ("hanging", signal.SIGINT)])
def test_socket_mode_without_slack_is_not_ready_and_stops_on_a_signal(
        tmp_path: Path, slack: str, sig: signal.Signals) -> None:
    with contextlib.ExitStack() as stack:
        if slack == "closed":
            api_url = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
        else:
            api_url = f"http://127.0.0.1:{stack.enter_context(hanging_server())}/api/"
        proc, port, log = _serve(tmp_path, api_url)
        try:
            # refused: the first attempt fails at once; hanging: it is still waiting
            says = "Slack unreachable" if slack == "closed" else "connecting to Slack"
            r = _readyz(proc, port, log, says)
            assert r.status_code == 503, r.text
            body = r.json()
            assert body["ok"] is False
            assert body["database"] == "ok"
            assert says in body["slack_socket_mode"]
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200

            t0 = time.monotonic()
            proc.send_signal(sig)
            code = proc.wait(GRACE)
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        text = log.read_text(errors="replace")
        assert took < 10, f"{took:.1f} s to stop\n{text[-2000:]}"
        # SIGTERM: a clean exit; SIGINT (Ctrl-C): the shell's 130, after the same clean-up
        assert code == (0 if sig == signal.SIGTERM else 130), text[-2000:]
        assert "gradebot: stopped" in text, text[-2000:]
        if slack == "closed":  # the operator is told why, in the log as well
            assert "socket mode not connected: Slack unreachable" in text, text[-2000:]


def test_socket_mode_connected_is_ready_and_its_envelope_acks_are_timed(
        tmp_path: Path, fake_slack) -> None:
    """With Slack there: /readyz 200, a slash command envelope is acked over the socket,
    and its ack time is in the access log and /metrics."""
    import json

    fake_slack.reset()
    proc, port, log = _serve(tmp_path, fake_slack.base_url)
    try:
        r = _readyz(proc, port, log, '"slack_socket_mode":"ok"')
        assert r.status_code == 200, r.text
        fake_slack.send_envelope({
            "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"token": "x", "team_id": "T1", "team_domain": "test",
                        "channel_id": "C1", "user_id": "U1", "user_name": "u1",
                        "command": "/grades", "text": "help", "api_app_id": "A1",
                        "response_url": fake_slack.response_url(), "trigger_id": "t.1"}})
        deadline = time.monotonic() + 15
        while not any(a.get("envelope_id") == "env-1" for a in fake_slack.socket_acks):
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
            time.sleep(0.05)
        ack = next(a for a in fake_slack.socket_acks if a.get("envelope_id") == "env-1")
        assert "/grades" in json.dumps(ack["payload"])  # the help text, in the ack itself
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert 'gradebot_ack_seconds_count{kind="command:/grades",platform="slack"} 1.0' \
            in metrics, metrics[-1500:]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(GRACE)
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    access = [x for x in lines if x.get("logger") == "gradebot.access"]
    assert [x["kind"] for x in access] == ["command:/grades"]
    assert access[0]["outcome"] == "ok"
    assert access[0]["latency_ms"] > 0
    assert code == 0
