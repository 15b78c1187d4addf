import base64

from rest_framework import serializers

from devices.models import Reading


class ReadingSerializer(serializers.ModelSerializer):
    device = serializers.CharField(source="device_id")
    jws = serializers.SerializerMethodField()
    ledger_index = serializers.SerializerMethodField(
        help_text="Index of the reading's entry in the transparency log; null until sealed"
    )
    leaf_hash = serializers.SerializerMethodField(help_text="RFC 9162 leaf hash, base64")

    class Meta:
        model = Reading
        fields = [
            "id", "device", "seq", "ts", "received_at", "temp_c", "ambient_c", "humidity_pct",
            "door_open", "lat", "lon", "reefer_on", "setpoint_c", "battery_pct",
            "jws", "ledger_index", "leaf_hash",
        ]  # fmt: skip

    def get_jws(self, reading: Reading) -> str:
        return bytes(reading.jws).decode("ascii")

    def get_ledger_index(self, reading: Reading) -> int | None:
        return reading.ledger_entry.index if reading.ledger_entry else None

    def get_leaf_hash(self, reading: Reading) -> str | None:
        entry = reading.ledger_entry
        return base64.b64encode(bytes(entry.leaf_hash)).decode("ascii") if entry else None
