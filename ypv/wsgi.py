"""gunicorn's target: ``ypv.wsgi:app``. The only module with an import-time effect.

gunicorn imports this in the worker (no preload), after the fork, so the
sweeper thread and any connections belong to the worker process.
"""

from ypv import logs
from ypv.app import create_app
from ypv.config import Config

config = Config.from_env()
logs.configure(config.log_format)
app = create_app(config, start_sweeper=True)
