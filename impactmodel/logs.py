"""Keeping respondents' credentials out of logs.

A survey link's token (``/s/<token>``, and every page under it) and the short code on a
card (``/s/c/<code>``, ``/s?code=...``) are all a respondent needs to open their answers,
so the development server's request log shows them redacted. Production servers should
log no paths at all (README.md, "Running it in production").
"""
from __future__ import annotations

import logging
import re

from flask import Flask

REDACTED = "[redacted]"
_SURVEY_PATH = re.compile(r"(?<![\w/.~-])/s/[^\s?#\"']+")
_CODE_PARAMETER = re.compile(r"([?&]code=)[^\s&#\"']*")


def redact(text: str) -> str:
    """``text`` with survey tokens and short codes replaced by [redacted]."""
    text = _SURVEY_PATH.sub("/s/" + REDACTED, text)
    return _CODE_PARAMETER.sub(r"\g<1>" + REDACTED, text)


class RedactSurveyCredentials(logging.Filter):
    """Rewrites each record's message with survey tokens and short codes redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def init_app(app: Flask) -> None:
    # Werkzeug's development server logs every request line to the "werkzeug" logger.
    server_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactSurveyCredentials) for f in server_log.filters):
        server_log.addFilter(RedactSurveyCredentials())
