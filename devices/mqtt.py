"""MQTT connection settings and client construction shared by the bridge and the simulator."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

PROTOCOLS = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    protocol: str  # "5" or "3.1.1"

    @classmethod
    def from_url(cls, url: str, protocol: str = "5") -> MqttConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"MQTT_URL must start with mqtt:// or mqtts://, got {url!r}")
        if protocol not in PROTOCOLS:
            raise ValueError(f"MQTT protocol must be one of {sorted(PROTOCOLS)}, got {protocol!r}")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            protocol=protocol,
        )

    @property
    def is_v5(self) -> bool:
        return self.protocol == "5"


def new_client(
    config: MqttConfig,
    client_id: str,
    *,
    persistent_session: bool,
    manual_ack: bool = False,
) -> mqtt.Client:
    """A paho 2.x client; call ``connect`` on it with ``connect_kwargs``."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=PROTOCOLS[config.protocol],
        clean_session=None if config.is_v5 else not persistent_session,
        manual_ack=manual_ack,
    )
    if config.username:
        client.username_pw_set(config.username, config.password)
    if config.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    return client


def connect_kwargs(
    config: MqttConfig,
    *,
    persistent_session: bool,
    session_expiry_s: int,
    keepalive: int = 30,
    receive_maximum: int | None = None,
) -> dict:
    """Arguments for ``client.connect``.

    An MQTT 5 session ends at disconnect unless the client asks for a session
    expiry interval, so a persistent session must send one explicitly.
    ``receive_maximum`` (MQTT 5) bounds the unacknowledged messages the broker
    sends us; MQTT 3.1.1 has no such thing.
    """
    kwargs: dict = {"host": config.host, "port": config.port, "keepalive": keepalive}
    if config.is_v5:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = session_expiry_s if persistent_session else 0
        if receive_maximum is not None:
            properties.ReceiveMaximum = receive_maximum
        kwargs["clean_start"] = not persistent_session
        kwargs["properties"] = properties
    return kwargs
