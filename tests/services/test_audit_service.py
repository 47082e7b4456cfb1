"""The audit log as people read it: newest first, one line of details, no secret, no
control character (the Audit log window, DESIGN §8)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from kscert_gui.model.clock import FixedClock
from kscert_gui.services import audit_service
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_details_in_one_line() -> None:
    text = audit_service.details_text({
        "certificate_id": 3, "immediately": True, "term_days": None,
        "names": [f"d{i}" for i in range(25)], "ports": {"agent": 13000},
    })
    assert text == (
        "certificate id: 3; immediately: yes; term days: none; names: "
        + ", ".join(f"d{i}" for i in range(20)) + ", … (25 in all); ports: (agent: 13000)")


def test_secret_keys_and_control_characters_are_never_shown() -> None:
    text = audit_service.details_text({"password": "hunter2", "host": "gw\x1b]0;x\x07",
                                       "nested": {"private_key": "k", "ok": "1\u2028"}})
    assert text == "host: gw\ufffd]0;x\ufffd; nested: (ok: 1\ufffd)"
    assert audit_service.action_text("gateway-ports_changed\n") == "Gateway ports changed\ufffd"


def test_read_newest_first_with_a_limit(tmp_path: Path) -> None:
    secrets = MemorySecretStore()
    with AdministrationServer.open(tmp_path / "s", secrets, clock=FixedClock(AT)) as server:
        with server.store.transaction() as conn:
            for i in range(5):
                server.store.audit(conn, AT, f"step-{i}", {"n": i})
            # A row written by an older program with a secret key: skipped when read.
            conn.execute("INSERT INTO audit(at, pid, action, detail) VALUES (?, 1, ?, ?)",
                         ("2026-03-02T09:30:00Z", "old", json.dumps({"passphrase": "x"})))
        reading = audit_service.read_audit_log(server, limit=3)
        assert [r.action for r in reading.records] == ["Old", "Step 4", "Step 3"]
        assert reading.records[0].details == ""
        assert reading.more
        everything = audit_service.read_audit_log(server)
        assert not everything.more and len(everything.records) == 6
