"""The API reference, self-hosted: `/openapi.json` and a `/docs` page rendered on the server from it.

FastAPI's Swagger UI and ReDoc pages load their scripts and styles from a CDN (a third party learns who reads
our docs, and its scripts would run on our origin), and were open without a key. This page uses only our own
stylesheet, no script, and the pages' Content-Security-Policy. `/redoc` and `/docs/oauth2-redirect` are gone.

Access follows the API's: in development both are open; with `KB_ENV=production` `/openapi.json` needs an API
key (any role, as a Bearer header, like every API route) and `/docs` a page session (log in at `/login`).

    GET /openapi.json     the OpenAPI document (api/openapi.py documents every error and the keys)
    GET /docs             the same, as one HTML page: operations, roles, fields with their bounds, errors
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from api.deps import SettingsDep, _authenticate, get_db
from api.errors import PAGE_TAG, Unauthorized
from api.pages.render import render
from api.session import current_session

router = APIRouter(include_in_schema=False)


def _api_access(request: Request, settings: SettingsDep) -> None:
    """Production: a valid key, any role (401 in the one error shape otherwise). Development: open."""
    if settings.env == "production":
        _authenticate(request, get_db(request), settings)


def _page_access(request: Request, settings: SettingsDep) -> None:
    """Production: a page session (otherwise off to /login and back). Development: open."""
    if settings.env == "production" and current_session(request, get_db(request), settings) is None:
        raise Unauthorized("log in with your API key to read the API documentation")


@router.get("/openapi.json", dependencies=[Depends(_api_access)])
def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", dependencies=[Depends(_page_access)], tags=[PAGE_TAG])  # its errors are pages
def docs_page(request: Request) -> Response:
    schema = request.app.openapi()
    return render(request, "api_docs.html", title=schema["info"]["title"], version=schema["info"]["version"],
                  description=schema["info"].get("description", ""), operations=operations(schema),
                  models=models(schema))


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return str(ref).rsplit("/", 1)[-1] if ref else None


def type_of(schema: dict[str, Any]) -> str:
    """A JSON schema as a short type: `string ≤ 5000`, `integer 1–10`, `Channel`, `list of Suggestion`, `… or null`.

        >>> type_of({"anyOf": [{"type": "integer", "minimum": 1.0, "maximum": 10.0}, {"type": "null"}]})
        'integer 1–10 or null'
    """
    if "anyOf" in schema:
        return " or ".join(type_of(s) for s in schema["anyOf"])
    name = _ref_name(schema)
    if name:
        return name
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"list of {type_of(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    low = schema.get("minimum", schema.get("minLength"))
    high = schema.get("maximum", schema.get("maxLength"))
    if low is not None and high is not None:
        return f"{kind} {_num(low)}–{_num(high)}" if kind != "string" else f"{kind} of {_num(low)}–{_num(high)} chars"
    if high is not None:
        return f"{kind} ≤ {_num(high)}" + (" chars" if kind == "string" else "")
    return kind


def _num(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _body_model(operation: dict[str, Any]) -> str | None:
    content = operation.get("requestBody", {}).get("content", {})
    return _ref_name(content.get("application/json", {}).get("schema", {}))


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation as the page shows it, in path order."""
    out = []
    for path, methods in sorted(schema.get("paths", {}).items()):
        for method, op in methods.items():
            responses = op.get("responses", {})
            ok = next((s for s in sorted(responses) if s.startswith("2")), None)
            out.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""), "body": _body_model(op),
                "parameters": [{"name": p["name"], "where": p.get("in", ""), "type": type_of(p.get("schema", {})),
                                "required": p.get("required", False), "description": p.get("description", "")}
                               for p in op.get("parameters", [])],
                "ok": ok, "returns": _ref_name(responses.get(ok, {}).get("content", {}).get("application/json", {})
                                               .get("schema", {})) if ok else None,
                "errors": [(s, responses[s].get("description", "")) for s in sorted(responses) if s >= "400"],
            })
    return out


def models(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every request and response model with its fields (or its values, for an enumeration)."""
    out = []
    for name, model in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(model.get("required", []))
        fields = [{"name": field, "type": type_of(spec), "required": field in required,
                   "description": spec.get("description", "")}
                  for field, spec in model.get("properties", {}).items()]
        out.append({"name": name, "description": model.get("description", ""), "fields": fields,
                    "choices": [str(v) for v in model.get("enum", [])]})
    return out
