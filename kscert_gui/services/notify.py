"""Desktop notifications: freedesktop ``org.freedesktop.Notifications`` on the session bus.

The console tells a threshold crossing (DESIGN §13) in its window and, where the
platform has a notification service, as a desktop notification. :func:`notify` sends
one through ``jeepney`` (pure Python D-Bus, already what the keyring uses on Linux); it
blocks for at most a few seconds, so the GUI calls it from a worker. Where there is no
session bus, no service, or no jeepney, it returns False and nothing else happens.
"""

from __future__ import annotations

import logging
import os
import re

log = logging.getLogger(__name__)

APP_NAME = "kscert_gui"
BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
#: A notification service that does not answer within this time is taken to be absent.
REPLY_TIMEOUT = 5.0

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain(text: str) -> str:
    """``text`` without control characters, with the markup characters a service may
    interpret in a body (``&``, ``<``, ``>``) written as entities."""
    cleaned = _CONTROL.sub(" ", text)
    return cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def available() -> bool:
    """Whether a session bus is configured at all (the service may still be missing)."""
    return bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS"))


def notify(summary: str, body: str, *, timeout_ms: int = -1) -> bool:
    """Show a desktop notification; True when a notification service took it."""
    if not available():
        return False
    try:
        from jeepney import DBusAddress, MessageType, new_method_call
        from jeepney.io.blocking import open_dbus_connection
    except ImportError:
        return False
    address = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=BUS_NAME)
    message = new_method_call(
        address, "Notify", "susssasa{sv}i",
        (APP_NAME, 0, "dialog-warning", _CONTROL.sub(" ", summary), _plain(body), [], {},
         timeout_ms),
    )
    try:
        with open_dbus_connection(bus="SESSION") as conn:
            reply = conn.send_and_get_reply(message, timeout=REPLY_TIMEOUT)
    except Exception as err:  # no bus, no service, a timeout: nothing breaks
        log.info("no desktop notification: %s", type(err).__name__)
        return False
    took: bool = reply.header.message_type == MessageType.method_return
    if not took:
        log.info("the notification service refused the notification")
    return took
