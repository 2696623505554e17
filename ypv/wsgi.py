"""gunicorn's target: ``ypv.wsgi:app``. The only module with an import-time effect.

gunicorn imports this in the worker (no preload), after the fork, so the
sweeper thread and any connections belong to the worker process.
"""

import os
import sys

from ypv.config import DEFAULT_DATABASE_URL, Config  # standard library only

if os.environ.get("YPV_DATABASE_URL", DEFAULT_DATABASE_URL).strip().startswith("sqlite"):
    # Peewee imports psycopg whenever it is installed, and psycopg's binary wheel
    # loads its own libpq, OpenSSL and Kerberos: 11.6 MiB of every SQLite worker's
    # memory for a driver it never calls. Marking it absent before Peewee is
    # imported keeps it out; with a PostgreSQL URL it is imported as usual.
    sys.modules.setdefault("psycopg", None)

from ypv import logs  # noqa: E402  (after the psycopg decision above)
from ypv.app import create_app  # noqa: E402

config = Config.from_env()
logs.configure(config.log_format)
app = create_app(config, start_sweeper=True)
