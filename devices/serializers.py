import base64

from rest_framework import serializers

from devices.models import Device, DeviceKey, Reading
from devices.wire import b64url_encode


class ReadingSerializer(serializers.ModelSerializer):
    device = serializers.CharField(source="device_id")
    jws = serializers.SerializerMethodField()
    ledger_index = serializers.SerializerMethodField(
        help_text="Index of the reading's entry in the transparency log; null until sealed"
    )
    leaf_hash = serializers.SerializerMethodField(help_text="RFC 9162 leaf hash, base64")
    key_number = serializers.IntegerField(
        source="signing_key.number", help_text="Which key of the device's history signed it"
    )
    key_sha256 = serializers.CharField(source="signing_key.fingerprint")

    class Meta:
        model = Reading
        fields = [
            "id", "device", "seq", "ts", "received_at", "temp_c", "ambient_c", "humidity_pct",
            "door_open", "lat", "lon", "reefer_on", "setpoint_c", "battery_pct",
            "jws", "ledger_index", "leaf_hash", "key_number", "key_sha256",
        ]  # fmt: skip

    def get_jws(self, reading: Reading) -> str:
        return bytes(reading.jws).decode("ascii")

    def get_ledger_index(self, reading: Reading) -> int | None:
        return reading.ledger_entry.index if reading.ledger_entry else None

    def get_leaf_hash(self, reading: Reading) -> str | None:
        entry = reading.ledger_entry
        return base64.b64encode(bytes(entry.leaf_hash)).decode("ascii") if entry else None


def _entry_index(entry) -> int | None:
    return entry.index if entry else None


class DeviceKeySerializer(serializers.ModelSerializer):
    key_sha256 = serializers.CharField(source="fingerprint")
    public_key = serializers.SerializerMethodField(help_text="base64url raw Ed25519 key")
    valid_from_index = serializers.SerializerMethodField(
        help_text="Log index of the registration or rotation entry that made it the device's"
    )
    retired_index = serializers.SerializerMethodField(
        help_text="Log index of the rotation entry that retired it"
    )

    class Meta:
        model = DeviceKey
        fields = [
            "number", "key_sha256", "public_key", "valid_from", "valid_from_index",
            "requested_by_previous_key", "retired_at", "retired_index",
        ]  # fmt: skip

    def get_public_key(self, key: DeviceKey) -> str:
        return b64url_encode(bytes(key.public_key))

    def get_valid_from_index(self, key: DeviceKey) -> int | None:
        return _entry_index(key.valid_from_entry)

    def get_retired_index(self, key: DeviceKey) -> int | None:
        return _entry_index(key.retired_entry)


class DeviceSerializer(serializers.ModelSerializer):
    key_sha256 = serializers.CharField(
        source="key_fingerprint", help_text="SHA-256 of the current key"
    )
    keys = DeviceKeySerializer(many=True, help_text="Key history, key #1 first")

    class Meta:
        model = Device
        fields = [
            "id", "kind", "vehicle", "status", "key_sha256", "keys", "last_seq", "last_seen",
            "registered_at", "revoked_at", "revocation_reason",
        ]  # fmt: skip


class IngestOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the message in the request")
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"])
    reason = serializers.CharField(allow_null=True, help_text="Rejection reason code")
    detail = serializers.CharField(allow_null=True)
    device = serializers.CharField(allow_null=True)
    seq = serializers.IntegerField(allow_null=True)
    reading_id = serializers.IntegerField(allow_null=True)


class IngestReportSerializer(serializers.Serializer):
    """Documents the ingest answer: counts, then one outcome per message."""

    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = IngestOutcomeSerializer(many=True)
