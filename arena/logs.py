"""Logging of `arena serve`: one line per event, text or JSON, credentials masked."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from arena.redact import redact

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


class RedactingFilter(logging.Filter):
    """Masks credentials in every record's message (known secrets and their shapes)."""

    def __init__(self, secrets: Callable[[], Iterable[str | None]]) -> None:
        super().__init__()
        self.secrets = secrets  # read at each record: a config reload may add keys

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = tuple(self.secrets())
        message = record.getMessage()
        masked = redact(message, secrets)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        return True


class LineFormatter(logging.Formatter):
    """`2026-11-30T12:00:00.123Z INFO arena.live: message`, newlines escaped."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z"
        text = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_text:
            text += " | " + record.exc_text
        return text.replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(*, level: str = "info", json_lines: bool = False,
                      secrets: Callable[[], Iterable[str | None]] = tuple,
                      stream: Any = None) -> logging.Handler:
    """Route every logger (arena.*, uvicorn, ...) to one handler on stderr; *secrets*
    returns the known credentials to mask (the live models' API keys)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else LineFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # One line per HTTP request (Gradio polls) drowns the events an owner needs.
    logging.getLogger("uvicorn.access").setLevel(
        logging.DEBUG if level == "debug" else logging.WARNING)
    for noisy in ("httpx", "httpcore", "aiohttp", "multipart"):
        logging.getLogger(noisy).setLevel(max(LEVELS[level], logging.WARNING))
    return handler
