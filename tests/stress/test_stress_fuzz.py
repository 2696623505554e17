"""Issue 6, item 4: the OpenAPI description (docs/openapi.yaml, served at /openapi.yaml) and
schemathesis against a live server: every generated request must get a protocol answer.

Cases come from the description the server itself serves, in schemathesis' positive and
negative modes, GET and POST (form body), with the api_key replaced by a working key, moved
to the Authorization header, left as generated or dropped. Every answer must be HTTP 200 (or
429 with an honest Retry-After), carry one of the two protocol content types, and be a known
token or valid JSON: no 5xx, no HTML, no traceback, no ERROR_SQL (an unexpected failure).
schemathesis' own conformance checks hold the description to the same. 5,000 requests in
CI; ``YPV_STRESS=long`` sends 10,000 and ``YPV_FUZZ_REQUESTS`` any other number.
"""

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)

from tests.conftest import live_server
from tests.stress.support import add_pool, provision, report, size
from ypv.actions import ACTIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
REQUESTS = int(os.environ.get("YPV_FUZZ_REQUESTS", size(5_000, 10_000)))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
TEXT, JSON = "text/plain; charset=utf-8", "application/json; charset=utf-8"
DEMO_SERVICES = ["tg", "wa", "vk", "ok", "fb", "ig", "go", "ot"]  # sold in country 0 by the demo catalog
KEY_MODES = ("query", "query", "query", "header", "generated", "none")

pytestmark = pytest.mark.live


def test_the_app_serves_docs_openapi_yaml(client):
    resp = client.get("/openapi.yaml")
    assert (resp.status_int, resp.headers["Content-Type"]) == (200, "application/yaml; charset=utf-8")
    assert resp.body == DOC.read_bytes()


def test_the_description_is_valid_openapi_and_lists_every_action():
    schema = schemathesis.openapi.from_path(str(DOC))
    operations = sorted(op.ok().label for op in schema.get_all_operations())
    assert operations == ["GET /openapi.yaml", "GET /stubs/handler_api.php", "POST /stubs/handler_api.php"]
    assert schema.raw_schema["components"]["schemas"]["Action"]["enum"] == list(ACTIONS)


def _header(response, name: str) -> str | None:
    """schemathesis' Response keeps headers as {lowercase name: [values]}."""
    values = response.headers.get(name.lower()) or [None]
    return values[0]


def problems_with(response) -> list[str]:
    """What makes an answer fall outside the protocol (empty when it is a protocol answer)."""
    body, ctype = response.text, _header(response, "Content-Type")
    problems = []
    if response.status_code == 429:
        retry_after = _header(response, "Retry-After") or ""
        if body != "TOO_MANY_REQUESTS" or not retry_after.isdigit() or not 1 <= int(retry_after) <= 60:
            problems.append(f"429 {body!r} Retry-After {retry_after!r}")
    elif response.status_code != 200:
        problems.append(f"HTTP {response.status_code}")
    if ctype not in (TEXT, JSON):
        problems.append(f"content type {ctype!r}")
    if re.search(r"traceback|<html|<!doctype", body, re.I) or "ERROR_SQL" in body:
        problems.append("traceback, HTML or ERROR_SQL")
    if ctype == JSON and not _is_json(body):
        problems.append("invalid JSON")
    if ctype == TEXT and not TOKEN.fullmatch(body):
        problems.append("unknown token")
    return [f"{p}: {body[:120]!r}" for p in problems]


def _is_json(body: str) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


TOKEN = re.compile(yaml.safe_load(DOC.read_text())["components"]["schemas"]["Token"]["pattern"])


def _fuzzing_schema(server) -> schemathesis.BaseSchema:
    """The description as the server serves it, narrowed for the positive mode to the demo's services
    and countries and the first activation ids (random values would almost never name one); the
    negative mode still sends everything outside those."""
    raw = yaml.safe_load(requests.get(f"{server.base_url}/openapi.yaml", timeout=10).text)
    hints = {"service": {"type": "string", "enum": DEMO_SERVICES + ["zz"]},
             "country": {"type": "integer", "enum": [0, 1, 187, 4242]},
             "id": {"type": "integer", "minimum": 1, "maximum": 60}}
    for name, hint in hints.items():
        raw["components"]["parameters"][name]["schema"] = hint
        raw["components"]["schemas"]["FormParameters"]["properties"][name] = hint
    return schemathesis.openapi.from_dict(raw)


def _with_key(case, mode: str, key: str):
    """Put the working key where ``mode`` says; 'generated' keeps schemathesis' value."""
    query = dict(case.query or {})
    headers = dict(case.headers or {})
    if mode != "generated":
        query.pop("api_key", None)
        headers.pop("Authorization", None)
    if mode == "query":
        query["api_key"] = key
    elif mode == "header":
        headers["Authorization"] = f"ApiKey {key}"
    case.query, case.headers = query, headers
    return case


def _send(case, mode: str, key: str, server, session) -> tuple[object, list[str]] | None:
    """Send one case; (response, what is wrong with it), or None if the client refuses to send it."""
    try:
        response = _with_key(case, mode, key).call(base_url=server.base_url, session=session, timeout=30)
    except (requests.exceptions.InvalidHeader, UnicodeEncodeError, ValueError):
        return None  # nothing reached ypv
    found = problems_with(response)
    try:
        case.validate_response(response, checks=CHECKS)
    except Exception as exc:  # schemathesis' conformance failures, collected rather than raised
        found.append(f"schemathesis: {str(exc)[:300]}")
    return response, [f"{case.method} {case.query} {case.body!r}: {p}" for p in found]


def test_schemathesis_gets_only_protocol_answers(tmp_path, request):
    server = live_server(tmp_path, request, env={"YPV_EARLY_CANCEL_SECONDS": "0", "YPV_DEMO_SMS_DELAY_SECONDS": "1"})
    add_pool(server.database_url, 2000)
    key = provision(server.database_url, 1, 10**9)[0]
    handler = _fuzzing_schema(server)["/stubs/handler_api.php"]
    cases = st.one_of(handler.as_strategy(schemathesis.GenerationMode.POSITIVE),
                      handler.as_strategy(schemathesis.GenerationMode.NEGATIVE))
    sent, unsendable, answers, failures = Counter(), Counter(), Counter(), []
    session = requests.Session()

    @settings(max_examples=REQUESTS + REQUESTS // 10, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=cases, mode=st.sampled_from(KEY_MODES))
    def fuzz(case, mode):
        if sum(sent.values()) < REQUESTS:  # Hypothesis may draw a few more than asked: those are not sent
            outcome = _send(case, mode, key, server, session)
            if outcome is None:
                unsendable[case.method] += 1
                return
            sent[case.method] += 1
            answers[(outcome[0].status_code, outcome[0].text.split(":")[0][:24])] += 1
            failures.extend(outcome[1])

    fuzz()
    server.stop()
    report("schemathesis", requests=sum(sent.values()), by_method=dict(sent), unsendable=sum(unsendable.values()),
           outside_protocol=len(failures), answers=dict(answers.most_common()))
    assert failures == []
    assert sum(sent.values()) == REQUESTS
    assert "Traceback" not in server.log_path.read_text()
