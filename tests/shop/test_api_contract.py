"""What generated clients rely on: JSON bodies only, one path per version, stable operation ids,
typed query parameters, and error answers whose codes the schema names."""

import re

import pytest
from rest_framework.test import APIClient

from shop.api.errors import ERROR_CODES
from shop.exceptions import ShopError
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_a_form_body_is_refused_with_415(user_client):
    product = ProductFactory()

    response = user_client.post("/api/v1/cart/items/", {"product": product.pk, "quantity": 1})

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_a_form_sign_in_is_refused_with_415_and_a_json_one_accepted(api_client, user):
    form = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": "x"})
    json = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": "x"}, format="json"
    )

    assert form.status_code == 415
    assert json.status_code == 400  # read, and the password is wrong


def test_the_browsable_api_still_offers_a_json_form(staff):
    client = APIClient()
    client.force_login(staff)

    page = client.get("/api/v1/categories/", HTTP_ACCEPT="text/html")

    assert page.status_code == 200
    assert b'name="_content"' in page.content and b"application/json" in page.content


def test_the_versioned_and_the_unversioned_paths_are_the_same_api(api_client):
    ProductFactory()

    versioned = api_client.get("/api/v1/products/").json()
    unversioned = api_client.get("/api/products/").json()

    assert versioned["count"] == unversioned["count"] == 1
    assert versioned["results"][0]["id"] == unversioned["results"][0]["id"]


def test_the_schema_documents_each_operation_once_under_its_version(schema):
    assert all(path.startswith("/api/v1/") for path in schema["paths"])
    major = schema["info"]["version"].split(".")[0]
    assert major == "1"  # the version in the paths


def test_every_operation_has_a_unique_readable_operation_id(schema):
    ids = [operation["operationId"] for _, _, operation in operations(schema)]

    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", operation_id) for operation_id in ids), ids
    assert {"token_obtain", "product_list", "checkout_quote", "order_place", "order_get"} <= set(
        ids
    )


def test_request_bodies_are_json_only(schema):
    bodies = [
        (path, method, list(operation["requestBody"]["content"]))
        for path, method, operation in operations(schema)
        if "requestBody" in operation
    ]

    assert bodies
    # The one exception (docs/api.md, "Pictures"): staff upload a picture as a file.
    upload = ("/api/v1/products/{product_id}/images/", "post", ["multipart/form-data"])
    assert upload in bodies
    bodies.remove(upload)
    assert all(content == ["application/json"] for _, _, content in bodies), bodies


def test_query_booleans_and_integers_are_typed(schema):
    parameters = {
        p["name"]: p["schema"]
        for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]
        if p["in"] == "query"
    }

    assert parameters["in_stock"] == {"type": "boolean"}
    assert parameters["page"]["type"] == parameters["page_size"]["type"] == "integer"


@pytest.mark.parametrize("value, expected", [("true", 1), ("1", 1), ("false", 0), ("0", 0)])
def test_in_stock_reads_the_booleans_clients_send(api_client, value, expected):
    ProductFactory()  # no stock

    response = api_client.get("/api/v1/products/", {"in_stock": value})

    assert response.status_code == 200
    assert response.json()["count"] == 1 - expected


def test_every_error_answer_names_its_codes(schema):
    components = schema["components"]["schemas"]
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            reference = response["content"]["application/json"]["schema"]["$ref"]
            answer = components[reference.rsplit("/", 1)[1]]
            body = components[answer["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
            code = components[body["properties"]["code"]["$ref"].rsplit("/", 1)[1]]
            where = f"{method.upper()} {path} {status}"
            assert code["enum"] and set(code["enum"]) <= ERROR_CODES.keys(), where
            assert all(f"`{c}`" in response["description"] for c in code["enum"]), where
            assert set(body["required"]) == {"code", "message", "details"}, where


def test_every_domain_error_code_is_in_the_catalogue():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    import shop.api.urls  # noqa: F401  (imports every app's API, and so its exceptions)

    codes = {cls.code for cls in subclasses(ShopError)} | {ShopError.code}
    assert codes <= ERROR_CODES.keys(), codes - ERROR_CODES.keys()
