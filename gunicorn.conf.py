"""gunicorn configuration: `gunicorn -c gunicorn.conf.py ypv.wsgi:app` (what `ypv serve` runs).

The settings live in ypv/gunicorn_settings.py so an installed ypv carries them too.
"""

from ypv.gunicorn_settings import *  # noqa: F401,F403  (gunicorn reads module globals)
