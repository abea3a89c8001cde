"""A small OpenAI-compatible server on 127.0.0.1 for tests: POST /v1/chat/completions.

Tests script what it answers, one step per request (the last step repeats), or hand it a
function of the request body. It records every request so tests can assert what was sent.
The openai client talks to it over real HTTP (openai 3.x is built on httpx2, which respx
cannot intercept).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Step:
    """One scripted response."""

    status: int = 200
    content: str | None = None          # message.content (raw text, possibly not JSON)
    refusal: str | None = None          # message.refusal
    finish_reason: str = "stop"
    delay: float = 0.0                  # seconds to wait before answering
    headers: dict[str, str] = field(default_factory=dict)
    fill_nulls: bool = False            # add null for every schema property not given


def answers(**by_id: Any) -> Step:
    """A structured reply: question id → {"value", "confidence", "rationale"} or None.
    Questions the request's schema lists but the step leaves out come back as null, as a
    schema-following server would send them."""
    return Step(content=json.dumps(by_id), fill_nulls=True)


def answer(value: Any, confidence: float = 0.9, rationale: str = "from the reply") -> dict:
    return {"value": value, "confidence": confidence, "rationale": rationale}


def summary(text: str) -> Step:
    return Step(content=json.dumps({"summary": text}))


def raw(content: str | None) -> Step:
    return Step(content=content)


def refusal(text: str = "I'm sorry, I can't help with that.") -> Step:
    return Step(refusal=text)


def status(code: int, message: str = "server error", **headers: str) -> Step:
    return Step(status=code, content=json.dumps({"error": {"message": message, "type": "x"}}),
                headers=headers)


def slow(seconds: float, then: Step | None = None) -> Step:
    step = then or answers()
    return Step(**{**step.__dict__, "delay": seconds})


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def schema(self) -> dict[str, Any]:
        rf = self.body["response_format"]
        if rf["type"] == "json_object":  # the schema travels in the system prompt
            text = self.body["messages"][0]["content"]
            return json.loads(text[text.index("JSON schema exactly:\n") + 21:])
        return rf["json_schema"]["schema"]

    @property
    def schema_name(self) -> str:
        return self.body["response_format"]["json_schema"]["name"]

    @property
    def payload(self) -> dict[str, Any]:
        """The user message, decoded (gradebot sends JSON)."""
        return json.loads(self.body["messages"][-1]["content"])

    @property
    def sent_text(self) -> str:
        """Everything the request carried, as one string (for "never sent" assertions)."""
        return json.dumps(self.body, ensure_ascii=False)


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._steps: list[Step] = []
        self._responder: Callable[[dict[str, Any]], Step] | None = None
        self._lock = threading.Lock()
        # emulate llama-cpp-python's server: response_format json_schema is rejected (500)
        self.json_object_only = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                rec = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                step = fake._next(rec)
                if fake.json_object_only and body.get("response_format", {}).get(
                        "type") == "json_schema":
                    step = status(500, "1 validation error: response_format.type: Input "
                                       "should be 'text' or 'json_object'")
                if step.delay:
                    time.sleep(step.delay)
                if not self.path.endswith("/chat/completions"):
                    step = status(404, "not found")
                payload = fake._render(step, body)
                try:
                    self.send_response(step.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for k, v in step.headers.items():
                        self.send_header(k.replace("_", "-"), v)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._steps = [answers()]
            self._responder = None
            self.json_object_only = False

    def script(self, *steps: Step) -> None:
        """Answer the next requests with ``steps`` in order; the last one repeats."""
        with self._lock:
            self._steps = list(steps)
            self._responder = None

    def respond_with(self, fn: Callable[[dict[str, Any]], Step]) -> None:
        with self._lock:
            self._responder = fn

    def _next(self, rec: Recorded) -> Step:
        with self._lock:
            self.requests.append(rec)
            if self._responder is not None:
                return self._responder(rec.body)
            return self._steps.pop(0) if len(self._steps) > 1 else self._steps[0]

    @staticmethod
    def _render(step: Step, body: dict[str, Any]) -> bytes:
        if step.status != 200:
            return (step.content or "{}").encode()
        content = step.content
        if step.fill_nulls and content is not None:
            given = json.loads(content)
            props = (body.get("response_format", {}).get("json_schema", {}).get("schema", {})
                     .get("properties", {}))
            content = json.dumps({**dict.fromkeys(props), **given})
        message = {"role": "assistant", "content": content, "refusal": step.refusal}
        return json.dumps({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": step.finish_reason,
                         "logprobs": None}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }).encode()
