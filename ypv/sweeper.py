"""Background work inside the service: expiry on time, demo SMS, the remembered keys re-read.

One daemon thread per worker process. Every write is a conditional UPDATE, so
running it beside ``ypv expire`` (or in two processes) never applies anything twice.
"""

import time

from ypv import db, demo_sms, key_usage, keys, rentals
from ypv.background import Loop
from ypv.config import Config


def run_once(config: Config, now: int) -> int:
    """One sweep: expire what is due and deliver due demo SMS; returns rentals touched."""
    with db.connection():
        touched = rentals.expire_due(now)
        if config.demo_sms_delay_seconds:
            touched += demo_sms.deliver_due(now, config.demo_sms_delay_seconds)
        key_usage.usage.flush()  # the last_used_at refreshes requests left behind
        keys.refresh_remembered()  # every REFRESH seconds: busy keys stay remembered, changed ones go
    return touched


class Sweeper(Loop):
    def __init__(self, config: Config, clock=time.time):
        super().__init__("ypv-sweeper", config.sweeper_interval_seconds, lambda now: run_once(config, now), clock)
        self.config = config
