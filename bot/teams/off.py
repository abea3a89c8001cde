"""/api/messages when Teams is not configured (imports nothing from the Teams SDK)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger("gradebot.teams")

NO_AUTH_HELP = ("Teams: refused a request to /api/messages: no credentials are configured. "
                "Set CLIENT_ID, CLIENT_SECRET and TENANT_ID (the Azure Bot's Entra app), or "
                "GRADEBOT_TEAMS_DEV_NO_AUTH=true for local testing only.")


async def refuse_unconfigured(_request: Request) -> Response:
    """Refused with a 401, and the log says what to set."""
    log.warning(NO_AUTH_HELP)
    return JSONResponse({"error": "Teams is not configured on this server"}, status_code=401)
