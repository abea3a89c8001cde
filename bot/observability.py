"""Structured logs and Prometheus metrics.

One JSON line per request or event (workspace, user, kind, latency, outcome) — never tokens,
never answer texts: log records carry only the fields passed in ``extra`` under ``fields``.
Metrics live in one registry served at ``/metrics``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("gradebot_requests_total", "Requests and events handled",
                   ["platform", "kind", "outcome"], registry=REGISTRY)
ACK_SECONDS = Histogram("gradebot_ack_seconds", "Time from request to acknowledgement",
                        ["platform", "kind"], registry=REGISTRY,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5))
GRADINGS = Counter("gradebot_gradings_total", "Gradings started and finished",
                   ["event"], registry=REGISTRY)  # started | saved | discarded
REMINDERS = Counter("gradebot_reminders_total", "Reminder deliveries", ["outcome"],
                    registry=REGISTRY)  # sent | failed | followup | done
LLM_CALLS = Counter("gradebot_llm_calls_total", "LLM interpretations",
                    ["outcome"], registry=REGISTRY)  # ok | fallback | error

CONTENT_TYPE = CONTENT_TYPE_LATEST


def metrics_text() -> bytes:
    return generate_latest(REGISTRY)


class JsonFormatter(logging.Formatter):
    """``{"ts":…, "level":…, "logger":…, "msg":…, **fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname,
                               "logger": record.name, "msg": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(out, default=str)


class PlainFormatter(logging.Formatter):
    """``msg key=value …``: the same fields as the JSON lines, for people reading a terminal
    (the access line's latency and outcome must not vanish with GRADEBOT_LOG_JSON=false)."""

    def __init__(self) -> None:
        super().__init__("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return text


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("slack_bolt", "slack_sdk", "httpx", "httpcore", "openai", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


ACCESS = logging.getLogger("gradebot.access")


@dataclass
class Access:
    """One request on its way to its ack. The transport (the ASGI endpoint, the socket-mode
    envelope handler) creates it when the request arrives and logs it when the ack has been
    sent; the app's middleware only fills in what the request is (kind, workspace, user).
    Timing inside Bolt's middleware measured nothing: its ``next()`` returns before the
    listener acks."""

    started: float
    kind: str = "unverified"  # stays so when Bolt refused the request before our middleware
    workspace: str = ""
    user: str = ""


CURRENT_ACCESS: ContextVar[Access | None] = ContextVar("gradebot_access", default=None)


def log_access(platform: str, access: Access, outcome: str) -> float:
    """Log and time a request whose ack has just been sent; the seconds it took."""
    return log_request(platform, access.kind, outcome, access.started,
                       workspace=access.workspace, user=access.user)


def log_request(platform: str, kind: str, outcome: str, started: float, *,
                workspace: str = "", user: str = "") -> float:
    """Count, time and log one request; ``started`` is a ``time.perf_counter()`` value."""
    elapsed = time.perf_counter() - started
    REQUESTS.labels(platform, kind, outcome).inc()
    ACK_SECONDS.labels(platform, kind).observe(elapsed)
    ACCESS.info("request", extra={"fields": {
        "platform": platform, "workspace": workspace, "user": user, "kind": kind,
        "latency_ms": round(elapsed * 1000, 1), "outcome": outcome}})
    return elapsed
