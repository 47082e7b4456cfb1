"""The part of the facade that its feature mixins rely on (store, clock, secrets)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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


class ServerBase:
    """Attributes every AdministrationServer mixin may use."""

    store: Store
    secrets: SecretStore

    def now(self) -> datetime:
        """The current instant (a training store's simulation clock, else real time)."""
        raise NotImplementedError

    def server_version(self) -> str:
        return self.store.get_meta("server_version") or "14.2"
