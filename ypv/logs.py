"""Logging set-up for the service: plain text lines, or one JSON object a line.

``YPV_LOG_FORMAT=json`` is for log shippers (journald → Loki, Vector, …): every
record ypv writes becomes one JSON object, and a per-request record carries its
fields (rid, action, token, key, ms, …) as top-level keys instead of a message.
"""

import json
import logging
import sys
import time
from datetime import datetime, timezone

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if fields is not None:
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, with the time's text made once a second rather than once a line
    (localtime + strftime were a tenth of a request's log line)."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)
        self._second = (None, "")   # (whole second, its text): one tuple, so threads never see half

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        # TEXT_FORMAT written out: the same text as the %-style template, a third of the time.
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        return f"{record.asctime} {record.levelname} {record.name}: {record.message}"

    def formatTime(self, record: logging.LogRecord, datefmt=None) -> str:
        second = int(record.created)
        cached_second, text = self._second
        if cached_second != second:
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)
        return self.default_msec_format % (text, record.msecs)


def configure(log_format: str, stream=None) -> None:
    """Point the root logger at stderr in the chosen format (replacing earlier handlers)."""
    # No format ypv or gunicorn uses shows a thread or a multiprocessing name: skip looking them up per record.
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
