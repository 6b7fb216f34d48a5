"""The OpenAPI document and the app's routes describe the same API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cloud.central.openapi import DOCUMENT
from tests.unit.central.conftest import AUTH

NOT_API = {"/", "/events", "/sessions", "/sessions.csv", "/static/<path:filename>"}
METHODS = {"get", "put", "post", "delete", "patch"}


def flask_operations(app) -> set[tuple[str, str]]:
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.rule in NOT_API:
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        operations |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return operations


def document_operations(document) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items()
            for method in item if method in METHODS}


def test_every_route_is_in_the_document_and_nothing_else(app):
    assert flask_operations(app) == document_operations(DOCUMENT)


def test_the_document_is_served(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.0")
    assert document_operations(response.get_json()) == document_operations(DOCUMENT)


def test_every_reference_resolves_and_every_admin_call_is_secured():
    text = repr(DOCUMENT)
    names = set(re.findall(r"#/components/schemas/(\w+)", text))
    assert names <= DOCUMENT["components"]["schemas"].keys()
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method in ("put", "post", "delete"):
                assert operation.get("security"), (method, path)
                assert {"401", "403"} <= operation["responses"].keys(), (method, path)


@pytest.mark.parametrize("path", ["/api/cps", "/api/drivers", "/api/requests", "/api/alerts"])
def test_every_list_pages(client, path):
    whole = client.get(path)
    assert whole.headers["X-Total-Count"] == str(len(whole.get_json()))
    page = client.get(f"{path}?limit=1&offset=1")
    assert page.get_json() == whole.get_json()[1:2]
    assert page.headers["X-Total-Count"] == whole.headers["X-Total-Count"]
    assert client.get(f"{path}?limit=0").status_code == 400
    assert "from 0" in client.get(f"{path}?offset=x").get_json()["message"]


def test_list_cps_pages(client):
    assert [cp["id"] for cp in client.get("/api/cps?limit=2&offset=1").get_json()] == [
        "CP2", "CP3"]


def test_sessions_under_way(client, sessions):
    response = client.get("/api/sessions?status=supplying")
    assert [s["id"] for s in response.get_json()] == [sessions["CP2/D7"]]
    assert response.headers["X-Total-Count"] == "1"
    assert client.get("/api/sessions/totals?status=ended").get_json()["count"] == 2
    bad = client.get("/api/sessions?status=charging")
    assert bad.status_code == 400
    assert bad.get_json()["message"].startswith("status must be one of: authorized")


def test_admin_token_needed_for_the_audit(client):
    assert client.get("/api/audit").status_code == 401
    assert client.get("/api/audit", headers=AUTH).status_code == 200


def test_the_readme_lists_every_operation():
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    section = readme[readme.index("## REST API"):]
    section = section[:section.index("\n## ", 1)]
    listed = set(re.findall(r"^\| `([A-Z]+) (/\S+)` \|", section, re.M))
    assert listed == {(method.upper(), path) for method, path in document_operations(DOCUMENT)}
    assert "/api/openapi.json" in section
