"""gunicorn's threaded worker, minus two leaks.

When gunicorn cannot parse a request it logs the raw request line (which holds
``api_key=…``) and answers with an HTML page. Keys must never reach a log and
clients of this API read plain tokens, so such requests are logged by error
class only and answered as the protocol answers any request whose key cannot
be read: HTTP 200, ``BAD_KEY`` (``ERROR_SQL`` for a failure of our own).
"""

from gunicorn.http.errors import InvalidResponseHeader, InvalidResponseHeaderName, ParseException
from gunicorn.util import write_nonblock
from gunicorn.workers.gthread import ThreadWorker


class Worker(ThreadWorker):
    def handle_error(self, req, client, addr, exc):
        ip = (addr or ("unix",))[0]
        if isinstance(exc, ParseException) and not isinstance(
                exc, (InvalidResponseHeader, InvalidResponseHeaderName)):
            self.log.warning("invalid request from %s: %s", ip, type(exc).__name__)
            body = "BAD_KEY"
        else:
            self.log.error("error handling a request from %s: %s", ip, type(exc).__name__)
            body = "ERROR_SQL"
        try:
            write_nonblock(client, _plain(body))
        except Exception:  # the client is gone; nothing left to tell it
            self.log.debug("failed to send the error answer")


def _plain(body: str) -> bytes:
    return (f"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode("ascii")
