"""The optional real-model stage: a real local OpenAI-compatible server with a small model.

Skipped unless GRADEBOT_TEST_LLM_URL is set (scripts/local-llm.sh installs and runs llama.cpp's
llama-server with SmolLM2 135M or Gemma 3 270M; ``scripts/local-llm.sh env`` prints the
variables). Covers strict structured output, a json_object-only server (a proxy in front of the
real one rejects json_schema as llama-cpp-python's server does), a slow server (a timeout far
below the model's latency: the note the rep sees), the evaluation sets through the production
path with its verdict, and the whole chat through ``gradebot chat``::

    GRADEBOT_TEST_LLM_URL=http://127.0.0.1:8089/v1 GRADEBOT_TEST_LLM_MODEL=smollm2 \\
        uv run --extra dev pytest tests/llm/test_real_llm.py -n 0
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.llm import LLMInterpreter, build_interpreter
from bot.llm_check import load_cases, run_check, save
from scoring import Worksheet, is_legal

URL = os.environ.get("GRADEBOT_TEST_LLM_URL", "")
MODEL = os.environ.get("GRADEBOT_TEST_LLM_MODEL", "local")
TIMEOUT = float(os.environ.get("GRADEBOT_TEST_LLM_TIMEOUT", "60"))

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not URL, reason="set GRADEBOT_TEST_LLM_URL (scripts/local-llm.sh)")]


def real(tmp_path: Path, url: str = URL, **kw: Any) -> Settings:
    return Settings(llm_model=MODEL, openai_base_url=url, openai_api_key="unused",
                    llm_enabled=True, llm_timeout=kw.pop("timeout", TIMEOUT),
                    llm_check_file=tmp_path / "llm-check.json", **kw)


def test_strict_structured_output(worksheet: Worksheet, tmp_path: Path) -> None:
    interp = LLMInterpreter.from_settings(real(tmp_path), cooldown=0.0)
    reading = interp.read(worksheet.question_map["pays_now"], [], "meh, we kind of scrape by",
                          "Acme")
    assert interp.last_outcome == "ok"
    assert interp.response_format == "json_schema"  # llama-server accepts strict schemas
    assert all(is_legal(worksheet.question_map[a.question_id], a.value)
               for a in reading.answers)


@pytest.fixture
def json_object_only() -> Iterator[str]:
    """A proxy that rejects response_format json_schema the way llama-cpp-python's server
    does (HTTP 500) and passes everything else to the real server."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if json.loads(body).get("response_format", {}).get("type") == "json_schema":
                code, out = 500, json.dumps({"error": {"message": "response_format.type: Input "
                                                       "should be 'text' or 'json_object'"}})
            else:
                r = httpx.post(URL.rstrip("/") + self.path.removeprefix("/v1"), content=body,
                               headers={"content-type": "application/json"}, timeout=TIMEOUT)
                code, out = r.status_code, r.text
            data = out.encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_json_object_only_server(worksheet: Worksheet, tmp_path: Path,
                                 json_object_only: str) -> None:
    interp = LLMInterpreter.from_settings(real(tmp_path, json_object_only), cooldown=0.0)
    q = worksheet.question_map["renewal"]
    reading = interp.read(q, [], "they seem fairly keen to stay on", "Acme")
    assert interp.response_format == "json_object"
    assert interp.last_outcome in ("ok", "error")  # a small model may break the schema
    assert all(is_legal(q, a.value) for a in reading.answers)


def test_slow_server_note(worksheet: Worksheet, tmp_path: Path) -> None:
    interp = LLMInterpreter.from_settings(real(tmp_path, timeout=0.01), cooldown=30.0)
    q = worksheet.question_map["pays_now"]
    notes = [interp.read(q, [], "meh, we kind of scrape by", "Acme").note for _ in range(3)]
    assert interp.last_outcome == "timeout"
    assert notes[-1] is not None
    assert "GRADEBOT_LLM_TIMEOUT" in notes[-1]


def test_eval_sets_through_the_production_path(worksheet: Worksheet, tmp_path: Path,
                                               eval_report: Callable[[str], None]) -> None:
    """Both sets, with the chat's multi-question request: the check's verdict decides whether
    confident readings are recorded; either way no wrong answer is recorded unconfirmed, at
    most one other answer is offered per message, and most calls must succeed."""
    settings = real(tmp_path)
    cases = load_cases("eval_cases") + load_cases("eval_holdout")
    report = run_check(LLMInterpreter.from_settings(settings, cooldown=0.0), worksheet, cases,
                       model=MODEL, base_url=URL, suite="eval_cases+eval_holdout")
    for line in report.summary_lines():
        eval_report(line)
    save(settings, report)
    production = build_interpreter(settings)
    assert isinstance(production, LLMInterpreter)
    assert production.suggest_only is not report.passed
    recorded_wrong = [] if production.suggest_only else report.wrong_recorded
    assert recorded_wrong == [], [(r.case.q, r.case.text, r.value) for r in recorded_wrong]
    assert max(r.extras for r in report.results) <= 1
    assert not report.mostly_failing, "most calls failed: raise GRADEBOT_TEST_LLM_TIMEOUT"


def test_whole_chat_through_gradebot_chat(tmp_path: Path) -> None:
    """`gradebot chat` as a rep uses it, free text read by the real model (unchecked, so it
    only suggests: whatever it reads is confirmed, and "1" is the live list's first item)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}",
           "OPENAI_BASE_URL": URL, "OPENAI_API_KEY": "unused", "GRADEBOT_LLM_MODEL": MODEL,
           "GRADEBOT_LLM_TIMEOUT": str(TIMEOUT), "GRADEBOT_LOG_JSON": "false",
           "GRADEBOT_LLM_CHECK_FILE": str(tmp_path / "none.json"), "COLUMNS": "120"}
    lines = ["Acme quarterly", "yes", "honestly we kind of scrape by on them", "1",
             "about right", "some wins here and there", "likely", "they pay like clockwork",
             "save", "quit"]
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "chat", "--as", "rep"],
                          input="\n".join(lines) + "\n", capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=20 * TIMEOUT)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"LLM {MODEL}: used only to suggest" in out
    assert "Traceback" not in out + proc.stderr
    assert "Saved" in out or "saved" in out, out[-3000:]
