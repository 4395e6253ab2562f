"""Webhooks (docs/api-v2.md §8): subscriptions, their signing secrets, and their event log
with its retries. Deliveries themselves are made by the delivery worker (delivery/), from the
outbox the writes fill (core/events.py)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ...core import webhooks
from ...core.model import Client
from ...core.values import storable
from ...core.webhook_records import Subscription, WebhookEvent
from ...web.asgi import Request, Response
from ..context import Context
from . import dates, filters
from . import schemas as s
from .bodies import DateTime, decode
from .errors import field_error
from .operations import Operation, operation
from .pagination import Listing

MAX_NAME = 255
Text = Annotated[str, Meta(min_length=1)]

SUBSCRIPTIONS = Listing(
    "v2.webhook.subscriptions.GetSubscriptionsController_getSubscriptions",
    2000,
    {"eventType": filters.choice(*webhooks.EVENT_TYPES)},
)
EVENTS = Listing(
    "v2.webhook.subscriptions.GetEventsController_getEvents",
    250,
    {
        "createdAt": filters.DATE,
        "status": filters.choice(*webhooks.EVENT_STATUSES, operators=("eq",)),
    },
)


class CreateBody(msgspec.Struct):
    eventType: Text
    name: Text
    url: Text


class EditBody(msgspec.Struct):
    name: Text | UnsetType = UNSET
    status: Text | UnsetType = UNSET
    url: Text | UnsetType = UNSET


class RetryBody(msgspec.Struct):
    startDate: DateTime
    endDate: DateTime


def _name(name: str) -> str:
    if len(name) > MAX_NAME or not storable(name):
        raise field_error("name", f"must have at most {MAX_NAME} characters, and no NUL")
    return name


def _url(url: str) -> str:
    if not webhooks.is_webhook_url(url):
        raise field_error(
            "url", f"must be an absolute http or https URL of at most {webhooks.MAX_URL} characters"
        )
    return url


def subscription_object(sub: Subscription) -> dict[str, Any]:
    return {
        "_id": sub.id,
        "eventType": sub.event_type,
        "name": sub.name,
        "url": sub.url,
        "status": sub.status,
    }


def event_object(event: WebhookEvent) -> dict[str, Any]:
    return {
        "_id": event.id,
        "createdAt": dates.to_wire(event.created_at),
        "status": event.status,
        # The body delivered, byte for byte.
        "payload": msgspec.Raw(event.payload.encode()),
    }


async def create_subscription(request: Request, ctx: Context, client: Client) -> Response:
    body = decode(request, CreateBody)
    if body.eventType not in webhooks.EVENT_TYPES:
        raise field_error("eventType", "is not an event type")
    sub = await webhooks.create_subscription(
        client.company, ctx.db, ctx.clock, body.eventType, _name(body.name), _url(body.url)
    )
    return Response.json(subscription_object(sub), status=201)


async def list_subscriptions(request: Request, ctx: Context, client: Client) -> Response:
    asked = SUBSCRIPTIONS.read(request, ctx, client)
    page = await webhooks.subscriptions_page(client.company, ctx.db, asked.query)
    return asked.answer(page, subscription_object)


async def get_subscription(request: Request, ctx: Context, client: Client) -> Response:
    sub = await webhooks.get_subscription(client.company, ctx.db, request.params["subscriptionId"])
    return Response.json(subscription_object(sub))


async def edit_subscription(request: Request, ctx: Context, client: Client) -> Response:
    body = decode(request, EditBody)
    name = None if isinstance(body.name, UnsetType) else _name(body.name)
    status = None if isinstance(body.status, UnsetType) else body.status
    if status is not None and status not in webhooks.STATUSES:
        raise field_error("status", "must be active or inactive")
    url = None if isinstance(body.url, UnsetType) else _url(body.url)
    sub = await webhooks.edit_subscription(
        client.company, ctx.db, ctx.clock, request.params["subscriptionId"], name, url, status
    )
    return Response.json(subscription_object(sub))


async def delete_subscription(request: Request, ctx: Context, client: Client) -> Response:
    await webhooks.delete_subscription(client.company, ctx.db, request.params["subscriptionId"])
    return Response(204, b"", content_type=b"")


async def get_secret(request: Request, ctx: Context, client: Client) -> Response:
    secret = await webhooks.get_secret(client.company, ctx.db, request.params["subscriptionId"])
    return Response.json({"secret": secret})


async def rotate_secret(request: Request, ctx: Context, client: Client) -> Response:
    secret = await webhooks.rotate_secret(
        client.company, ctx.db, ctx.clock, request.params["subscriptionId"]
    )
    return Response.json({"secret": secret}, status=201)


async def list_events(request: Request, ctx: Context, client: Client) -> Response:
    asked = EVENTS.read(request, ctx, client)
    page = await webhooks.events_page(
        client.company, ctx.db, request.params["subscriptionId"], asked.query
    )
    return asked.answer(page, event_object)


async def _retry(request: Request, ctx: Context, client: Client, status: str) -> Response:
    body = decode(request, RetryBody)
    await webhooks.retry_events(
        client.company,
        ctx.db,
        ctx.clock,
        request.params["subscriptionId"],
        status,
        int(body.startDate),
        int(body.endDate),
    )
    return Response(204, b"", content_type=b"")


async def retry_failures(request: Request, ctx: Context, client: Client) -> Response:
    return await _retry(request, ctx, client, "failed")


async def retry_successes(request: Request, ctx: Context, client: Client) -> Response:
    return await _retry(request, ctx, client, "delivered")


# --- Description -------------------------------------------------------------------------

_EVENT_TYPE: dict[str, Any] = {
    "type": "string",
    "enum": list(webhooks.EVENT_TYPES),
    "description": "The type of event the subscription receives. This server fires the "
    "path-session ones: `path.session.added`, `path.session.removed`, "
    "`path.session.users.enrolled`, `path.session.users.unenrolled`.",
}
_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}
_URL_FIELD: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": webhooks.MAX_URL,
    "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s@/?#]+(?:[/?#]\\S*)?$",
    "description": "An absolute http or https URL, without user information.",
}
_STATUS: dict[str, Any] = {"type": "string", "enum": list(webhooks.STATUSES)}

SCHEMAS: dict[str, Any] = {
    "Subscription": {
        "title": "Subscription",
        "type": "object",
        "required": ["eventType", "name", "url", "_id", "status"],
        "properties": {
            "_id": s.OBJECT_ID,
            "eventType": _EVENT_TYPE,
            "name": _NAME,
            "url": {"type": "string"},
            "status": _STATUS,
        },
    },
    "InputSubscription": {
        "title": "Base Subscription",
        "type": "object",
        "required": ["eventType", "name", "url"],
        "properties": {"eventType": _EVENT_TYPE, "name": _NAME, "url": _URL_FIELD},
    },
    "PatchSubscription": {
        "title": "Patch Subscription",
        "type": "object",
        "properties": {"name": _NAME, "status": _STATUS, "url": _URL_FIELD},
    },
    "SigningSecret": {
        "title": "Signing Secret",
        "type": "object",
        "required": ["secret"],
        "properties": {"secret": {"type": "string", "minLength": 1}},
    },
    "WebhookEvent": {
        "title": "Event",
        "type": "object",
        "required": ["_id", "createdAt", "status", "payload"],
        "properties": {
            "_id": {
                "type": "string",
                "description": "The `webhook-id` header of the event's deliveries.",
            },
            "createdAt": s.DATE_TIME,
            "status": {
                "type": "string",
                "enum": list(webhooks.EVENT_STATUSES),
                "description": "`pending`: an attempt is due (the first, or a retry); "
                "`sending`: an attempt is in progress; `delivered`; `failed`: every attempt "
                "failed, or the target was refused.",
            },
            "payload": {
                "type": "object",
                "description": "The body delivered: `{type, timestamp, data}`.",
            },
        },
    },
    "RetryEvents": {
        "title": "Retry Events",
        "type": "object",
        "required": ["startDate", "endDate"],
        "properties": {"startDate": s.DATE_TIME, "endDate": s.DATE_TIME},
    },
}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": SCHEMAS[name]}}}


_ID = s.path_id("subscriptionId", "The unique ID of the webhook subscription.")
_TAGS = ["Webhooks"]
_BASE = "/api/v2/webhooks/subscriptions"
_ONE = f"{_BASE}/{{subscriptionId}}"
_OP = "v2.webhook.subscriptions."
_NO_CONTENT = {"status": 204, "description": "Done; no body."}

OPERATIONS: list[Operation] = [
    operation(
        "POST",
        _BASE,
        _OP + "CreateSubscriptionController_createSubscription",
        create_subscription,
        "webhooks:write",
        tags=_TAGS,
        summary="Create a webhook subscription",
        description="At most 20 subscriptions per event type; one per event type and URL. "
        "The URL is not called now: deliveries to it are refused later if it is a loopback, "
        "link-local or private address (unless the server allows them).",
        requestBody=_body("InputSubscription"),
        success={
            "status": 201,
            "description": "The subscription created.",
            "schema": s.ref("Subscription"),
        },
        errors=["subscriptionAlreadyExists", "subscriptionsLimitReached"],
    ),
    operation(
        "GET",
        _BASE,
        SUBSCRIPTIONS.operation_id,
        list_subscriptions,
        "webhooks:read",
        tags=_TAGS,
        summary="List webhook subscriptions",
        parameters=s.filter_parameters(dict(SUBSCRIPTIONS.filters)),
        success=s.page(s.ref("Subscription"), SUBSCRIPTIONS.page_size, "subscriptions"),
        errors=[],
    ),
    operation(
        "GET",
        _ONE,
        _OP + "GetSubscriptionController_getSubscription",
        get_subscription,
        "webhooks:read",
        tags=_TAGS,
        summary="Retrieve a webhook subscription",
        parameters=[_ID],
        success=s.ok("The subscription.", s.ref("Subscription")),
        errors=["subscriptionNotFound"],
    ),
    operation(
        "PATCH",
        _ONE,
        _OP + "UpdateSubscriptionController_updateSubscription",
        edit_subscription,
        "webhooks:write",
        tags=_TAGS,
        summary="Edit a webhook subscription",
        description="An inactive subscription receives no new event; the events it had "
        "waiting go out when it is made active again.",
        parameters=[_ID],
        requestBody=_body("PatchSubscription"),
        success=s.ok("The subscription as edited.", s.ref("Subscription")),
        errors=["subscriptionNotFound", "subscriptionAlreadyExists"],
    ),
    operation(
        "DELETE",
        _ONE,
        _OP + "DeleteSubscriptionController_deleteSubscription",
        delete_subscription,
        "webhooks:write",
        tags=_TAGS,
        summary="Delete a webhook subscription",
        description="The subscription goes with its event log.",
        parameters=[_ID],
        success={"status": 204, "description": "Deleted; no body."},
        errors=["subscriptionNotFound"],
    ),
    operation(
        "GET",
        f"{_ONE}/secrets",
        _OP + "GetSigningSecretController_getSigningSecret",
        get_secret,
        "webhookSecrets:read",
        tags=_TAGS,
        summary="Retrieve the signing secret of a subscription",
        parameters=[_ID],
        success=s.ok("The current signing secret.", s.ref("SigningSecret")),
        errors=["subscriptionNotFound"],
    ),
    operation(
        "POST",
        f"{_ONE}/secrets/rotate",
        _OP + "RotateSigningSecretController_rotateSigningSecret",
        rotate_secret,
        "webhookSecrets:write",
        tags=_TAGS,
        summary="Rotate the signing secret of a subscription",
        description="For 24 hours, deliveries carry the signatures of both the new and the "
        "previous secret, space-separated.",
        parameters=[_ID],
        success={
            "status": 201,
            "description": "The new signing secret.",
            "schema": s.ref("SigningSecret"),
        },
        errors=["subscriptionNotFound"],
    ),
    operation(
        "GET",
        f"{_ONE}/events",
        EVENTS.operation_id,
        list_events,
        "webhooks:read",
        tags=_TAGS,
        summary="List the events of a subscription",
        parameters=[_ID, *s.filter_parameters(dict(EVENTS.filters))],
        success=s.page(s.ref("WebhookEvent"), EVENTS.page_size, "events"),
        errors=["subscriptionNotFound"],
    ),
    operation(
        "POST",
        f"{_ONE}/events/retry-failure",
        _OP + "RetryEventFailuresController_retryEventFailures",
        retry_failures,
        "webhooks:write",
        tags=_TAGS,
        summary="Retry failed events",
        description="The `failed` events created from `startDate` to `endDate` (both "
        "included, at most 3 days apart) are sent again, with a new retry schedule.",
        parameters=[_ID],
        requestBody=_body("RetryEvents"),
        success=_NO_CONTENT,
        errors=["activeSubscriptionNotFound", "invalidRetryTimeframe"],
    ),
    operation(
        "POST",
        f"{_ONE}/events/retry-success",
        _OP + "RetryEventSuccessesController_retryEventSuccesses",
        retry_successes,
        "webhooks:write",
        tags=_TAGS,
        summary="Retry delivered events",
        description="The `delivered` events created from `startDate` to `endDate` (both "
        "included, at most 3 days apart) are sent again, with the same `webhook-id`.",
        parameters=[_ID],
        requestBody=_body("RetryEvents"),
        success=_NO_CONTENT,
        errors=["activeSubscriptionNotFound", "invalidRetryTimeframe"],
    ),
]
