"""AdministrationServer: the one API that the GUI and the CLI call.

It ties the pure model (crypto, lint, schedule, fleet) to the store and the
secret store. Every change is one store transaction with its audit entry; slow
work (key generation, decryption) happens before the transaction opens so the
lock on the database is held only for the write itself.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kscert_gui.model import gateways as gateway_rules
from kscert_gui.model.address import normalize_address
from kscert_gui.model.clock import Clock, ensure_utc, iso, system_clock
from kscert_gui.model.errors import (
    ConfirmationRequiredError,
    KscertError,
    NotFoundError,
    RefusedError,
    SecretStoreError,
    ValidationError,
    WrongPasswordError,
)
from kscert_gui.model.fleet import MOBILE_PLATFORMS, Group, longest_sync_period
from kscert_gui.model.schedule import (
    EffectiveState,
    TermIssue,
)
from kscert_gui.services.base import Core, slot_record, state_of
from kscert_gui.services.endpoint_service import Endpoints
from kscert_gui.services.fleet_service import Fleet, fleet_warnings
from kscert_gui.services.gateway_service import DistributionPoints
from kscert_gui.services.secrets import SecretStore, new_passphrase
from kscert_gui.services.store import CertificateRow, Store
from kscert_gui.services.store.certificates import info_record, row_info

# Importable from here too (the benchmarks use this path).
from kscert_gui.services.views import CertView as CertView
from kscert_gui.services.views import (
    DeviceTable,
    GatewayView,
    ImportCheck,
    ReissuePlan,
    ServerStatus,
    StatusWarning,
    TermContext,
)
from kscert_gui.services.views import ImportRequest as ImportRequest
from kscert_gui.services.views import ReissueRequest as ReissueRequest

if TYPE_CHECKING:
    from cryptography import x509

    from kscert_gui.model import crypto

# cryptography (the ``crypto``, ``lint`` and ``inputs`` modules) is imported where keys and
# files are handled, not here: showing the console reads each certificate from its
# stored display record (services/base.row_info) and so starts without it.

Which = Literal["main", "reserve"]
ExportFormat = Literal["pem", "der", "p12"]


# --- requests -----------------------------------------------------------------------------


# --- views --------------------------------------------------------------------------------


def default_address() -> str:
    """The machine's fully qualified name, as the first certificate's address."""
    try:
        return normalize_address(socket.getfqdn())
    except KscertError:
        return "localhost"


def _split_der_chain(blob: bytes) -> list[x509.Certificate]:
    if not blob:
        return []
    from kscert_gui.model import crypto

    return crypto.read_certificates(blob)


# --- the facade ---------------------------------------------------------------------------


class AdministrationServer:
    """Facade over one store. Create with :meth:`open`; close with :meth:`close`.

    It keeps the certificates (reissue, import, cancel, export, status) itself and is
    composed of parts that share one :class:`~kscert_gui.services.base.Core`:

    - ``fleet``: managed devices, groups, the §6.1 reading, the simulation;
    - ``points``: distribution points and connection gateways (§7);
    - ``endpoints``: what the TLS endpoints serve (§9 serve / check).
    """

    def __init__(self, store: Store, secrets: SecretStore, clock: Clock = system_clock) -> None:
        self.core = Core(store, secrets, clock)
        self.fleet = Fleet(self.core)
        self.points = DistributionPoints(self.core)
        self.endpoints = Endpoints(self.core)
        self._verified: tuple[int, bytes] | None = None

    @property
    def store(self) -> Store:
        return self.core.store

    @property
    def secrets(self) -> SecretStore:
        return self.core.secrets

    @secrets.setter
    def secrets(self, value: SecretStore) -> None:
        self.core.secrets = value

    @classmethod
    def open(
        cls,
        home: Path,
        secrets: SecretStore,
        *,
        writable: bool = True,
        clock: Clock = system_clock,
    ) -> AdministrationServer:
        return cls(Store.open(home, writable=writable), secrets, clock)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> AdministrationServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_exc: object) -> None:
        if kind is None:
            self.close()
        else:
            # A first command that failed leaves no blank store behind (Store docs).
            self.store.close_discarding_if_blank()

    # --- basics ---------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        return self.core.read_only

    @property
    def name(self) -> str:
        return self.core.name

    @property
    def training(self) -> bool:
        return self.core.training

    def now(self) -> datetime:
        """The current instant: a training store's simulation clock, else the real clock."""
        return self.core.now()

    @property
    def clock(self) -> Clock:
        """The real clock it was given (reading it reads no store)."""
        return self.core.clock

    def server_version(self) -> str:
        return self.core.server_version()

    # --- records --------------------------------------------------------------------------

    def _rows(self) -> list[CertificateRow]:
        return self.core.rows()

    def _state(self, rows: Sequence[CertificateRow], at: datetime) -> EffectiveState:
        return state_of(rows, at)

    @staticmethod
    def _view(row: CertificateRow, state: str) -> CertView:
        info, chain = row_info(row)
        return CertView(
            id=row.id,
            source=row.source,
            info=info,
            chain=chain,
            address=row.address,
            created_at=row.created_at,
            term_days=row.term_days,
            state=state,
        )

    def _groups(self) -> dict[int, Group]:
        return self.store.groups.all()

    # --- status ---------------------------------------------------------------------------

    def status(self, at: datetime | None = None, *, table: DeviceTable | None = None) -> (
        ServerStatus
    ):
        """The state at ``at`` (default now). Only a status at *now* records switches.

        ``table``: the device table already read for the same instant (the snapshot reads
        it once for every view), so the §6.1 reading is not done twice.
        """
        what_if = at is not None
        if table is not None:
            when = table.at
        else:
            when = ensure_utc(at) if at is not None else self.now()
        rows = self._rows()
        eff = self._state(rows, when)
        if not what_if and not self.read_only:
            self.core.record_switches(rows, eff)
        by_id = {r.id: r for r in rows}
        main = self._view(by_id[eff.main_id], "main") if eff.main_id is not None else None
        reserve = (
            self._view(by_id[eff.reserve_id], "pending") if eff.reserve_id is not None else None
        )
        history = tuple(
            self._view(by_id[i], "retired") for i in reversed(eff.retired_ids)
        ) + tuple(self._view(by_id[i], "cancelled") for i in reversed(eff.cancelled_ids))
        fleet = self.fleet.fleet_summary(rows, eff, table=table)  # §6.1 (model.connection)
        devices = fleet.devices
        delivered = fleet.delivered if reserve else 0
        gateways = self._gateways(main)
        warnings = self._warnings(eff, main, reserve, devices, delivered, gateways) + tuple(
            StatusWarning(code, message) for code, message in fleet_warnings(fleet)
        )
        return ServerStatus(
            at=when,
            state=eff.state,
            main=main,
            reserve=reserve,
            switch_at=eff.switch_at,
            delivered=delivered,
            devices=devices,
            history=history,
            gateways=gateways,
            warnings=warnings,
            fleet=fleet,
            name=self.name,
            training=self.training,
            read_only=self.read_only,
        )

    def _gateways(self, main: CertView | None) -> tuple[GatewayView, ...]:
        """Each connection gateway judged against the main certificate of the status instant.

        The stored ``held_cert_id`` is what was delivered at connection; what the gateway
        holds *at the instant* depends on the server version (model.gateways), so a
        what-if after a switch shows 14.2 gateways stale and later versions current.
        """
        rows = self.store.distribution_points.gateway_certificates()
        main_id = main.id if main else None
        judged = {h.host: h for h in gateway_rules.holdings(
            self.server_version(), {host: held_id for host, _p, _a, held_id, _s in rows}, main_id)}
        views: list[GatewayView] = []
        for host, port, agent_port, _held_id, held_sha in rows:
            holding = judged[host]
            sha = main.info.sha256 if main is not None and holding.matches_main else held_sha
            views.append(
                GatewayView(
                    host=host,
                    port=int(port),
                    agent_port=int(agent_port),
                    sha256=sha if holding.held_id is not None else None,
                    matches_main=holding.matches_main,
                )
            )
        return tuple(views)

    @staticmethod
    def _warnings(
        eff: EffectiveState,
        main: CertView | None,
        reserve: CertView | None,
        devices: int,
        delivered: int,
        gateways: Sequence[GatewayView],
    ) -> tuple[StatusWarning, ...]:
        out: list[StatusWarning] = []
        if eff.state == "no-certificate":
            out.append(
                StatusWarning(
                    "no-certificate",
                    "No mobile certificate is specified: reissue one or import another "
                    "certificate.",
                )
            )
        elif eff.state == "expired" and main is not None:
            out.append(
                StatusWarning(
                    "expired",
                    f"The mobile certificate expired on {iso(main.info.not_after)} and no "
                    "reserve certificate took over: the connection with managed devices is "
                    "lost. Specify a new certificate and reinstall the endpoint agent on each "
                    "managed device.",
                )
            )
        elif eff.state == "expiring" and main is not None:
            left = main.info.days_left(eff.at)
            out.append(
                StatusWarning(
                    "expiring",
                    f"The mobile certificate expires in {left} day"
                    + ("s" if left != 1 else "")
                    + f" ({iso(main.info.not_after)}) and no reserve certificate is "
                    "specified. Reissue it with a delayed activation term now.",
                )
            )
        if reserve is not None and devices and delivered < devices:
            out.append(
                StatusWarning(
                    "reserve-not-delivered",
                    f"{delivered} of {devices} devices have the reserve certificate; the "
                    f"others lose the connection unless they synchronize before "
                    f"{iso(eff.switch_at) if eff.switch_at else 'the switch'}.",
                )
            )
        for g in gateways:
            if main is not None and not g.matches_main:
                out.append(StatusWarning("gateway-stale", gateway_rules.stale_message(g.host)))
        return tuple(out)

    # --- activation term ------------------------------------------------------------------

    def term_context(self, at: datetime | None = None, *, table: DeviceTable | None = None) -> (
        TermContext
    ):
        """What the activation-term rules need, read once (the snapshot carries it, so the
        Reissue certificate and Certificate windows validate without touching the store).

        ``table``: the device table already read (the snapshot's), whose mobile devices
        and groups give the count and the longest period without another scan.
        """
        rows = self._rows()
        if table is None:
            table = self.fleet.device_table(at, rows=rows)
        when = table.at
        eff = self._state(rows, when)
        main_row = next((r for r in rows if r.id == eff.main_id), None)
        mobile = frozenset(MOBILE_PLATFORMS)
        gids = {g for g, p in zip(table.group_ids, table.platforms, strict=True) if p in mobile}
        sync = longest_sync_period(table.groups, gids)
        # The devices that still have a connection to lose (the lost ones have none), as
        # the Certificates page and the Immediately confirmation count them.
        count = table.counts.devices - table.counts.lost
        return TermContext(
            at=when,
            old_address=main_row.address if main_row is not None else default_address(),
            main=slot_record(main_row) if main_row is not None else None,
            reserve_pending=eff.reserve_id is not None,
            sync=sync,
            mobile_devices=count,
            real_at=self.core.real_time_of(when),
        )

    def check_term(self, term_days: int | None, at: datetime | None = None) -> list[TermIssue]:
        return list(self.term_context(at).issues(term_days))

    def _row(self, cert_id: int) -> CertificateRow:
        row = self.store.get_certificate(cert_id)
        if row is None:
            raise NotFoundError(f"Certificate {cert_id} does not exist.")
        return row

    def plan_reissue(self, request: ReissueRequest) -> ReissuePlan:
        """Validate a reissue without doing it (the Reissue certificate window's live check)."""
        return self.term_context().plan_reissue(request)

    @staticmethod
    def _refuse_errors(issues: Sequence[TermIssue]) -> None:
        errors = [i.message for i in issues if i.severity == "error"]
        if errors:
            raise RefusedError(" ".join(errors))

    @staticmethod
    def _require_confirmation(needs: Sequence[str], confirmed: bool) -> None:
        if confirmed or not needs:
            return
        dropped = (" The pending reserve certificate is cancelled too."
                   if "replace-reserve" in needs else "")
        if "immediate-with-devices" in needs:
            raise ConfirmationRequiredError(
                "Immediately was chosen while managed mobile devices exist: the connection "
                f"with all of them will be lost.{dropped} Confirm to go on (on the command "
                "line: --yes)."
            )
        raise ConfirmationRequiredError(
            "A reserve certificate is already pending; the new certificate cancels and "
            "replaces it. Confirm to go on (on the command line: --yes)."
        )

    # --- passphrase -----------------------------------------------------------------------

    def _passphrase(self, *, create: bool) -> bytes:
        """The store passphrase, checked against an existing private key.

        Checking protects the store: a wrong passphrase (another keyring entry, a
        mistyped prompt, the wrong --passphrase-file) must never encrypt new keys,
        or the store would hold keys that no single passphrase opens.
        """
        store_id = self.store.store_id
        rows = self._rows()
        value = self.secrets.get_passphrase(store_id)
        if value is None:
            if rows or not create:
                raise SecretStoreError(
                    f"The {self.secrets.description} holds no passphrase for this store, so "
                    "its private keys cannot be opened. Restore the keyring entry or give the "
                    "store passphrase."
                )
            value = new_passphrase()
            self.secrets.set_passphrase(store_id, value)
            return value
        if rows and not self.verify_passphrase(value, rows[-1]):
            raise SecretStoreError(
                f"The passphrase from the {self.secrets.description} does not open this "
                "store's private keys; nothing was changed."
            )
        return value

    def verify_passphrase(self, passphrase: bytes, row: CertificateRow | None = None) -> bool:
        """True when ``passphrase`` opens the store's (newest, or given) private key."""
        from kscert_gui.model import crypto

        if row is None:
            rows = self._rows()
            if not rows:
                return True
            row = rows[-1]
        if self._verified == (row.id, passphrase):
            return True
        if not crypto.passphrase_opens(row.key_enc, passphrase):
            return False
        self._verified = (row.id, passphrase)
        return True

    # --- reissue --------------------------------------------------------------------------

    def reissue(
        self,
        request: ReissueRequest,
        *,
        confirmed: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> CertView:
        """Issue a new certificate through the Administration Server (DESIGN §3)."""
        from kscert_gui.model import crypto

        self.store.require_writable()
        plan = self.plan_reissue(request)
        self._refuse_errors(plan.issues)
        self._require_confirmation(plan.needs_confirmation, confirmed)
        passphrase = self._passphrase(create=True)
        if progress:
            progress("Generating a new key")
        at = self.now()
        issued = crypto.issue_certificate(plan.address, at, request.key_size)
        key_blob = crypto.encrypt_private_key(issued.private_key, passphrase)
        view = self._add_record(
            source="issued",
            cert=issued.certificate,
            chain=[],
            key_blob=key_blob,
            address=plan.address,
            term_days=request.term_days,
            at=at,
            action="reissue",
        )
        # The newest key is sealed with the passphrase just checked: the next change need
        # not open it again.
        self._verified = (view.id, passphrase)
        return view

    def _add_record(
        self,
        *,
        source: Literal["issued", "custom"],
        cert: x509.Certificate,
        chain: Sequence[x509.Certificate],
        key_blob: bytes,
        address: str,
        term_days: int | None,
        at: datetime,
        action: str,
    ) -> CertView:
        from kscert_gui.model import crypto
        from kscert_gui.model.certificate import certificate_info

        info = certificate_info(cert)
        record = info_record(info, [certificate_info(c) for c in chain])
        with self.store.transaction() as conn:
            rows = self.store.list_certificates(conn)
            eff = self._state(rows, at)
            self.core.record_switches_in(conn, rows, eff)
            first = eff.main_id is None
            immediate = term_days is None or first
            state = "main" if immediate else "pending"
            chain_der = b"".join(crypto.export_certificate(c, "der") for c in chain)
            new_id = self.store.insert_certificate(
                conn,
                source=source,
                cert_der=crypto.export_certificate(cert, "der"),
                chain_der=chain_der,
                key_enc=key_blob,
                sha256=info.sha256,
                not_before=info.not_before,
                not_after=info.not_after,
                address=address,
                created_at=at,
                term_days=term_days,
                state=state,
                activated_at=at if immediate else None,
                info=record,
            )
            replaced: int | None = None
            if eff.reserve_id is not None:
                replaced = eff.reserve_id
                self.store.update_certificate_state(conn, eff.reserve_id, "cancelled", ended_at=at)
            if immediate and eff.main_id is not None:
                self.store.update_certificate_state(conn, eff.main_id, "retired", ended_at=at)
            if first:
                # The first certificate reaches every gateway when it is connected.
                self.store.distribution_points.deliver_to_gateways_holding_none(conn, new_id)
            elif immediate:
                self.core.after_switch(conn, new_id)
            self.store.audit(
                conn,
                at,
                action,
                {
                    "certificate_id": new_id,
                    "source": source,
                    "sha256": info.sha256,
                    "address": address,
                    "activation_term": "immediately" if term_days is None else term_days,
                    "state": state,
                    "replaced_reserve_id": replaced,
                    "retired_main_id": eff.main_id if immediate else None,
                },
            )
            row = self.store.get_certificate(new_id, conn)
        assert row is not None
        return self._view(row, state)

    # --- import ---------------------------------------------------------------------------

    def _load(self, request: ImportRequest) -> crypto.Material:
        from kscert_gui.services import inputs

        if request.kind == "pkcs12":
            assert request.pkcs12 is not None
            return inputs.load_pkcs12_file(request.pkcs12, request.password)
        assert request.key is not None and request.cert is not None
        return inputs.load_x509_files(request.key, request.password, request.cert)

    def check_import(self, request: ImportRequest) -> ImportCheck:
        """Read the files and run the §4 check and the §5 term rules (no change)."""
        from kscert_gui.model import lint
        from kscert_gui.model.certificate import certificate_info

        context = self.term_context()
        at = context.at
        material = self._load(request)
        switch_at = context.planned_switch(request.term_days)
        findings = lint.check(material, at, None, switch_at or at)
        return ImportCheck(
            certificate=(
                certificate_info(material.certificate) if material.certificate else None
            ),
            chain=tuple(certificate_info(c) for c in material.chain),
            findings=tuple(findings),
            issues=context.issues(request.term_days),
            switch_at=switch_at,
            needs_confirmation=context.confirmations(request.term_days),
            notes=material.notes,
        )

    def import_certificate(
        self,
        request: ImportRequest,
        *,
        confirmed: bool = False,
        acknowledge_warnings: bool = False,
    ) -> CertView:
        """Install another certificate after the requirements check (DESIGN §4)."""
        from kscert_gui.model import crypto, lint
        from kscert_gui.model.certificate import certificate_info

        self.store.require_writable()
        context = self.term_context()
        at = context.at
        material = self._load(request)
        switch_at = context.planned_switch(request.term_days)
        # Immediately switches now: a certificate not valid yet is an error, not a warning.
        findings = lint.check(material, at, None, switch_at or at)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise RefusedError(
                "The certificate does not meet the requirements: "
                + "; ".join(f"{f.code}: {f.message}" for f in errors)
            )
        warnings = [f for f in findings if f.severity == "warning"]
        if warnings and not acknowledge_warnings:
            raise ConfirmationRequiredError(
                "The certificate has warnings that must be acknowledged: "
                + "; ".join(f"{f.code}: {f.message}" for f in warnings)
            )
        self._refuse_errors(context.issues(request.term_days))
        self._require_confirmation(context.confirmations(request.term_days), confirmed)
        if material.certificate is None or material.private_key is None:  # pragma: no cover
            raise RefusedError("The certificate or its private key is missing.")
        passphrase = self._passphrase(create=True)
        key_blob = crypto.encrypt_private_key(material.private_key, passphrase)
        info = certificate_info(material.certificate)
        address = info.san[0] if info.san else info.common_name
        view = self._add_record(
            source="custom",
            cert=material.certificate,
            chain=material.chain,
            key_blob=key_blob,
            address=address,
            term_days=request.term_days,
            at=at,
            action="import",
        )
        self._verified = (view.id, passphrase)
        return view

    # --- cancel / export ------------------------------------------------------------------

    def cancel_reserve(self) -> CertView:
        self.store.require_writable()
        at = self.now()
        with self.store.transaction() as conn:
            rows = self.store.list_certificates(conn)
            eff = self._state(rows, at)
            self.core.record_switches_in(conn, rows, eff)
            if eff.reserve_id is None:
                raise NotFoundError("There is no reserve certificate to cancel.")
            self.store.update_certificate_state(conn, eff.reserve_id, "cancelled", ended_at=at)
            row = next(r for r in rows if r.id == eff.reserve_id)
            self.store.audit(
                conn, at, "cancel-reserve", {"certificate_id": row.id, "sha256": row.sha256}
            )
        return self._view(row, "cancelled")

    def certificate_row(self, which: Which, at: datetime | None = None) -> CertificateRow:
        when = at or self.now()
        eff = self._state(self._rows(), when)
        cert_id = eff.main_id if which == "main" else eff.reserve_id
        if cert_id is None:
            raise NotFoundError(
                "There is no main certificate." if which == "main"
                else "There is no reserve certificate."
            )
        return self._row(cert_id)

    def certificate_view(self, which: Which) -> CertView:
        row = self.certificate_row(which)
        return self._view(row, "main" if which == "main" else "pending")

    def export(
        self,
        which: Which,
        fmt: ExportFormat,
        *,
        password: bytes | None = None,
        legacy: bool = False,
    ) -> bytes:
        """The certificate as PEM/DER, or with its key as PKCS #12 (password required)."""
        from cryptography import x509

        from kscert_gui.model import crypto

        row = self.certificate_row(which)
        cert = x509.load_der_x509_certificate(row.cert_der)
        chain = _split_der_chain(row.chain_der)
        if fmt in ("pem", "der"):
            return b"".join(crypto.export_certificate(c, fmt) for c in [cert, *chain]) if (
                fmt == "pem"
            ) else crypto.export_certificate(cert, "der")
        if not password:
            raise ValidationError("A PKCS #12 export needs a password (read from stdin).")
        try:
            key = crypto.decrypt_private_key(row.key_enc, self._passphrase(create=False))
        except WrongPasswordError:
            raise SecretStoreError(
                "The store passphrase does not open this store's private keys."
            ) from None
        data = crypto.export_pkcs12(cert, key, chain, password, legacy=legacy)
        with self.store.transaction() as conn:
            self.store.audit(
                conn, self.now(), "export",
                {"certificate_id": row.id, "format": "p12-legacy" if legacy else "p12"},
            )
        return data

    def private_key_available(self, which: Which) -> bool:
        try:
            row = self.certificate_row(which)
        except NotFoundError:
            return False
        return bool(row.key_enc)
