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
        fields = getattr(record, "fields", None)
        entry = _json_head(record.created, record.levelname, record.name)
        if fields is not None:
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))

    def fields_line(self, created: float, name: str, fields: dict) -> str:
        """What format() makes of an INFO record carrying ``fields``, without the record."""
        return json.dumps({**_json_head(created, "INFO", name), **fields}, ensure_ascii=False, separators=(",", ":"))


def _json_head(created: float, level: str, name: str) -> dict:
    return {"time": datetime.fromtimestamp(created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": level, "logger": name}


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

    def fields_line(self, created: float, name: str, fields: dict) -> str:
        """What format() makes of an INFO record carrying ``fields``, without the record."""
        msecs = int((created - int(created)) * 1000)  # as LogRecord works it out
        return f"{self._time_text(created, msecs)} INFO {name}: {fields_text(fields)}"

    def formatTime(self, record: logging.LogRecord, datefmt=None) -> str:
        return self._time_text(record.created, record.msecs)

    def _time_text(self, created: float, msecs: float) -> str:
        second = int(created)
        cached_second, text = self._second
        if cached_second != second:
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)
        return self.default_msec_format % (text, msecs)


def fields_text(fields: dict) -> str:
    """A record's fields as its text message: ``rid=… client=… …``."""
    return " ".join(f"{k}={v}" for k, v in fields.items())


def log_fields(logger: logging.Logger, fields: dict) -> None:
    """An INFO record whose message is ``fields_text(fields)`` and which carries ``fields``
    (the JSON format spreads them out): one a request.

    Through logging's record and handler machinery such a line cost a fifth of a whole 429
    answer. While the handler configure() installed is the only one the record would reach,
    the same line is written straight to that handler's stream, under its lock, flushed as
    StreamHandler flushes; with any other handler or filter about (pytest's caplog, an
    operator's own set-up) the record goes through logging as usual.
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _sole_handler(logger)
    if handler is None:
        logger.handle(_record(logger, fields))
        return
    line = handler.formatter.fields_line(time.time(), logger.name, fields) + handler.terminator
    with handler.lock:
        try:
            handler.stream.write(line)
            handler.stream.flush()
        except Exception:  # as StreamHandler.emit: a broken stream is reported, never raised
            handler.handleError(_record(logger, fields))


def _record(logger: logging.Logger, fields: dict) -> logging.LogRecord:
    # makeRecord, not log.info: no stack walk for the caller's file and line, always the same place.
    return logger.makeRecord(logger.name, logging.INFO, __file__, 0, fields_text(fields), None, None,
                             extra={"fields": fields})


_installed: logging.StreamHandler | None = None  # the handler configure() put on the root logger


def _sole_handler(logger: logging.Logger) -> logging.StreamHandler | None:
    """configure()'s handler if the record would reach it and nothing else, unfiltered."""
    if _installed is None or logger.filters or _installed.filters or _installed.level > logging.INFO:
        return None
    node = logger
    while node is not logging.root:  # loggers between it and the root: no handlers, propagating
        if node is None or node.handlers or not node.propagate:
            return None
        node = node.parent
    handlers = node.handlers
    return _installed if len(handlers) == 1 and handlers[0] is _installed else None


def configure(log_format: str, stream=None) -> None:
    """Point the root logger at stderr in the chosen format (replacing earlier handlers)."""
    global _installed
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
    _installed = handler
