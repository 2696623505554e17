"""The ceiling: a Falcon app on ypv's path that does no work at all.

It answers every request with a constant chosen by ``action`` (the bench writes
the exact bytes ypv sends for each scenario into BENCH_BARE_BODIES, so a
full-catalog getPrices is compared with sending the same megabyte, not with
sending ``OK``). Served by the same gunicorn settings as ypv.
"""

import json
import os

import falcon

TEXT = "text/plain; charset=utf-8"


def _load_bodies() -> dict:
    path = os.environ.get("BENCH_BARE_BODIES")
    if not path:
        return {}
    with open(path, encoding="utf-8") as handle:
        return {action: (ctype, body.encode("utf-8")) for action, (ctype, body) in json.load(handle).items()}


class Constant:
    def __init__(self, bodies: dict):
        self.bodies = bodies
        self.default = (TEXT, b"ACCESS_BALANCE:1000.00")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type, resp.data = self.bodies.get(req.get_param("action"), self.default)

    on_post = on_get


app = falcon.App()
app.add_route("/stubs/handler_api.php", Constant(_load_bodies()))
