"""The purchase API as a FastAPI app: POST /v1/purchases and /v1/refunds, mounted at /api.

Signatures and the body limit are checked on the raw bytes first (`bot.api.middleware`);
then FastAPI validates the JSON, and the handlers call one core use case each.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from bot.api.middleware import BODY_LIMIT, SignedBodies
from bot.api.models import (
    FieldProblem,
    ItemIn,
    PointsStatus,
    Problem,
    PurchaseIn,
    PurchaseOut,
    RefundIn,
    RefundOut,
)
from bot.api.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from bot.cards import CardTokens
from core import errors
from core.commands import RefundPurchase
from core.loyalty import Loyalty
from core.model import PurchaseItem
from core.pos import ExternalPurchase, ExternalPurchaseResult
from core.program import Program
from core.results import RefundResult
from core.text import normalize_receipt

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer other than success: status, code, sentence and the fields at fault."""

    def __init__(self, status: int, error: str, message: str, *fields: FieldProblem) -> None:
        super().__init__(message)
        self.status = status
        self.body = Problem(error=error, message=message, fields=list(fields))


def invalid(field: str, reason: str) -> ApiError:
    """A 422 naming one field."""
    return ApiError(422, "invalid", f"{field}: {reason}", FieldProblem(field=field, reason=reason))


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text}
    for status, text in (
        (401, "unsigned, wrongly signed, or signed more than five minutes away"),
        (404, "unknown member or receipt"),
        (409, "the same receipt or refund id with another body, or nothing left to refund"),
        (413, "the body is over the size limit"),
        (422, "invalid input; `fields` names each field and why"),
    )
}
Timestamp = Annotated[str, Header(alias=TIMESTAMP_HEADER, description="unix seconds")]
Signature = Annotated[str, Header(alias=SIGNATURE_HEADER, description='"v1=<hex HMAC>"')]


class PurchaseApi:
    """The handlers, bound to the core and to the card-token verifier."""

    def __init__(self, loyalty: Loyalty, cards: CardTokens | None) -> None:
        self.loyalty = loyalty
        self.cards = cards

    @property
    def program(self) -> Program:
        return self.loyalty.program

    def purchase(self, body: PurchaseIn) -> tuple[int, PurchaseOut]:
        """Record a purchase: (201, result), or (200, the first result) when replayed."""
        purchase = ExternalPurchase(
            member_ref=self._member_ref(body.member),
            receipt=_receipt(body.receipt),
            amount_minor=self._money("amount", body.amount),
            occurred_at=body.occurred_at,
            store=body.store,
            channel=body.channel,
            items=self._items(body.items, body.amount),
        )
        self._check_currency(body.currency)
        try:
            result = self.loyalty.record_external_purchase(purchase)
        except errors.DomainError as error:
            raise self._domain(error) from None
        return (200 if result.earn.duplicate else 201), self._purchase_out(result)

    def refund(self, body: RefundIn) -> tuple[int, RefundOut]:
        """Refund all or part of a purchase: 201, or 200 with the first refund when retried."""
        amount = None if body.amount is None else self._money("amount", body.amount)
        command = RefundPurchase(
            receipt=_receipt(body.receipt), refund_id=body.refund_id, amount_minor=amount
        )
        try:
            result = self.loyalty.refund(command)
        except errors.DomainError as error:
            raise self._domain(error) from None
        return (200 if result.duplicate else 201), self._refund_out(body.refund_id, result)

    def _member_ref(self, member: str) -> str:
        code = self.cards.verify(member.strip()) if self.cards is not None else None
        return code or member

    def _money(self, field: str, text: str) -> int:
        try:
            minor = self.program.to_minor(Decimal(text))
        except (InvalidOperation, ValueError):
            decimals = self.program.program.currency_decimals
            raise invalid(field, f"at most {decimals} decimals in this currency") from None
        if minor <= 0:
            raise invalid(field, "must be more than zero")
        return minor

    def _items(self, items: list[ItemIn], total: str) -> tuple[PurchaseItem, ...]:
        parsed = tuple(
            PurchaseItem(
                sku=item.sku,
                category=item.category,
                quantity=item.quantity,
                amount_minor=self._money(f"items.{n}.amount", item.amount),
            )
            for n, item in enumerate(items)
        )
        if sum(i.amount_minor for i in parsed) > self._money("amount", total):
            raise invalid("items", "the items add up to more than the amount")
        return parsed

    def _check_currency(self, currency: str) -> None:
        program_currency = self.program.program.currency
        if currency != program_currency:
            raise invalid("currency", f"this program's currency is {program_currency}")

    def _domain(self, error: errors.DomainError) -> ApiError:
        params = error.params
        match error:
            case errors.MemberNotFound():
                return ApiError(404, "member_not_found", f"no member {params.get('ref')!r}")
            case errors.ReceiptNotFound():
                return ApiError(404, "receipt_not_found", f"no purchase {params.get('receipt')!r}")
            case errors.IdempotencyConflict():
                message = f"{params.get('ref')} was recorded before with another body"
                return ApiError(409, "conflict", message)
            case errors.NothingToRefund():
                return ApiError(409, "nothing_to_refund", "the purchase is fully refunded")
            case errors.InvalidAmount():
                return invalid("amount", self._amount_reason(params))
            case errors.PurchaseInFuture():
                return invalid("occurred_at", "is in the future")
        return ApiError(422, error.code, error.code.replace("_", " "))

    def _amount_reason(self, params: dict[str, object]) -> str:
        maximum = params.get("maximum_minor")
        if isinstance(maximum, int):
            return f"over the maximum of {self.program.from_minor(maximum)}"
        return "not possible here"

    def _purchase_out(self, result: ExternalPurchaseResult) -> PurchaseOut:
        earn = result.earn
        return PurchaseOut(
            receipt=earn.receipt,
            member=earn.member.code,
            points=earn.points,
            status=_status(result),
            pending_until=_utc(earn.pending_until),
            expires_at=_utc(result.expires_at),
            occurred_at=earn.recorded_at.astimezone(UTC),
            tier=earn.tier,
            multiplier=str(earn.multiplier),
            promotion=earn.promotion,
            category_bonus=earn.category_bonus,
        )

    def _refund_out(self, refund_id: str, result: RefundResult) -> RefundOut:
        return RefundOut(
            receipt=result.receipt,
            refund_id=refund_id,
            member=result.member.code,
            amount=str(self.program.from_minor(result.amount_minor)),
            points=result.points,
            from_pending=result.from_pending,
            from_available=result.from_available,
            shortfall=result.shortfall,
            policy=result.policy,
        )


def _receipt(text: str) -> str:
    try:
        return normalize_receipt(text)
    except errors.InvalidReceipt:
        raise invalid("receipt", "letters, digits, spaces and - _ . / # : only") from None


def _status(result: ExternalPurchaseResult) -> PointsStatus:
    earn = result.earn
    if not earn.points:
        return "none"
    if earn.lot_id is None:
        return "debt"
    if earn.expired:
        return "expired"
    return "pending" if earn.pending_until is not None else "available"


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def fastapi_app(api: PurchaseApi) -> FastAPI:
    """The FastAPI application (routes, error shapes, OpenAPI), without the middleware."""
    app = FastAPI(
        title="Loyalty Bot purchase API",
        version="1",
        description="Signed purchases and refunds from a point of sale or a web checkout.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )

    @app.post("/v1/purchases", status_code=201, response_model=PurchaseOut, responses={
        200: {"model": PurchaseOut, "description": "the same request again: the first result"},
        **ERRORS,
    })  # fmt: skip
    def purchases(body: PurchaseIn, timestamp: Timestamp, signature: Signature) -> JSONResponse:
        """Record a purchase once per receipt; points follow the rules of `occurred_at`."""
        status, out = api.purchase(body)
        return JSONResponse(out.model_dump(mode="json"), status_code=status)

    @app.post("/v1/refunds", status_code=201, response_model=RefundOut, responses={
        200: {"model": RefundOut, "description": "the same refund again: the first result"},
        **ERRORS,
    })  # fmt: skip
    def refunds(body: RefundIn, timestamp: Timestamp, signature: Signature) -> JSONResponse:
        """Refund a purchase once per refund id; without an amount, what is left of it."""
        status, out = api.refund(body)
        return JSONResponse(out.model_dump(mode="json"), status_code=status)

    _install_error_shapes(app)
    return app


def _install_error_shapes(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error.body.model_dump(), status_code=error.status)

    @app.exception_handler(errors.StorageUnavailable)
    async def storage_unavailable(
        request: Request, error: errors.StorageUnavailable
    ) -> JSONResponse:
        # The till retries the same purchase id later: idempotency makes that safe.
        log.error("%s %s: the database is %s", request.method, request.url.path, error.reason)
        body = Problem(error="unavailable", message=f"the database is {error.reason}; retry later")
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        fields = [
            FieldProblem(field="body", reason="not valid JSON")
            if issue.get("type") == "json_invalid"
            else FieldProblem(field=_field_name(issue["loc"]), reason=str(issue["msg"]))
            for issue in error.errors()
        ]
        message = "; ".join(f"{f.field}: {f.reason}" for f in fields) or "invalid request"
        body = Problem(error="invalid", message=message, fields=fields)
        return JSONResponse(body.model_dump(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if error.status_code == 404 else "http_error"
        body = Problem(error=code, message=str(error.detail))
        return JSONResponse(body.model_dump(), status_code=error.status_code)


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "items", 0, "amount")` -> "items.0.amount"; headers keep their name."""
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "header", "query", "path"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def purchase_api_asgi(
    loyalty: Loyalty, cards: CardTokens | None, secret: str, limit: int = BODY_LIMIT
) -> ASGIApp:
    """The whole API as an ASGI app: limit and signatures first, then FastAPI."""
    return SignedBodies(fastapi_app(PurchaseApi(loyalty, cards)), secret, limit)
