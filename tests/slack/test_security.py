"""Only Slack gets in: every request must carry a valid, fresh v0 signature."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier
from sqlmodel import select

from storage.models import Customer, Person, ProcessedEvent, Workspace
from tests.fakes.slack_http import sign
from tests.slack.conftest import Rep, settle

# Slack's documented example ("Verifying requests from Slack")
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = 1531420618
DOC_BODY = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
            "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
            "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
            "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
            "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_slack_documented_signature_vector() -> None:
    verifier = SignatureVerifier(DOC_SECRET, clock=_FixedClock(DOC_TIMESTAMP + 10))
    assert verifier.generate_signature(timestamp=str(DOC_TIMESTAMP), body=DOC_BODY) == \
        DOC_SIGNATURE
    assert verifier.is_valid(DOC_BODY, str(DOC_TIMESTAMP), DOC_SIGNATURE)
    assert not verifier.is_valid(DOC_BODY + "x", str(DOC_TIMESTAMP), DOC_SIGNATURE)
    # our test sender signs exactly the same way
    assert sign(DOC_BODY.encode(), DOC_SECRET, DOC_TIMESTAMP) == {
        "X-Slack-Request-Timestamp": str(DOC_TIMESTAMP), "X-Slack-Signature": DOC_SIGNATURE}


class _FixedClock:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def _nothing_happened(rep: Rep) -> None:
    settle(rep.api)  # anything wrongly let through would run after the answer
    assert rep.api.calls == []
    with rep.sv.session() as s:
        for table in (Workspace, Person, Customer, ProcessedEvent):
            assert s.exec(select(table)).all() == [], table.__name__


def _command_body(response_url: str = "http://127.0.0.1:9/r") -> bytes:
    return urlencode({"team_id": "T1", "user_id": "U1", "user_name": "u1",
                      "command": "/grade", "text": "Acme quarterly",
                      "response_url": response_url, "trigger_id": "t.1"}).encode()


@pytest.mark.parametrize("how", ["forged", "unsigned", "stale", "future", "tampered"])
def test_bad_signatures_are_refused_and_do_nothing(rep: Rep, how: str) -> None:
    body = _command_body()
    ctype = "application/x-www-form-urlencoded"
    if how == "forged":
        r = rep.slack.post(body, ctype, secret="not-the-secret")
    elif how == "unsigned":
        r = rep.slack.post(body, ctype, signed=False)
    elif how == "stale":
        r = rep.slack.post(body, ctype, timestamp=int(time.time()) - 6 * 60)
    elif how == "future":
        r = rep.slack.post(body, ctype, timestamp=int(time.time()) + 6 * 60)
    else:  # signed, then the body changed on the way
        headers = {"Content-Type": ctype, **sign(body)}
        r = rep.slack.http.post("/slack/events", content=body + b"x", headers=headers)
    assert r.status_code == 401, r.text
    _nothing_happened(rep)


def test_forged_event_and_interaction_are_refused(rep: Rep) -> None:
    ev = {"type": "event_callback", "team_id": "T1", "event_id": "EvForged",
          "event": {"type": "message", "channel_type": "im", "user": "U1", "text": "grade X",
                    "channel": "D1", "ts": "1.0"}}
    r = rep.slack.post(json.dumps(ev).encode(), "application/json", secret="wrong")
    assert r.status_code == 401
    payload = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"},
               "actions": [{"action_id": "choice:0", "value": "create||X"}]}
    r = rep.slack.post(urlencode({"payload": json.dumps(payload)}).encode(),
                       "application/x-www-form-urlencoded", signed=False)
    assert r.status_code == 401
    _nothing_happened(rep)


def test_a_fresh_valid_signature_is_accepted(rep: Rep) -> None:
    r = rep.slack.post(_command_body(rep.slack.response_url),
                       "application/x-www-form-urlencoded", timestamp=int(time.time()) - 60)
    assert r.status_code == 200
    assert rep.api.wait_for("response_url")


def test_health_endpoints(rep: Rep) -> None:
    assert rep.slack.http.get("/healthz").json() == {"ok": True}
    assert rep.slack.http.get("/readyz").json() == {"ok": True, "database": "ok"}
    assert rep.slack.http.get("/slack/events").status_code == 405
