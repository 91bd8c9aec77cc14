"""``/openapi.json`` as the API answers: every operation's errors are ``application/problem+json``
(:class:`landmatch.api.schemas.Problem`) — FastAPI's own 422 entry (``application/json``,
``HTTPValidationError``) is replaced, and a ``default`` response stands for the other error
statuses a route may give (401, 403, 404, 409, 412, 428, 429, 503 …)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from landmatch.api.problems import PROBLEM
from landmatch.api.schemas.common import Problem

_REF = {"$ref": "#/components/schemas/Problem"}
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def problem_responses(spec: dict[str, Any]) -> dict[str, Any]:
    """Declare the problem answers on every operation of ``spec`` (changed in place)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for ops in spec.get("paths", {}).values():
        for method, op in ops.items():
            if method not in _METHODS:
                continue
            responses = op.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "请求参数无效",
                    "content": {PROBLEM: {"schema": _REF}},
                }
            responses.setdefault(
                "default",
                {
                    "description": "错误（problem+json，中文）",
                    "content": {PROBLEM: {"schema": _REF}},
                },
            )
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_responses(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
