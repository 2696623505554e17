"""gunicorn settings for ypv (top-level gunicorn.conf.py loads these too).

One worker process with threads: the rate limiter lives in memory, so it is
exact only when every request for a key reaches the same process. To use more
cores, run several single-process instances and route each key to one of them
(docs: nginx `hash $arg_api_key consistent`). More workers here trigger a
warning at start-up.

The access log format never includes the query string: clients put api_key
there, and gunicorn's default format (%(r)s) would write it to disk.
"""

import ctypes
import logging
import os

bind = os.environ.get("YPV_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("YPV_WORKERS", "1"))
worker_class = "ypv.gunicorn_worker.Worker"  # gthread that never logs a request line
threads = int(os.environ.get("YPV_THREADS", "8"))
timeout = 30
graceful_timeout = 10
keepalive = 5
# 0 = gunicorn's own 1 MiB ceiling: an over-long query gets a protocol token from
# the app instead of gunicorn's HTML "Request Line is too large" page.
limit_request_line = 0
# Empty turns gunicorn's access log off: ypv writes its own line per request (ypv.request).
accesslog = os.environ.get("YPV_ACCESS_LOG", "-") or None
# Whose X-Forwarded-* headers gunicorn believes; the app reads the same variable (ypv/config.py).
_proxies = os.environ.get("YPV_TRUSTED_PROXIES", "").strip() or "127.0.0.1,::1"
forwarded_allow_ips = "" if _proxies.lower() == "none" else _proxies
errorlog = os.environ.get("YPV_ERROR_LOG", "-")
# gunicorn >= 25.1 opens a control socket at ~/.gunicorn/gunicorn.ctl: N instances on one box would
# share that one path, and the service user has no home. ypv does not use it (older gunicorns ignore this).
control_socket_disable = True
access_log_format = '%(h)s - - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss rid=%({x-request-id}o)s'


def when_ready(server):
    if server.cfg.workers > 1:
        logging.getLogger("gunicorn.error").warning(
            "ypv: %d workers configured; the per-key rate limit is per process and will not be exact. "
            "Run one worker with threads, or one instance per core behind nginx's consistent hash.",
            server.cfg.workers,
        )


def post_fork(server, worker):
    _tune_malloc()


def _tune_malloc(arenas: int = 2, mmap_threshold: int = 128 * 1024) -> None:
    """Keep freed memory from piling up in the worker (glibc only; elsewhere a no-op).

    glibc gives threads that allocate at once their own heap arenas (up to 8 per
    core) and keeps what each freed; and once a big block has been freed it
    serves later big blocks from the heap, where holes cannot be given back. The
    catalog rebuilds 30,000-entry tables every couple of seconds on short-lived
    threads, so both added up: ~30 MiB of idle arena space in a busy worker. Two
    arenas (as MALLOC_ARENA_MAX=2 does) and big blocks always mmap()ed, so they
    go back to the system when freed. Set in the worker before its threads exist.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-8, arenas)          # M_ARENA_MAX
        libc.mallopt(-3, mmap_threshold)  # M_MMAP_THRESHOLD (a fixed one stops glibc raising it)
    except (OSError, AttributeError):
        pass
