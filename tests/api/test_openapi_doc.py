"""The OpenAPI document a TTHC-system integrator reads at /docs: complete, with examples and problems."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server import create_app
from settings import Settings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    spec: dict[str, Any] = create_app(Settings(_env_file=None, zalo_mode="fake")).openapi()  # type: ignore[call-arg]
    return spec


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path.startswith(("/api/", "/webhooks/"))
    ]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return document["components"]["schemas"][ref.split("/")[-1]] if ref else schema


def test_every_operation_says_what_it_does_and_how_it_fails(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        assert operation.get("description"), f"{method} {path} has no docstring"
        errors = {status: answer for status, answer in operation["responses"].items() if status >= "400"}
        assert errors, f"{method} {path} documents no error"
        for status, answer in errors.items():
            assert list(answer["content"]) == ["application/problem+json"], (method, path, status)
            assert answer["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/ProblemDetail"
            }
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["ProblemDetail"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
    ]


def test_keyed_operations_say_401_and_every_post_takes_an_idempotency_key(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if not path.startswith("/api/"):
            continue
        assert operation["security"] == [{"HTTPBearer": []}], (method, path)
        assert "401" in operation["responses"], (method, path)
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert ("Idempotency-Key" in headers) is (method == "post"), (method, path)
        if method == "post":
            assert "409" in operation["responses"]


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        body = operation.get("requestBody")
        if body is None:
            continue
        schema = resolve(document, body["content"]["application/json"]["schema"])
        assert schema.get("examples"), f"{method} {path}: no example body"


async def test_the_docs_page_and_the_document_are_served(settings: Settings) -> None:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        page = await http.get("/docs")
        spec = await http.get("/openapi.json")
    assert page.status_code == 200
    assert "swagger" in page.text.lower()
    assert spec.json()["info"]["title"] == "Dossier tracker (hồ sơ TTHC)"
    assert "/api/v1/dvcqg/sync" in spec.json()["paths"]
