"""What every part of the Administration Server shares: the store, the secret store, the
clock, and the record of switches (DESIGN §5).

:class:`AdministrationServer` (services/server.py) is composed of parts — ``fleet``
(services/fleet_service.py), ``points`` (services/gateway_service.py), ``endpoints``
(services/endpoint_service.py) — and keeps the certificates itself. Each part holds the
one :class:`Core` and nothing of the others, so the arrows run one way: server → parts →
core → store.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta

from kscert_gui.model import gateways as gateway_rules
from kscert_gui.model.clock import Clock, ensure_utc, iso, parse_instant, system_clock
from kscert_gui.model.schedule import EffectiveState, SlotRecord, effective_state
from kscert_gui.services.secrets import SecretStore
from kscert_gui.services.store import CertificateRow, Store


def slot_record(row: CertificateRow) -> SlotRecord:
    """The schedule's view of a stored certificate record (DESIGN §5)."""
    return SlotRecord(
        id=row.id,
        created_at=row.created_at,
        term_days=row.term_days,
        not_before=row.not_before,
        not_after=row.not_after,
        cancelled_at=row.ended_at if row.state == "cancelled" else None,
    )


def state_of(rows: Sequence[CertificateRow], at: datetime) -> EffectiveState:
    """Which record is main, which is reserve, and what retired, at ``at``."""
    return effective_state([slot_record(r) for r in rows], at)


class Core:
    """The store, the secret store and the clock of one Administration Server."""

    def __init__(self, store: Store, secrets: SecretStore, clock: Clock = system_clock) -> None:
        self.store = store
        #: Replaced by the GUI when the keyring is unusable (DESIGN §10: the passphrase the
        #: person typed, in memory only); every part reads it from here.
        self.secrets = secrets
        self._clock = clock

    @property
    def read_only(self) -> bool:
        return not self.store.writable

    @property
    def name(self) -> str:
        """The server's name ("Training" for the demo store); a store that has none is named
        after this computer, as the console tree names an Administration Server by its host
        (a new store's placeholder, "Administration Server", counts as none)."""
        name = self.store.get_meta("name")
        if not name or name == "Administration Server":
            return socket.gethostname() or "localhost"
        return name

    @property
    def training(self) -> bool:
        return self.store.get_meta("kind") == "training"

    def now(self) -> datetime:
        """The current instant: a training store's simulation clock, else the real clock.

        A training store's clock runs with real time: it is the simulated instant last
        written (``sim_now``: at creation, or by an Advance, which adds to it) plus the real
        time since then (``sim_anchor`` holds both instants). So a certificate made a few
        minutes after the store is not "not yet valid". A ``sim_now`` written without its
        anchor (older stores, and tests that pin the clock) stands still.
        """
        real = ensure_utc(self._clock())
        sim = self._simulation()
        if sim is None:
            return real
        simulated, anchor = sim
        return simulated if anchor is None else simulated + max(real - anchor, timedelta(0))

    def _simulation(self) -> tuple[datetime, datetime | None] | None:
        """A training store's simulated instant last written and the real instant it was
        written at (None: that clock stands still); None where real time rules."""
        if not self.training:
            return None
        sim = self.store.get_meta("sim_now")
        if not sim:
            return None
        anchor = (self.store.get_meta("sim_anchor") or "").split(" ")
        real_at = parse_instant(anchor[1]) if len(anchor) == 2 and anchor[0] == sim else None
        return parse_instant(sim), real_at

    @property
    def clock(self) -> Clock:
        """The real clock (reading it reads no store: the GUI thread may)."""
        return self._clock

    def real_time_of(self, at: datetime) -> datetime | None:
        """The instant of the real clock at which :meth:`now` reads ``at``: ``at`` itself on
        a real store; None where the clock stands still (a training store without its
        anchor), so that no real time moves it on."""
        sim = self._simulation()
        if sim is None:
            return ensure_utc(at)
        simulated, anchor = sim
        return None if anchor is None else anchor + (ensure_utc(at) - simulated)

    def simulated_until(self) -> datetime:
        """The simulated instant last written (devices have synchronized up to it)."""
        sim = self._simulation()
        return sim[0] if sim is not None else self.now()

    def set_simulated(self, conn: sqlite3.Connection, at: datetime) -> None:
        """Write the simulation clock: ``at`` now, running with real time from here (a
        store whose clock stands still — no anchor — keeps standing still)."""
        running = self.store.meta.get("sim_anchor", conn) is not None
        self.store.set_meta(conn, "sim_now", iso(at))
        if running:
            self.store.set_meta(conn, "sim_anchor",
                                f"{iso(at)} {iso(ensure_utc(self._clock()))}")

    def server_version(self) -> str:
        return self.store.get_meta("server_version") or "14.2"

    def rows(self, conn: sqlite3.Connection | None = None) -> list[CertificateRow]:
        """Every certificate record, oldest first."""
        return self.store.list_certificates(conn)

    def observe(self, conn: sqlite3.Connection, at: datetime) -> tuple[
        list[CertificateRow], EffectiveState
    ]:
        """The records and the effective state at ``at`` inside a change's transaction; a
        switch seen for the first time is recorded first."""
        rows = self.rows(conn)
        eff = state_of(rows, at)
        self.record_switches_in(conn, rows, eff)
        return rows, eff

    def record_switches(self, rows: Sequence[CertificateRow], eff: EffectiveState) -> None:
        """Write each switch the program sees for the first time to the audit log."""
        by_id = {r.id: r for r in rows}
        if not any(by_id[s.reserve_id].state == "pending" for s in eff.switches):
            return
        with self.store.transaction() as conn:
            self.record_switches_in(conn, rows, eff)

    def record_switches_in(
        self, conn: sqlite3.Connection, rows: Sequence[CertificateRow], eff: EffectiveState
    ) -> None:
        by_id = {r.id: r for r in rows}
        for s in eff.switches:
            if by_id[s.reserve_id].state != "pending":
                continue
            if not self.store.record_switch_observed(conn, s.reserve_id, s.at):
                continue
            self.store.update_certificate_state(conn, s.reserve_id, "main", activated_at=s.at)
            if s.previous_id is not None:
                self.store.update_certificate_state(conn, s.previous_id, "retired", ended_at=s.at)
            self.store.audit(
                conn,
                eff.at,
                "switch-observed",
                {
                    "reserve_id": s.reserve_id,
                    "previous_id": s.previous_id,
                    "switched_at": iso(s.at),
                    "sha256": by_id[s.reserve_id].sha256,
                },
            )
            self.after_switch(conn, s.reserve_id)

    def after_switch(self, conn: sqlite3.Connection, new_main_id: int) -> None:
        """Deliver the new main certificate to gateways where the version does so."""
        if gateway_rules.delivers_automatically(self.server_version()):
            self.store.distribution_points.deliver_to_all_gateways(conn, new_main_id)


class Part:
    """One part of the server (fleet, distribution points, endpoints): it works through the
    shared :class:`Core` only."""

    def __init__(self, core: Core) -> None:
        self.core = core

    @property
    def store(self) -> Store:
        return self.core.store

    def now(self) -> datetime:
        return self.core.now()
