"""Issue 6, item 4: the OpenAPI description (docs/openapi.yaml, served at /openapi.yaml) and
schemathesis against a live server: every generated request must get a protocol answer."""

from pathlib import Path

import schemathesis

from ypv.actions import ACTIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_the_app_serves_docs_openapi_yaml(client):
    resp = client.get("/openapi.yaml")
    assert (resp.status_int, resp.headers["Content-Type"]) == (200, "application/yaml; charset=utf-8")
    assert resp.body == DOC.read_bytes()


def test_the_description_is_valid_openapi_and_lists_every_action():
    schema = schemathesis.openapi.from_path(str(DOC))
    operations = sorted(op.ok().label for op in schema.get_all_operations())
    assert operations == ["GET /openapi.yaml", "GET /stubs/handler_api.php", "POST /stubs/handler_api.php"]
    assert schema.raw_schema["components"]["schemas"]["Action"]["enum"] == list(ACTIONS)
