"""The OpenAPI document tells the truth about errors and keys: every operation lists the error statuses it can
answer, each with the one error shape (`ErrorOut`), and the operations that need a key say so (bearer auth).

The generic errors follow from what an operation depends on (a key, a body, parameters, the admission
limiter); the few particular to one operation are listed in `SPECIFIC`. tests/reliability/test_fuzz_api.py
(schemathesis) fails when an answer's status or body is not documented here.

    install(app, settings)    # after the routers are included
    app.openapi()["paths"]["/v1/suggest"]["post"]["responses"]["429"]

Bounds that are settings (the longest message, KB_MAX_MESSAGE_CHARS) are written in from the app's settings, so
the document states what this service enforces.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, Field

from api.deps import required_role
from api.limits import EXEMPT
from kb.config import Settings


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: invalid_input, unauthorized, overloaded, ...")
    message: str = Field(description="What went wrong and what to do, naming the field where there is one.")
    request_id: str = Field(description="Quote it when reporting a problem; empty when refused before routing.")
    details: dict[str, Any] = Field(description="Extra facts, e.g. `problems` per field for invalid input.")


class ErrorOut(BaseModel):
    """Every 4xx and 5xx answer has this shape."""

    error: ErrorDetail


ERRORS: dict[int, str] = {
    400: "The body could not be read.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key's role does not allow this operation.",
    404: "The thing asked for does not exist.",
    409: "Conflict: a re-index is already running (`reindex_running`, answered at once; wait for it), or the service "
         "cannot do this as configured (`store_read_only`: re-indexing with a read-only Qdrant key).",
    413: "The body is over 64 KiB (refused before the rest is read).",
    422: "Invalid input: `details.problems` names each field and why.",
    429: "This key is over its rate limit; retry after `Retry-After` seconds.",
    500: "An unexpected error, logged with its request id.",
    503: "At capacity, or the index, Qdrant or the database is unavailable; retry after `Retry-After` seconds.",
}
#: Errors particular to one operation, beyond those that follow from its dependencies.
SPECIFIC: dict[tuple[str, str], set[int]] = {
    ("POST", "/v1/feedback"): {404},  # the request_id or article_id was never suggested
    ("GET", "/readyz"): {503},  # not ready: no index, another model, Qdrant down
    ("POST", "/v1/index"): {409},  # a re-index is already running, or the service holds only the read-only key
    # Chatwoot's webhook reads its raw body itself (the signature covers the bytes): token, signature, account,
    # replay, bound and its own rate limit.
    (WEBHOOK := ("POST", "/v1/integrations/chatwoot/webhook/{token}")): {400, 401, 403, 409, 413, 422, 429},
}
#: What an error means on one operation, where it differs from `ERRORS`.
MEANING: dict[tuple[str, str], dict[int, str]] = {
    WEBHOOK: {
        401: "An unknown URL token, or (when the webhook has a secret) a missing or wrong `X-Chatwoot-Signature` "
             "or an `X-Chatwoot-Timestamp` outside KB_CHATWOOT_SKEW: `bad_signature`. Nothing is done.",
        403: "A delivery for another Chatwoot account than this URL's: `unknown_account`. Nothing is done.",
        409: "A signature delivered before, whatever delivery id it claims: `replayed_delivery`. Nothing is done.",
        413: "The body is over 2 MiB (refused before the rest is read).",
        429: "This connection is over KB_CHATWOOT_RATE deliveries per second; retry after `Retry-After` seconds.",
    },
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}},
}
SECURITY_SCHEME = "apiKey"
#: Request fields bounded by a setting: (model, field) -> the Settings attribute that bounds its length.
BOUNDS_FROM_SETTINGS = {("SuggestIn", "message"): "max_message_chars"}


def operations(app: FastAPI) -> list[RouteContext]:
    """Every operation of the app as FastAPI resolves it (included routers flattened), pages too."""
    return [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]


def error_statuses(route: Any, method: str) -> set[int]:
    """The error statuses one operation can answer."""
    statuses = {500} | SPECIFIC.get((method, route.path_format), set())
    flat = route.dependant
    if required_role(route) is not None:
        statuses |= {401, 403, 429, 503}  # 503 too: the key is checked in the database
    if not route.path_format.startswith(EXEMPT):
        statuses.add(503)
    if route.body_field is not None:
        statuses |= {400, 413, 422}
    if flat.query_params or flat.path_params:
        statuses.add(422)
    if flat.path_params:
        statuses.add(404)
    return statuses


def _document(schema: dict[str, Any], app: FastAPI, settings: Settings) -> None:
    components = schema.setdefault("components", {})
    models = components.setdefault("schemas", {})
    for (model, field), setting in BOUNDS_FROM_SETTINGS.items():
        models[model]["properties"][field]["maxLength"] = getattr(settings, setting)
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    models.update(error_schema.pop("$defs", {}))
    models["ErrorOut"] = error_schema
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http", "scheme": "bearer", "description": "An API key made with `kb keys add --role ROLE`."}
    for route in operations(app):
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            responses = operation.setdefault("responses", {})
            meaning = MEANING.get((method, str(route.path_format)), {})
            for status in sorted(error_statuses(route, method)):
                responses[str(status)] = {
                    "description": meaning.get(status, ERRORS[status]),
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
                    **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
                }
            role = required_role(route)
            if role is not None:
                operation["security"] = [{SECURITY_SCHEME: []}]
                needs = f"Needs a key with the `{role}` role."
                operation["description"] = f"{operation.get('description', '')}\n\n{needs}".strip()
    # FastAPI's own validation-error models are replaced by ErrorOut everywhere.
    for unused in ("HTTPValidationError", "ValidationError"):
        models.pop(unused, None)


def install(app: FastAPI, settings: Settings) -> None:
    """Make `app.openapi()` document errors, keys and the bounds `settings` set (computed once, like FastAPI's
    own)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document(generate(), app, settings)  # FastAPI's generator caches the document it returns; this edits it
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
