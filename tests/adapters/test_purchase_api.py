"""The purchase API through the Starlette test client, on SQLite and PostgreSQL: requests
signed exactly as a till signs them, and every way a request can be wrong."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.api.component import PurchaseApiComponent
from bot.bootstrap import Services, build
from bot.settings import EXAMPLE_PROGRAM, Settings
from core.model import Identity
from tests.api_support import SECRET, signed
from tests.storage.ledger_checks import LedgerChecker

PURCHASES = "/api/v1/purchases"
REFUNDS = "/api/v1/refunds"


def past_promotion_program(directory: Path) -> Path:
    """The shipped program with its app promotion moved into the past (early January)."""
    text = EXAMPLE_PROGRAM.read_text(encoding="utf-8")
    text = text.replace("2026-11-27T00:00:00-05:00", "2026-01-02T00:00:00-05:00")
    text = text.replace("2026-11-30T00:00:00-05:00", "2026-01-05T00:00:00-05:00")
    path = directory / "program.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    settings = Settings(
        database_url=database_url,
        pos_webhook_secret=SECRET,
        loyalty_program=past_promotion_program(tmp_path),
        _env_file=None,
    )
    built = build(settings, migrate=True)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    app = Starlette(routes=PurchaseApiComponent(services).routes())
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def ann(services: Services) -> str:
    """A member's code."""
    return services.loyalty.enroll(
        Identity(platform="telegram", external_id="1", display_name="Ann", username="ann")
    ).member.code


def post(client: TestClient, path: str, body: dict[str, object] | bytes, **sign: object):  # type: ignore[no-untyped-def]
    raw, headers = signed(body, **sign)  # type: ignore[arg-type]
    return client.post(path, content=raw, headers=headers)


def purchase(
    member: str, receipt: str = "R-1", amount: str = "12.40", **extra: object
) -> dict[str, object]:
    return {"member": member, "receipt": receipt, "amount": amount, "currency": "USD", **extra}


def test_a_new_purchase_is_201_and_the_same_request_again_200_with_the_same_body(
    client: TestClient, services: Services, ann: str
) -> None:
    first = post(client, PURCHASES, purchase(ann, store="main-st", channel="store"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["member"], body["points"], body["status"]) == (ann, 12, "pending")
    assert body["pending_until"] is not None and body["tier"] == "Green"
    again = post(client, PURCHASES, purchase(ann, store="main-st", channel="store"))
    assert (again.status_code, again.json()) == (200, body)
    # The receipt is a key however a till prints it.
    same = post(
        client, PURCHASES, purchase(ann, receipt=" r-1. ", store="main-st", channel="store")
    )
    assert (same.status_code, same.json()) == (200, body)
    LedgerChecker(services.database.engine).check()


def test_the_same_receipt_with_another_body_is_409_and_changes_nothing(
    client: TestClient, services: Services, ann: str
) -> None:
    assert post(client, PURCHASES, purchase(ann)).status_code == 201
    before = LedgerChecker(services.database.engine).check().counts
    conflict = post(client, PURCHASES, purchase(ann, amount="99.00"))
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "conflict" and "R-1" in conflict.json()["message"]
    assert LedgerChecker(services.database.engine).check().counts == before


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"X-Loyalty-Timestamp": "now", "X-Loyalty-Signature": "v1=00"}, "unix seconds"),
        ({"X-Loyalty-Signature": "v1=00"}, "missing"),
    ],
)
def test_unsigned_requests_are_401(
    client: TestClient, ann: str, headers: dict[str, str], reason: str
) -> None:
    raw, _ = signed(purchase(ann))
    response = client.post(PURCHASES, content=raw, headers=headers)
    assert response.status_code == 401 and reason in response.json()["message"]


def test_wrong_secret_stale_and_tampered_requests_are_401_and_change_nothing(
    client: TestClient, services: Services, ann: str
) -> None:
    before = LedgerChecker(services.database.engine).check().counts
    assert post(client, PURCHASES, purchase(ann), secret="guess").status_code == 401
    stale = post(client, PURCHASES, purchase(ann), at=time.time() - 301)
    assert stale.status_code == 401 and "five minutes" in stale.json()["message"]
    assert post(client, PURCHASES, purchase(ann), at=time.time() + 400).status_code == 401
    raw, headers = signed(purchase(ann))
    tampered = raw.replace(b"12.40", b"99.40")
    assert client.post(PURCHASES, content=tampered, headers=headers).status_code == 401
    assert LedgerChecker(services.database.engine).check().counts == before
    # A rotated secret: any one of several v1 signatures may match.
    raw, headers = signed(purchase(ann))
    headers["X-Loyalty-Signature"] = "v1=" + "0" * 64 + ", " + headers["X-Loyalty-Signature"]
    assert client.post(PURCHASES, content=raw, headers=headers).status_code == 201


def test_bad_input_is_422_with_the_field_and_the_reason(client: TestClient, ann: str) -> None:
    malformed = post(client, PURCHASES, b'{"member": "K7Q')
    assert malformed.status_code == 422
    assert malformed.json()["fields"] == [{"field": "body", "reason": "not valid JSON"}]
    checks: list[tuple[dict[str, object], str, str]] = [
        (purchase(ann, amount=12.4), "amount", "string"),
        (purchase(ann, amount="12.405"), "amount", "decimals"),
        (purchase(ann, amount="0"), "amount", "more than zero"),
        (purchase(ann, amount="5000.01"), "amount", "maximum of 5000"),
        (purchase(ann, currency="EUR"), "currency", "USD"),
        (purchase(ann, occurred_at="2026-11-25T10:00:00"), "occurred_at", "timezone"),
        (purchase(ann, occurred_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()),
         "occurred_at", "future"),
        ({"receipt": "R-1", "amount": "1", "currency": "USD"}, "member", "required"),
        (purchase(ann, items=[{"sku": "A", "amount": "20.00"}]), "items", "more than"),
        (purchase(ann, items=[{"sku": "A", "amount": "1.001"}]), "items.0.amount", "decimals"),
        (purchase(ann, store="Main St"), "store", "pattern"),
    ]  # fmt: skip
    for body, field, reason in checks:
        response = post(client, PURCHASES, body)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert problem["error"] == "invalid"
        assert any(f["field"] == field and reason in f["reason"] for f in problem["fields"]), (
            field,
            problem,
        )


def test_a_ten_megabyte_body_is_413(client: TestClient, ann: str) -> None:
    huge = purchase(ann, note="x" * (10 * 1024 * 1024))
    response = post(client, PURCHASES, huge)
    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_unknown_members_are_404_and_every_way_to_name_a_member_works(
    client: TestClient, services: Services, ann: str
) -> None:
    missing = post(client, PURCHASES, purchase("ZZZ-ZZZZ"))
    assert (missing.status_code, missing.json()["error"]) == (404, "member_not_found")
    assert post(client, PURCHASES, purchase("customer:C-77")).status_code == 404
    services.loyalty.link_customer(ann, "C-77")
    by_customer = post(client, PURCHASES, purchase("customer:C-77", receipt="R-2"))
    assert (by_customer.status_code, by_customer.json()["member"]) == (201, ann)
    token = services.cards.issue(ann)  # a card scanned at the till
    by_card = post(client, PURCHASES, purchase(token, receipt="R-3"))
    assert (by_card.status_code, by_card.json()["member"]) == (201, ann)


def test_points_follow_the_rules_of_the_purchase_time(
    client: TestClient, services: Services, ann: str
) -> None:
    black_friday = "2026-01-03T12:00:00-05:00"
    app = post(client, PURCHASES, purchase(ann, "R-A", "10.00", channel="app",
                                           occurred_at=black_friday))  # fmt: skip
    assert (app.json()["points"], app.json()["promotion"]) == (20, "app-black-friday")
    beans = [{"sku": "B1", "category": "beans", "amount": "4.00"}]
    store = post(client, PURCHASES, purchase(ann, "R-B", "10.00", channel="store", items=beans,
                                             occurred_at=black_friday))  # fmt: skip
    assert (store.json()["points"], store.json()["category_bonus"]) == (18, 8)
    partner = post(client, PURCHASES, purchase(ann, "R-C", "10.00", store="partner-mall"))
    assert (partner.status_code, partner.json()["points"], partner.json()["status"]) == (
        201,
        0,
        "none",
    )
    old = datetime.now(UTC) - timedelta(days=400)
    expired = post(client, PURCHASES, purchase(ann, "R-D", "30.00", occurred_at=old.isoformat()))
    assert (expired.json()["status"], expired.json()["points"]) == ("expired", 30)
    recent = datetime.now(UTC) - timedelta(days=20)  # past the 14-day return window
    available = post(client, PURCHASES, purchase(ann, "R-E", "5.00",
                                                 occurred_at=recent.isoformat()))  # fmt: skip
    assert (available.json()["status"], available.json()["pending_until"]) == ("available", None)
    again = post(client, PURCHASES, purchase(ann, "R-D", "30.00", occurred_at=old.isoformat()))
    assert (again.status_code, again.json()) == (200, expired.json())
    facts = LedgerChecker(services.database.engine).check()
    member = services.loyalty.find_member(ann)
    # January's two and R-E are past their return window; R-D expired; 25 welcome points.
    assert facts.balances[member.id][0] == 20 + 18 + 5 + 25


def test_refunds_once_per_refund_id(client: TestClient, services: Services, ann: str) -> None:
    assert post(client, PURCHASES, purchase(ann, "R-9", "40.00")).status_code == 201
    partial = post(client, REFUNDS, {"receipt": "r-9", "refund_id": "F-1", "amount": "10.00"})
    assert partial.status_code == 201, partial.text
    assert (partial.json()["points"], partial.json()["from_pending"]) == (10, 10)
    retried = post(client, REFUNDS, {"receipt": "r-9", "refund_id": "F-1", "amount": "10.00"})
    assert (retried.status_code, retried.json()) == (200, partial.json())
    other = post(client, REFUNDS, {"receipt": "R-9", "refund_id": "F-1", "amount": "5.00"})
    assert other.status_code == 409
    rest = post(client, REFUNDS, {"receipt": "R-9", "refund_id": "F-2"})
    assert (rest.status_code, rest.json()["amount"], rest.json()["points"]) == (201, "30.00", 30)
    done = post(client, REFUNDS, {"receipt": "R-9", "refund_id": "F-3"})
    assert (done.status_code, done.json()["error"]) == (409, "nothing_to_refund")
    unknown = post(client, REFUNDS, {"receipt": "R-404", "refund_id": "F-4"})
    assert unknown.status_code == 404
    too_much = post(client, PURCHASES, purchase(ann, "R-10", "5.00"))
    assert too_much.status_code == 201
    over = post(client, REFUNDS, {"receipt": "R-10", "refund_id": "F-5", "amount": "6.00"})
    assert (over.status_code, over.json()["fields"][0]["field"]) == (422, "amount")
    LedgerChecker(services.database.engine).check()


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    assert {"/v1/purchases", "/v1/refunds"} <= set(document["paths"])
    responses = document["paths"]["/v1/purchases"]["post"]["responses"]
    assert {"200", "201", "401", "404", "409", "413", "422"} <= set(responses)
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text


def test_a_body_without_a_content_type_is_read_as_json(client: TestClient, ann: str) -> None:
    raw, headers = signed(purchase(ann, "R-CT"))
    del headers["Content-Type"]
    response = client.post(PURCHASES, content=raw, headers=headers)
    assert (response.status_code, response.json()["receipt"]) == (201, "R-CT")


def test_a_database_that_cannot_write_is_503_with_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    ready = build(Settings(database_url=f"sqlite:///{path}", _env_file=None), migrate=True)
    identity = Identity(platform="telegram", external_id="1", display_name="Ann", username="ann")
    code = ready.loyalty.enroll(identity).member.code
    ready.close()
    settings = Settings(
        database_url=f"sqlite:///file:{path}?mode=ro&uri=true",  # as a full or read-only disk
        pos_webhook_secret=SECRET,
        _env_file=None,
    )
    services = build(settings, migrate=False)
    try:
        app = Starlette(routes=PurchaseApiComponent(services).routes())
        with TestClient(app) as client:
            answer = post(client, PURCHASES, purchase(code))
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "5"
        assert answer.json()["error"] == "unavailable"
        assert "read-only" in answer.json()["message"]
    finally:
        services.close()
    # Nothing was written: the till's retry, once the database can write, earns once.
    writable = build(Settings(database_url=f"sqlite:///{path}", _env_file=None), migrate=False)
    try:
        ann = writable.loyalty.identify("telegram", "1")
        assert ann is not None and writable.loyalty.balance(ann.id).pending == 0
    finally:
        writable.close()
