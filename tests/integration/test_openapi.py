"""schemathesis against a live ``ev-central``: every operation of /api/openapi.json,
a bounded number of generated cases each; no 5xx, every response conforms to the
document (status code, content type, headers, body schema), and every admin or weather
office operation refuses a missing and a wrong token.

A real ev-central process on free ports, over a store with CPs (``ev-central cp add``),
drivers and sessions (ended, under way, denied).  The number of cases run is printed
and kept in ``test-output/<test>/cases.txt``."""

from __future__ import annotations

import secrets
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cloud.central.store import Store
from tests.integration.conftest import LiveNetwork

EXAMPLES = 25  # generated cases per operation (and a few per refusal check)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("openapi")
    live = LiveNetwork(workdir, 3)
    weather_token = secrets.token_urlsafe(12)
    (workdir / "weather.token").write_text(weather_token)
    live.central_args = ["--weather-token-file", str(workdir / "weather.token")]
    for driver_id in ("D1", "D2"):
        live.add_driver(driver_id)
    seed_sessions(str(live.db), [cp.cp_id for cp in live.cps])
    live.start_central()
    yield live, {"admin": live.token, "weatherOffice": weather_token}
    live.stop()


def seed_sessions(db: str, cp_ids: list[str]) -> None:
    store = Store(db)
    for n in range(5):
        store.record_ended(f"s{n}", cp_ids[n % 2], "D1", "0.35", f"2026-01-0{n + 1}T10:00:00Z",
                           f"2026-01-0{n + 1}T11:00:00Z", "2.5", "0.875", "unplugged")
    store.record_started("s9", cp_ids[2], "D2", "0.35", "2026-01-09T10:00:00Z")
    store.record_denied(cp_ids[0], "D2", "driver", "CP busy", "2026-01-09T10:00:00Z")
    store.close()


def security_of(operation, document) -> str | None:
    item = document["paths"][operation.path][operation.method.lower()]
    return next(iter(item["security"][0]), None) if item.get("security") else None


def run_cases(operation, count: Counter, examples: int, call) -> None:
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case):
        count[operation.label] += 1
        call(case)

    check()


def test_every_operation_conforms_to_the_document(central, output_dir):
    live, tokens = central
    document = requests.get(f"{live.url}/api/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(
        1 for item in document["paths"].values() for method in item if method != "parameters")
    cases, refusals = Counter(), Counter()
    for operation in operations:
        scheme = security_of(operation, document)
        headers = {"Authorization": f"Bearer {tokens[scheme]}"} if scheme else {}

        def call(case, headers=headers):
            response = case.call(base_url=live.url, headers=headers, timeout=10)
            case.validate_response(response, checks=CHECKS)

        run_cases(operation, cases, EXAMPLES, call)
        if scheme is None:
            continue

        def refused(case):
            for wrong in ({}, {"Authorization": "Bearer not-the-token"}):
                response = case.call(base_url=live.url, headers=wrong, timeout=10)
                assert response.status_code in (401, 403), (case.path, response.status_code)
                case.validate_response(response, checks=CHECKS)

        run_cases(operation, refusals, 3, refused)
    summary = (f"schemathesis: {sum(cases.values())} cases over {len(cases)} operations, "
               f"{sum(refusals.values())} token refusal cases over {len(refusals)} operations")
    print(summary)
    (output_dir / "cases.txt").write_text(summary + "\n" + "".join(
        f"{label}: {n}\n" for label, n in sorted(cases.items())))
    assert len(cases) == len(operations)
    assert len(refusals) >= 12
