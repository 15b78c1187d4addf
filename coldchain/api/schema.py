"""OpenAPI additions drf-spectacular cannot infer: the error body every operation may return."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "not_found"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Validation errors only: messages per field",
                    "additionalProperties": True,
                },
            },
        }
    },
}


def error_responses(result: dict, generator, request, public: bool) -> dict:
    """drf-spectacular postprocessing hook: every operation documents the error body."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    default = {
        "description": "An error (see docs/api.md)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for operations in result["paths"].values():
        for operation in operations.values():
            operation["responses"].setdefault("default", default)
    return result
