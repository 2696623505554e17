"""The stress suite's session plumbing: the secrets sweep watches every test and runs last."""

from tests.stress import secrets_watch

SWEEP = "tests/stress/test_stress_secrets.py"


def pytest_collection_modifyitems(session, config, items):
    """Called once every test is collected and before any runs: start watching, move the sweep last."""
    secrets_watch.start()
    last = [item for item in items if item.nodeid.startswith(SWEEP)]
    items[:] = [item for item in items if not item.nodeid.startswith(SWEEP)] + last
