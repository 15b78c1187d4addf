"""The ledger's public endpoints: checkpoint, verifier key, entries, proofs.

Hashes and bytes are standard base64, as in C2SP checkpoints and proofs.
"""

from __future__ import annotations

import base64
import binascii

from django.http import HttpResponse
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

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


def error(detail: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response(
        {"error": "bad_request" if code == 400 else "not_found", "detail": detail}, code
    )


def _int_param(request, name: str) -> int:
    value = request.query_params.get(name)
    if value is None or not value.isdigit():
        raise LedgerError(f"{name} must be a non-negative integer")
    return int(value)


class PublicLedgerView(APIView):
    permission_classes = [AllowAny]


class CheckpointApi(PublicLedgerView):
    """The latest checkpoint: a C2SP signed note with witness cosignatures."""

    def get(self, request) -> HttpResponse:
        checkpoint = checkpoint_latest()
        if checkpoint is None:
            return HttpResponse("no checkpoint yet\n", status=404, content_type="text/plain")
        return HttpResponse(
            checkpoint_with_cosignatures(checkpoint), content_type="text/plain; charset=utf-8"
        )


class VerifierKeyApi(PublicLedgerView):
    """The log's C2SP verifier key (vkey)."""

    def get(self, request) -> HttpResponse:
        return HttpResponse(log_vkey() + "\n", content_type="text/plain; charset=utf-8")


class EntryApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request, index: int) -> Response:
        entry = Entry.objects.filter(sealed__index=index).first()
        if entry is None:
            return error(f"no sealed entry at index {index}", status.HTTP_404_NOT_FOUND)
        return Response(
            {
                "index": index,
                "kind": entry.kind,
                "leaf_hash": b64(entry.leaf_hash),
                "data": b64(entry.data),
            }
        )


class InclusionProofApi(PublicLedgerView):
    def get(self, request) -> Response:
        try:
            size = _int_param(request, "size")
            if "leaf_hash" in request.query_params:
                index = self._index_of(request.query_params["leaf_hash"])
            else:
                index = _int_param(request, "index")
            proof = inclusion_proof_for(index, size)
        except LookupError as missing:
            return error(str(missing), status.HTTP_404_NOT_FOUND)
        except LedgerError as problem:
            return error(str(problem))
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
    def get(self, request) -> Response:
        try:
            size1, size2 = _int_param(request, "size1"), _int_param(request, "size2")
            proof = consistency_proof_for(size1, size2)
        except LedgerError as problem:
            return error(str(problem))
        return Response({"size1": size1, "size2": size2, "proof": [b64(h) for h in proof]})
