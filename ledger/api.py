"""The ledger's public endpoints: checkpoint, verifier key, entries, proofs.

Hashes and bytes are standard base64, as in C2SP checkpoints and proofs.
"""

from __future__ import annotations

import base64
import binascii

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.access import entry_readable_by
from ledger.log_key import log_vkey
from ledger.models import Entry
from ledger.services import (
    LedgerError,
    checkpoint_latest,
    checkpoint_with_cosignatures,
    consistency_proof_for,
    entry_by_leaf_hash,
    inclusion_proof_for,
)


def b64(raw: bytes) -> str:
    return base64.b64encode(bytes(raw)).decode("ascii")


MAX_INDEX = 2**63 - 1  # a database bigint


def _int_param(request, name: str) -> int:
    value = request.query_params.get(name)
    # isdigit() alone accepts digits int() refuses, such as "²".
    if value is None or not (value.isascii() and value.isdigit()) or int(value) > MAX_INDEX:
        raise LedgerError(f"{name} must be an integer from 0 to {MAX_INDEX}")
    return int(value)


def _proof_response(name: str, fields: dict) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            **fields,
            "proof": serializers.ListField(
                child=serializers.CharField(), help_text="Hashes, base64, RFC 9162 order"
            ),
        },
    )


TEXT = {(200, "text/plain"): OpenApiTypes.STR}
SIZE = OpenApiParameter("size", int, required=True, description="Tree size of the checkpoint")


class PublicLedgerView(APIView):
    permission_classes = [AllowAny]


class CheckpointApi(PublicLedgerView):
    """The latest checkpoint: a C2SP signed note with witness cosignatures."""

    @extend_schema(responses=TEXT, auth=[])
    def get(self, request) -> HttpResponse:
        checkpoint = checkpoint_latest()
        if checkpoint is None:
            raise NotFound("no checkpoint yet")
        return HttpResponse(
            checkpoint_with_cosignatures(checkpoint), content_type="text/plain; charset=utf-8"
        )


class VerifierKeyApi(PublicLedgerView):
    """The log's C2SP verifier key (vkey)."""

    @extend_schema(responses=TEXT, auth=[])
    def get(self, request) -> HttpResponse:
        return HttpResponse(log_vkey() + "\n", content_type="text/plain; charset=utf-8")


class EntryApi(APIView):
    """A sealed entry's bytes, to whoever may read them (see ``ledger.access``).

    An entry the user may not read is a 404, like a missing one, so that the
    answer does not tell which indices hold whose data.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=inline_serializer(
            "LedgerEntry",
            {
                "index": serializers.IntegerField(),
                "kind": serializers.CharField(),
                "leaf_hash": serializers.CharField(help_text="base64"),
                "data": serializers.CharField(help_text="The entry's bytes (a JWS), base64"),
            },
        )
    )
    def get(self, request, index: int) -> Response:
        entry = Entry.objects.filter(sealed__index=index).first() if index <= MAX_INDEX else None
        if entry is None or not entry_readable_by(request.user, entry):
            raise NotFound(f"no sealed entry at index {index}")
        return Response(
            {
                "index": index,
                "kind": entry.kind,
                "leaf_hash": b64(entry.leaf_hash),
                "data": b64(entry.data),
            }
        )


class InclusionProofApi(PublicLedgerView):
    @extend_schema(
        parameters=[
            SIZE,
            OpenApiParameter("index", int, description="The entry's index"),
            OpenApiParameter("leaf_hash", str, description="Or its leaf hash, base64"),
        ],
        responses=_proof_response(
            "InclusionProof",
            {"index": serializers.IntegerField(), "size": serializers.IntegerField()},
        ),
        auth=[],
    )
    def get(self, request) -> Response:
        try:
            size = _int_param(request, "size")
            if "leaf_hash" in request.query_params:
                index = self._index_of(request.query_params["leaf_hash"])
            else:
                index = _int_param(request, "index")
            proof = inclusion_proof_for(index, size)
        except LookupError as missing:
            raise NotFound(str(missing)) from None
        except LedgerError as problem:
            raise ValidationError(str(problem)) from None
        return Response({"index": index, "size": size, "proof": [b64(h) for h in proof]})

    @staticmethod
    def _index_of(encoded: str) -> int:
        try:
            leaf = base64.b64decode(encoded.replace(" ", "+"), validate=True)
        except (binascii.Error, ValueError):
            raise LedgerError("leaf_hash must be base64") from None
        entry = entry_by_leaf_hash(leaf) if len(leaf) == 32 else None
        if entry is None:
            raise LookupError("no sealed entry with that leaf hash")
        return entry.index


class ConsistencyProofApi(PublicLedgerView):
    @extend_schema(
        parameters=[
            OpenApiParameter("size1", int, required=True, description="The older tree size"),
            OpenApiParameter("size2", int, required=True, description="The newer tree size"),
        ],
        responses=_proof_response(
            "ConsistencyProof",
            {"size1": serializers.IntegerField(), "size2": serializers.IntegerField()},
        ),
        auth=[],
    )
    def get(self, request) -> Response:
        try:
            size1, size2 = _int_param(request, "size1"), _int_param(request, "size2")
            proof = consistency_proof_for(size1, size2)
        except LedgerError as problem:
            raise ValidationError(str(problem)) from None
        return Response({"size1": size1, "size2": size2, "proof": [b64(h) for h in proof]})
