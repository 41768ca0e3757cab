"""Schemathesis against the purchase API's own OpenAPI document, on SQLite and PostgreSQL:
generated requests (valid and invalid), each signed like a till's; no answer is a 500 and
every answer matches the schema it claims."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.api.component import PurchaseApiComponent
from bot.bootstrap import Services, build
from bot.settings import Settings
from core.model import Identity
from tests.api_support import SECRET, signed

EXAMPLES = 30  # per operation and mode: a few seconds in CI
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    settings_ = Settings(database_url=database_url, pos_webhook_secret=SECRET, _env_file=None)
    built = build(settings_, migrate=True)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    app = Starlette(routes=PurchaseApiComponent(services).routes())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def member_code(services: Services) -> str:
    return services.loyalty.enroll(
        Identity(platform="telegram", external_id="1", display_name="Ann", username="ann")
    ).member.code


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_matches_the_schema(
    client: TestClient, member_code: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/v1/purchases", "/v1/refunds"}
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            _send_and_validate(client, case, member_code)

        check()


def _send_and_validate(client: TestClient, case: Any, member_code: str) -> None:
    body = case.body
    if isinstance(body, dict) and "member" in body and len(str(body.get("receipt", ""))) % 2:
        # Half the valid-looking purchases name a real member, so success paths run too.
        body = {**body, "member": member_code, "currency": "USD"}
    raw = json.dumps(body, default=str).encode()
    _, headers = signed(raw)
    response = client.post(f"/api{case.formatted_path}", content=raw, headers=headers)
    assert response.status_code < 500, (case.formatted_path, raw[:500])
    case.validate_response(response, checks=CHECKS)
