"""The API schema documents the error answers every operation can give, in the one shape they all have
(core/api.py): `{"detail", "code", "field"?, "errors"?}`. drf-spectacular documents only what a view declares; this
post-processing hook adds, where an operation does not declare its own:

- 400 for an operation that takes a body or query parameters (validation), 415 and 413 for one with a body;
- 401 and 403 for every operation (all need a signed-in user, most a role);
- the Error shape for any error a view declares without a body (`409: OpenApiResponse(description=...)`);
- 404 for an operation with path parameters (another team's object is 404, as an unknown one is) or pages (a page
  past the last).
"""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": "What went wrong, in words a user can act on; `field` names the input at fault.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "field": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True, "description": "problems per field"},
    },
    "required": ["detail", "code"],
    "additionalProperties": True,
}
REASONS = {
    "400": "the request is not valid (the detail names the field)",
    "401": "not signed in",
    "403": "your role in the team does not allow this",
    "404": "no such object among your teams",
    "413": "the upload is over a size limit (named)",
    "415": "the body's content type is not accepted",
}


def document_errors(result: dict[str, Any], generator: object, request: object, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            parameters = operation.get("parameters", [])
            has_body = "requestBody" in operation
            codes = ["401", "403"]
            if has_body or any(p.get("in") == "query" for p in parameters):
                codes.append("400")
            if has_body:
                codes += ["413", "415"]
            if "{" in path or any(p.get("name") == "page" for p in parameters):
                codes.append("404")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": REASONS[code], "content": reference})
            for code, response in responses.items():  # an error a view declares by its description alone
                if code.startswith(("4", "5")) and not response.get("content"):
                    response["content"] = reference
    return result
