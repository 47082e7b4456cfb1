"""What the TLS endpoints serve: main certificate and each gateway's (DESIGN §9 serve/check).

``kscert serve`` asks two things of the facade, both read-only so that it never
holds the store's lock (other commands keep changing the store while it runs):

- :meth:`Endpoints.endpoint_plan`: *which* certificate each endpoint serves at
  an instant — cheap (no key is opened), so it can be polled;
- :meth:`Endpoints.served_material`: the certificate, its chain and its
  private key, decrypted with the store passphrase — only when a plan changes.

Time is the facade's clock: ``now()``, which for a training store is the
simulation clock (meta ``sim_now``). That is also the test hook for serving: a
test moves ``sim_now`` in a training store and a running ``kscert serve``
follows it (DESIGN §6, §11).
"""

from __future__ import annotations

from datetime import datetime

from kscert_gui.model import gateways as gateway_rules
from kscert_gui.model.clock import ensure_utc
from kscert_gui.model.errors import NotFoundError, SecretStoreError, WrongPasswordError
from kscert_gui.services.base import Part, state_of
from kscert_gui.services.views import (
    CheckReport,
    EndpointCert,
    EndpointPlan,
    GatewayEndpoint,
    Match,
    ServedMaterial,
)

#: The Administration Server's port for connecting mobile devices (DESIGN §7, §9).
DEFAULT_SERVER_PORT = 13292


class Endpoints(Part):
    """What the TLS endpoints serve (``server.endpoints``, DESIGN §9 serve/check)."""

    def endpoint_plan(self, at: datetime | None = None) -> EndpointPlan:
        """What the server endpoint and every connection gateway serve at ``at`` (default now).

        The server endpoint serves the effective main certificate; while a reserve is
        pending, ``next_*`` name it and its switch time so that the endpoint can change
        at that very instant. A gateway serves the certificate it holds (DESIGN §7): in
        14.2 that changes only when it is reconnected; in later versions delivery is
        automatic, so a gateway that holds a certificate follows the main one.
        """
        when = ensure_utc(at) if at is not None else self.now()
        rows = self.store.list_certificates()
        eff = state_of(rows, when)
        sha = {r.id: r.sha256 for r in rows}
        server: EndpointCert | None = None
        if eff.main_id is not None:
            reserve = eff.reserve_id
            server = EndpointCert(
                cert_id=eff.main_id,
                sha256=sha[eff.main_id],
                next_id=reserve,
                next_sha256=sha[reserve] if reserve is not None else None,
                next_at=eff.switch_at if reserve is not None else None,
            )
        automatic = gateway_rules.delivers_automatically(self.core.server_version())
        gateways: list[GatewayEndpoint] = []
        for host, port, held in self.store.distribution_points.gateway_ports():
            cert: EndpointCert | None = None
            if held is not None and automatic and server is not None:
                cert = server
            elif held is not None and held in sha:
                cert = EndpointCert(cert_id=int(held), sha256=sha[held])
            gateways.append(GatewayEndpoint(host=str(host), port=int(port), cert=cert))
        return EndpointPlan(at=when, server=server, gateways=tuple(gateways))

    def served_material(self, cert_id: int) -> ServedMaterial:
        """The certificate ``cert_id`` with its chain and private key, opened for serving.

        Raises:
            NotFoundError: there is no such certificate.
            SecretStoreError: the store passphrase is missing or does not open the key.
        """
        from cryptography import x509

        from kscert_gui.model import crypto

        row = self.store.get_certificate(cert_id)
        if row is None:
            raise NotFoundError(f"Certificate {cert_id} does not exist.")
        passphrase = self.core.secrets.get_passphrase(self.store.store_id)
        if passphrase is None:
            raise SecretStoreError(
                f"The {self.core.secrets.description} holds no passphrase for this store, so the "
                "private key to serve cannot be opened. Restore the keyring entry or give the "
                "store passphrase (--passphrase-file)."
            )
        try:
            key = crypto.decrypt_private_key(row.key_enc, passphrase)
        except WrongPasswordError:
            raise SecretStoreError(
                f"The passphrase from the {self.core.secrets.description} does not open this "
                "store's private keys, so nothing can be served."
            ) from None
        return ServedMaterial(
            cert_id=row.id,
            sha256=row.sha256,
            certificate=x509.load_der_x509_certificate(row.cert_der),
            chain=tuple(crypto.read_certificates(row.chain_der)) if row.chain_der else (),
            private_key=key,
        )

    def match_served(self, sha256: str | None, at: datetime | None = None) -> Match | None:
        """Whether a served leaf (by SHA-256) is the store's main or reserve certificate."""
        if not sha256:
            return None
        plan = self.endpoint_plan(at)
        if plan.server is None:
            return None
        if sha256.lower() == plan.server.sha256:
            return "main"
        if plan.server.next_sha256 is not None and sha256.lower() == plan.server.next_sha256:
            return "reserve"
        return None

    def check_endpoint(
        self,
        host: str,
        port: int,
        servername: str | None = None,
        timeout: float = 10.0,
    ) -> CheckReport:
        """Connect to ``host:port`` with TLS (DESIGN §9 check) and compare with the store."""
        from kscert_gui.services import tls

        result = tls.probe(host, port, servername=servername, timeout=timeout)
        plan = self.endpoint_plan()
        leaf = result.chain[0].sha256 if result.chain else None
        matches = self.match_served(leaf, plan.at)
        return CheckReport(
            probe=result,
            matches=matches,
            main_sha256=plan.server.sha256 if plan.server else None,
            reserve_sha256=plan.server.next_sha256 if plan.server else None,
        )
