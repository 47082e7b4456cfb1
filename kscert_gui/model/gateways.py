"""Distribution points and the connection gateway delivery rules (DESIGN §7).

Pure functions: which hosts may act as distribution points, which port numbers
a connection gateway accepts, and which mobile certificate a gateway holds at an
instant. The last one is the version 14.2 story of the seed: there, an activated
reserve certificate does *not* reach a connection gateway; the gateway keeps the
certificate delivered when it was connected until it is reconnected. Later
versions deliver the main certificate automatically.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kscert_gui.model.errors import ValidationError
from kscert_gui.model.fleet import HOST_PLATFORMS, MOBILE_PLATFORMS

#: Port for Network Agents (DESIGN §7).
DEFAULT_AGENT_PORT = 13000
#: Port for connecting mobile devices (DESIGN §7).
DEFAULT_MOBILE_PORT = 13292
MIN_PORT = 1
MAX_PORT = 65535

#: The server version setting: "14.2" (default) or a later version.
VERSION_14_2 = "14.2"
SERVER_VERSIONS = ("14.2", "15")
DEFAULT_SERVER_VERSION = VERSION_14_2

AGENT_PORT_LABEL = "Port for Network Agents"
MOBILE_PORT_LABEL = "Port for connecting mobile devices"


def delivers_automatically(version: str) -> bool:
    """Whether the server delivers a new main certificate to connection gateways itself."""
    return version != VERSION_14_2


def check_server_version(version: str) -> str:
    """The version setting, or ValidationError naming the accepted values."""
    value = version.strip()
    if value not in SERVER_VERSIONS:
        raise ValidationError(
            f"'{version}' is not a supported server version: choose "
            + " or ".join(SERVER_VERSIONS) + "."
        )
    return value


def check_host_platform(name: str, platform: str) -> None:
    """Only Windows, Linux and macOS hosts act as distribution points (DESIGN §6)."""
    if platform in HOST_PLATFORMS:
        return
    if platform in MOBILE_PLATFORMS:
        raise ValidationError(
            f"{name} is a managed mobile device ({platform}); only Windows, Linux and macOS "
            "hosts can act as distribution points."
        )
    raise ValidationError(
        f"{name} runs on '{platform}'; only Windows, Linux and macOS hosts can act as "
        "distribution points."
    )


def parse_port(text: str, label: str | None = None) -> int:
    """A port number typed by a person: a whole number 1 to 65535.

    Raises:
        ValidationError: the text is empty, not a whole number, or out of range; the
            message starts with ``label`` when one is given.
    """
    value = text.strip()
    if not value:
        raise ValidationError(_labelled(label, f"enter a port number ({MIN_PORT} to {MAX_PORT})."))
    if not value.isascii() or not value.isdigit():
        raise ValidationError(
            _labelled(label, f"'{text}' is not a port number; enter a whole number "
                             f"{MIN_PORT} to {MAX_PORT}.")
        )
    return check_port(int(value), label)


def check_port(value: int, label: str | None = None) -> int:
    if not MIN_PORT <= value <= MAX_PORT:
        raise ValidationError(
            _labelled(label, f"{value} is out of range; a port number is {MIN_PORT} to "
                             f"{MAX_PORT}.")
        )
    return value


def check_ports(agent_port: int, mobile_port: int) -> tuple[int, int]:
    """Both ports in range and distinct; ValidationError otherwise (nothing is saved)."""
    check_port(agent_port, AGENT_PORT_LABEL)
    check_port(mobile_port, MOBILE_PORT_LABEL)
    if agent_port == mobile_port:
        raise ValidationError(
            "The port for Network Agents and the port for connecting mobile devices must "
            f"differ (both are {agent_port})."
        )
    return agent_port, mobile_port


def _labelled(label: str | None, message: str) -> str:
    return f"{label}: {message}" if label else message[0].upper() + message[1:]


def held_certificate(version: str, held_id: int | None, main_id: int | None) -> int | None:
    """The certificate a connection gateway serves when ``main_id`` is the main one.

    Args:
        version: the server version setting.
        held_id: the certificate delivered when the gateway was (re)connected; None
            when it was connected while the server had no certificate.
        main_id: the main certificate in effect at the instant asked about (from
            ``effective_state``, so a what-if after a switch sees the reserve here).

    In 14.2 the gateway keeps ``held_id`` whatever happened since; later versions
    deliver each new main certificate, so a gateway that holds one follows the main.
    """
    if held_id is None:
        return None
    if delivers_automatically(version) and main_id is not None:
        return main_id
    return held_id


@dataclass(frozen=True)
class GatewayHolding:
    """What one connection gateway holds at an instant, compared with the main certificate."""

    host: str
    held_id: int | None
    main_id: int | None

    @property
    def matches_main(self) -> bool:
        return self.held_id is not None and self.held_id == self.main_id

    @property
    def stale(self) -> bool:
        """It serves a certificate other than the main one: reconnect it (14.2)."""
        return self.main_id is not None and not self.matches_main


def holdings(
    version: str, gateways: Mapping[str, int | None], main_id: int | None
) -> tuple[GatewayHolding, ...]:
    """Each gateway (host → certificate delivered at connection) judged at one instant."""
    return tuple(
        GatewayHolding(host, held_certificate(version, held, main_id), main_id)
        for host, held in sorted(gateways.items())
    )


def stale_message(host: str) -> str:
    """The console's warning for a gateway that serves an old certificate (DESIGN §7)."""
    return (
        f"Connection gateway {host} still serves the previous mobile certificate — "
        "reconnect it."
    )
