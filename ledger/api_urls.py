from django.urls import path

from ledger import api

urlpatterns = [
    path("checkpoint", api.CheckpointApi.as_view(), name="ledger-checkpoint"),
    path("vkey", api.VerifierKeyApi.as_view(), name="ledger-vkey"),
    path("entries/<int:index>", api.EntryApi.as_view(), name="ledger-entry"),
    path("proof/inclusion", api.InclusionProofApi.as_view(), name="ledger-inclusion"),
    path("proof/consistency", api.ConsistencyProofApi.as_view(), name="ledger-consistency"),
]
