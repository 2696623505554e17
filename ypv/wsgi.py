"""gunicorn's target: ``ypv.wsgi:app``. The only module with an import-time effect.

gunicorn imports this in the worker (no preload), after the fork, so the
sweeper thread and any connections belong to the worker process.
"""

import logging

from ypv.app import create_app
from ypv.config import Config

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = create_app(Config.from_env(), start_sweeper=True)
