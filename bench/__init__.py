"""``make bench``: ypv against a bare Falcon app under the same gunicorn settings, driven by wrk.

Run ``python -m bench --help``. Nothing here is imported by the service.
"""
