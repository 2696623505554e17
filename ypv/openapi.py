"""``GET /openapi.yaml``: the OpenAPI 3 description of the handler API (docs/openapi.yaml).

The file ships inside the package (ypv/openapi.yaml links to docs/openapi.yaml), so an
installed instance serves the description of exactly the API it runs.
"""

from importlib import resources

import falcon

PATH = "/openapi.yaml"
CONTENT_TYPE = "application/yaml; charset=utf-8"


class OpenApiDocument:
    def __init__(self):
        self.body = resources.files("ypv").joinpath("openapi.yaml").read_bytes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = CONTENT_TYPE
        resp.data = self.body
