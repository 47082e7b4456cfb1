"""The demo ("Training") store of DESIGN §11.

A first start with no store creates it, so a new user sees the whole story at
once: a main certificate that expires in 20 days and no reserve, 1 250 mobile
devices in three groups with realistic (and some stale) synchronization times,
and one connection gateway. The fleet is generated from a fixed seed, so two
demo stores made at the same instant are identical but for their keys.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from kscert_gui.model import crypto
from kscert_gui.model.certificate import certificate_info
from kscert_gui.model.clock import Clock, ensure_utc, iso, system_clock
from kscert_gui.model.errors import RefusedError
from kscert_gui.model.fleet import stays_offline
from kscert_gui.model.gateways import DEFAULT_AGENT_PORT, DEFAULT_MOBILE_PORT
from kscert_gui.services.device_csv import ROOT_GROUP
from kscert_gui.services.secrets import SecretStore, new_passphrase
from kscert_gui.services.store import DB_NAME, LOCK_NAME, OWNER_NAME, Store, store_exists
from kscert_gui.services.store.certificates import info_record

DEMO_ADDRESS = "mdm.training.example"
DEMO_NAME = "Training"
DEMO_DEVICES = 1250
DEMO_MAIN_DAYS_LEFT = 20
#: (group name, its own synchronization period in hours or None to inherit, share of devices)
DEMO_GROUPS: tuple[tuple[str, float | None, float], ...] = (
    ("Head office", None, 0.48),
    ("Field staff", 12.0, 0.36),
    ("Warehouse scanners", 24.0, 0.16),
)
GATEWAY_HOST = "gw-dmz-01"


def demo_device_rows(
    now: datetime, group_ids: list[int], periods_h: list[float], seed: int = 20261126
) -> list[tuple[str, int, str, str | None]]:
    """(name, group_id, platform, last_sync ISO) for the synthetic fleet.

    Most devices synchronized within their period; about 4 % have not been seen
    for more than three periods (stale), and a few never synchronized.
    """
    rng = random.Random(seed)
    rows: list[tuple[str, int, str, str | None]] = []
    counts = [round(DEMO_DEVICES * share) for _n, _p, share in DEMO_GROUPS]
    counts[-1] = DEMO_DEVICES - sum(counts[:-1])
    serial = 0
    for gid, period, count in zip(group_ids, periods_h, counts, strict=True):
        for _ in range(count):
            serial += 1
            platform = "iOS" if rng.random() < 0.35 else "Android"
            prefix = "iph" if platform == "iOS" else "and"
            roll = rng.random()
            name = f"{prefix}-{serial:05d}"
            stale = period * rng.uniform(3.2, 30)
            recent = period * rng.random()
            if roll < 0.005:
                last: str | None = None
            elif roll < 0.04 or stays_offline(name):
                # The devices the simulation keeps offline have been offline for a while
                # already, so the forecast names them at risk from the start and a drill
                # loses no device it did not name (DESIGN §6.1).
                last = iso(now - timedelta(hours=stale))
            else:
                last = iso(now - timedelta(hours=recent))
            rows.append((name, gid, platform, last))
    return rows


def create_demo_store(
    home: Path, secrets: SecretStore, clock: Clock = system_clock, *, pin_clock: bool = False
) -> None:
    """Create the training store in ``home`` (which must not hold a store yet).

    Its clock runs with real time from the creation on (Advance adds to it); with
    ``pin_clock`` it stands still at the creation instant until an Advance (tests that
    create the store at a pinned past instant and open it with the real clock).

    If it fails (typically: no usable keyring for the passphrase), the files it made
    are removed again, so the next start is still a first start and not an empty store.
    """
    fresh = not (home / DB_NAME).exists()
    try:
        _populate(home, secrets, ensure_utc(clock()), pin_clock=pin_clock)
    except BaseException:
        if fresh:
            _remove_store_files(home)
        raise


def create_new_demo_store(
    home: Path, secrets: SecretStore, clock: Clock = system_clock
) -> None:
    """``kscert demo``: the training store in ``home``, refused where a store exists."""
    if store_exists(home):
        raise RefusedError(
            f"{home} already holds a store; nothing was changed. Give another --home for "
            "the demo store."
        )
    create_demo_store(home, secrets, clock)


def _remove_store_files(home: Path) -> None:
    for path in home.glob(DB_NAME + "*"):
        path.unlink(missing_ok=True)
    for name in (LOCK_NAME, OWNER_NAME):
        (home / name).unlink(missing_ok=True)
    try:
        home.rmdir()
    except OSError:  # not empty: something else lives there; leave it
        pass


def _populate(home: Path, secrets: SecretStore, now: datetime, *, pin_clock: bool) -> None:
    with Store.open(home, writable=True) as store:
        if store.list_certificates():
            return
        created = now - timedelta(days=397 - DEMO_MAIN_DAYS_LEFT)
        if not pin_clock:
            # Half a day more than 20 days: the training clock runs with real time, and a
            # person who just made the store should read "20 days left", not 19 a second
            # later. (A pinned clock shows exactly 20 days: the tests' switch instants.)
            created += timedelta(hours=12)
        issued = crypto.issue_certificate(DEMO_ADDRESS, created)
        passphrase = secrets.get_passphrase(store.store_id)
        if passphrase is None:
            passphrase = new_passphrase()
            secrets.set_passphrase(store.store_id, passphrase)
        key_blob = crypto.encrypt_private_key(issued.private_key, passphrase)
        info = certificate_info(issued.certificate)
        with store.transaction() as conn:
            store.set_meta(conn, "name", DEMO_NAME)
            store.set_meta(conn, "kind", "training")
            store.set_meta(conn, "sim_now", iso(now))
            if not pin_clock:
                # The training clock runs with real time from here (services/base.Core.now).
                store.set_meta(conn, "sim_anchor", f"{iso(now)} {iso(now)}")
            cert_id = store.insert_certificate(
                conn,
                source="issued",
                cert_der=crypto.export_certificate(issued.certificate, "der"),
                chain_der=b"",
                key_enc=key_blob,
                sha256=info.sha256,
                not_before=info.not_before,
                not_after=info.not_after,
                address=DEMO_ADDRESS,
                created_at=created,
                term_days=None,
                state="main",
                activated_at=created,
                info=info_record(info, ()),
            )
            root = store.groups.add(conn, ROOT_GROUP, None)
            group_ids: list[int] = []
            periods: list[float] = []
            for name, hours, _share in DEMO_GROUPS:
                group_ids.append(store.groups.add(conn, name, root, hours))
                periods.append(hours if hours is not None else 6.0)
            store.devices.add_many(conn, demo_device_rows(now, group_ids, periods))
            gw = store.devices.add(
                conn, GATEWAY_HOST, root, "Linux", iso(now - timedelta(minutes=20))
            )
            store.distribution_points.add_connected(
                conn, gw, root, DEFAULT_AGENT_PORT, DEFAULT_MOBILE_PORT, cert_id, created
            )
            store.audit(
                conn,
                now,
                "demo-created",
                {"certificate_id": cert_id, "devices": DEMO_DEVICES, "gateway": GATEWAY_HOST},
            )
