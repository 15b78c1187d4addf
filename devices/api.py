"""HTTP ingest: the same path as MQTT for integrations that cannot speak MQTT."""

from __future__ import annotations

import orjson
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from devices.serializers import IngestReportSerializer

MAX_MESSAGES_PER_REQUEST = 1000


class RawBodyParser(BaseParser):
    """Hands the body over as bytes; the ingest path does its own parsing."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read()


class IngestError(ValueError):
    pass


def split_body(body: bytes, content_type: str) -> list[bytes]:
    """One JWS (application/jose), several one per line (text/plain), or a JSON list."""
    if not body.strip():
        raise IngestError("empty body")
    if content_type.startswith("application/json"):
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise IngestError("body is not JSON") from None
        if isinstance(document, dict):
            document = document.get("messages")
        if not isinstance(document, list) or not all(isinstance(m, str) for m in document):
            raise IngestError('JSON body must be a list of JWS strings or {"messages": [...]}')
        tokens = [m.encode("utf-8") for m in document]
    elif content_type.startswith("text/plain"):
        tokens = [line for line in body.splitlines() if line.strip()]
    else:
        tokens = [body]
    if not tokens:
        raise IngestError("no messages in the body")
    if len(tokens) > MAX_MESSAGES_PER_REQUEST:
        raise IngestError(f"{len(tokens)} messages; at most {MAX_MESSAGES_PER_REQUEST} per request")
    return tokens


class IngestApi(APIView):
    """POST signed readings; each is verified exactly as if it came over MQTT.

    No account is needed: the device signature authenticates every message.
    """

    permission_classes = [AllowAny]
    authentication_classes: list = []
    parser_classes = [RawBodyParser]
    # Rate per client address; REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["ingest"].
    throttle_scope = "ingest"

    @extend_schema(
        request={
            "application/jose": OpenApiTypes.STR,
            "text/plain": OpenApiTypes.STR,
            "application/json": {"type": "array", "items": {"type": "string"}},
        },
        responses=IngestReportSerializer,
        auth=[],
    )
    def post(self, request) -> Response:
        try:
            body = request.data if isinstance(request.data, bytes) else b""
            tokens = split_body(body, request.content_type or "")
        except IngestError as error:
            raise ParseError(str(error)) from None
        now = timezone.now()
        report = readings_ingest(
            messages=[IncomingMessage(token, now, SOURCE_HTTP) for token in tokens]
        )
        results = [
            {
                "index": index,
                "status": outcome.status,
                "reason": outcome.reason or None,
                "detail": outcome.detail or None,
                "device": outcome.device_id or None,
                "seq": outcome.seq,
                "reading_id": outcome.reading_id,
            }
            for index, outcome in enumerate(report.outcomes)
        ]
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for outcome in report.outcomes:
            counts[outcome.status] += 1
        return Response({**counts, "results": results})
