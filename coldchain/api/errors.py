"""One error body for every API error, documented in docs/api.md:

    {"error": {"code": "not_found", "message": "...", "fields": {...}}}

``fields`` appears on validation errors only, one list of messages per field.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views import defaults
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

API_PREFIX = "/api/"


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _validation_body(detail) -> dict:
    if isinstance(detail, dict):
        return error_body("invalid", "The request is not valid.", detail)
    messages = detail if isinstance(detail, list) else [detail]
    return error_body("invalid", " ".join(str(message) for message in messages))


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler (status, headers such as Retry-After), with our body."""
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's 500 handler answers
    if isinstance(exc, ValidationError):
        response.data = _validation_body(exc.detail)
    elif isinstance(exc, APIException):
        response.data = error_body(exc.get_codes(), str(exc.detail))
    else:  # Http404 and PermissionDenied, already converted by DRF
        response.data = error_body(
            "not_found" if response.status_code == 404 else "permission_denied",
            str(response.data.get("detail", "")),
        )
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def page_not_found(request: HttpRequest, exception: Exception):
    """Django's 404 (no URL matched) in the API's error body under /api/."""
    if _is_api(request):
        return JsonResponse(error_body("not_found", "No such resource."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest):
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "Internal error; it has been logged."), status=500
        )
    return defaults.server_error(request)
