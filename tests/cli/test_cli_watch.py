"""`kscert watch` and `kscert metrics` end to end (DESIGN §13), against real TLS servers.

`openssl s_server` with a certificate that expires in 10 days and with an expired one,
`kscert serve` on the store (its main certificate), a closed port; `promtool` checks the
exposition and the shipped alert rules. Everything listens on 127.0.0.1; every wait is
bounded; every process started is stopped.
"""

from __future__ import annotations

import http.client
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clikit import Run
from conftest import unavailable
from tlskit import WAIT, free_port, process, s_server, wait_until
from watchkit import expiring_in, kscert, kscert_serve, write_passfile

from kscert_gui.services.store import DB_NAME

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "resources" / "prometheus"


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    return write_passfile(tmp_path / "store.pass")


@pytest.fixture
def home(tmp_path: Path, passfile: Path) -> Path:
    """A real store whose main certificate is for 127.0.0.1."""
    home = tmp_path / "store"
    kscert(home, passfile, "reissue", "--address", "127.0.0.1", "--immediately", "--yes")
    return home


@pytest.fixture
def run(home: Path, passfile: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(home, passfile, monkeypatch, capsys)


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        unavailable(f"{tool} is not installed")
    return path


def store_bytes(home: Path) -> bytes:
    """The database with its WAL: what "the store is unchanged" compares."""
    return b"".join(p.read_bytes() for p in sorted(home.glob(f"{DB_NAME}*"))
                    if not p.name.endswith("-shm"))


# --- probes against real servers ----------------------------------------------------------


def test_check_real_servers(home: Path, passfile: Path, tmp_path: Path, run: Run) -> None:
    need("openssl")
    soon_cert, soon_key = expiring_in(tmp_path, "soon", 10)
    old_cert, old_key = expiring_in(tmp_path, "old", -3)
    closed = free_port()
    with s_server(tmp_path, soon_cert, soon_key) as soon, \
            s_server(tmp_path, old_cert, old_key) as old, \
            kscert_serve(home, passfile, tmp_path) as served:
        for endpoint, label in ((f"127.0.0.1:{soon}", "ten days"),
                                (f"127.0.0.1:{old}", "expired"),
                                (f"127.0.0.1:{served}", "kscert serve"),
                                (f"127.0.0.1:{closed}", "closed")):
            assert run("watch", "add", endpoint, "--name", label)[0] == 0
        rc, data = run.json("watch", "check", "--timeout", "5")
    assert rc == 1  # one unreachable, one expired
    by_name = {e["name"]: e for e in data["endpoints"]}
    assert by_name["ten days"]["state"] == "expiring"
    assert by_name["ten days"]["days_left"] in (9, 10)
    assert by_name["expired"]["state"] == "expired"
    assert by_name["kscert serve"]["state"] == "ok"
    assert by_name["kscert serve"]["matches"] == "main"
    assert by_name["ten days"]["matches"] is None
    assert by_name["closed"]["state"] == "unreachable"
    assert by_name["closed"]["error"].startswith("connection refused")
    # First sight: the one with 10 days left passed 14; the expired one passed them all.
    assert [c["threshold"] for c in data["crossings"]] == [14, 1]
    assert "expired at" in data["crossings"][1]["message"]

    rc, listed = run.json("watch", "list")
    assert rc == 0
    assert list(listed) == ["endpoints"]
    for entry in listed["endpoints"]:
        assert list(entry) == ["endpoint", "name", "servername", "state", "days_left",
                               "not_after", "sha256", "matches", "checked_at", "error"]
    served_entry = next(e for e in listed["endpoints"] if e["name"] == "kscert serve")
    main = run.json("status")[1]["main"]
    assert served_entry["sha256"] == main["sha256"]
    assert served_entry["not_after"] == main["not_after"]

    rc, out, _err = run("watch", "list")
    assert rc == 0 and "127.0.0.1" in out and "unreachable" in out
    assert "the store's main certificate" in out


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["watch", "add", "mdm.example.com"],
        ["watch", "add", "mdm.example.com:0"],
        ["watch", "add", "mdm.example.com:65536"],
        ["watch", "add", "mdm.example.com:13292"],  # already watched
        ["watch", "add", "MDM.example.com:13292"],  # already watched, in another case
        ["watch", "add", "other.example.com:13292", "--name", "red\x1b[31m"],
        ["watch", "add", "other.example.com:13292", "--servername", "10.0.0.1"],
        ["watch", "remove", "mdm.example.com"],
        ["watch", "set-thresholds", "30,0"],
        ["watch", "check", "--timeout", "0"],
        ["watch", "run", "--interval", "1"],
        ["metrics", "--listen", "127.0.0.1:0"],
    ],
)
def test_bad_input_exits_2_and_changes_nothing(run: Run, home: Path, args: list[str]) -> None:
    assert run("watch", "add", "mdm.example.com:13292")[0] == 0
    before = store_bytes(home)
    rc, out, err = run(*args)
    assert rc == 2, (out, err)
    assert err.startswith("kscert: error:") and "\x1b" not in out + err
    assert store_bytes(home) == before
    rc, doc = run.json(*args)
    assert rc == 2 and doc["error"]["code"] == "usage"


def test_bad_input_creates_no_store(tmp_path: Path, passfile: Path) -> None:
    home = tmp_path / "nothing-here"
    proc = kscert(home, passfile, "watch", "add", "host:65536", check=False)
    assert proc.returncode == 2
    assert not home.exists()


def test_remove_unknown_is_not_found(run: Run) -> None:
    rc, _out, err = run("watch", "remove", "nowhere.example.com:443")
    assert rc == 1 and "is not watched" in err


def test_set_thresholds_changes_the_state(run: Run, tmp_path: Path) -> None:
    need("openssl")
    cert, key = expiring_in(tmp_path, "forty", 40)
    with s_server(tmp_path, cert, key) as port:
        run("watch", "add", f"127.0.0.1:{port}")
        assert run.json("watch", "check")[1]["endpoints"][0]["state"] == "ok"
        rc, doc = run.json("watch", "set-thresholds", "60,7")
        assert rc == 0 and doc == {"thresholds": [60, 7]}
        assert run.json("watch", "list")[1]["endpoints"][0]["state"] == "expiring"


def test_watch_run_checks_until_sigterm(home: Path, passfile: Path, tmp_path: Path) -> None:
    kscert(home, passfile, "watch", "add", f"127.0.0.1:{free_port()}")
    log = tmp_path / "run.log"
    cmd = [sys.executable, "-m", "kscert_gui.cli", "--home", str(home), "--passphrase-file",
           str(passfile), "watch", "run", "--interval", "10", "--timeout", "1"]
    with process(cmd, log) as proc:
        wait_until(lambda: "Checked 1 endpoint in" in log.read_text(), "a check")
        # Between checks the store is free: another command changes it.
        kscert(home, passfile, "watch", "add", f"127.0.0.1:{free_port()}")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
    text = log.read_text()
    assert "Stopped." in text and "Traceback" not in text
    assert "unreachable" in text


# --- metrics ------------------------------------------------------------------------------


def test_metrics_exposition_passes_promtool(run: Run, tmp_path: Path) -> None:
    promtool = need("promtool")
    need("openssl")
    cert, key = expiring_in(tmp_path, "ep", 10)
    with s_server(tmp_path, cert, key) as port:
        run("watch", "add", f"127.0.0.1:{port}", "--name", "gw")
        run("watch", "add", f"127.0.0.1:{free_port()}")
        run("watch", "check")
    rc, out, _err = run("metrics")
    assert rc == 0
    check = subprocess.run([promtool, "check", "metrics"], input=out, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    lines = [line for line in out.splitlines() if line and not line.startswith("#")]
    names = {line.split("{")[0] for line in lines}
    # (kscert_gateway_stale has no sample: this store has no gateway)
    assert names == {"x509_cert_not_after", "x509_cert_not_before", "x509_cert_expired",
                     "kscert_devices", "kscert_endpoint_up"}
    main_lines = [line for line in lines if line.startswith("x509_cert_not_after{")
                  and 'source="main"' in line]
    assert len(main_lines) == 1
    assert 'endpoint=""' in main_lines[0] and 'subject_CN="127.0.0.1"' in main_lines[0]
    serial = main_lines[0].split('serial_number="')[1].split('"')[0]
    assert serial.isdigit()  # decimal, as the x509 certificate exporter writes it
    endpoint_lines = [line for line in lines if 'source="endpoint"' in line]
    assert len(endpoint_lines) == 3  # not_after, not_before, expired of the one served
    assert all(f'endpoint="127.0.0.1:{port}"' in line for line in endpoint_lines)
    ups = sorted(line.rsplit(" ", 1)[1] for line in lines
                 if line.startswith("kscert_endpoint_up"))
    assert ups == ["0.0", "1.0"]
    states = {line.split('"')[1] for line in lines if line.startswith("kscert_devices")}
    assert states == {"connected", "blocked", "lost", "at-risk"}


def test_metrics_of_the_demo_store_name_the_gateway(tmp_path: Path, passfile: Path) -> None:
    home = tmp_path / "demo"
    kscert(home, passfile, "demo")
    out = kscert(home, passfile, "metrics").stdout
    assert 'kscert_gateway_stale{host="gw-dmz-01"} 0.0' in out
    assert 'kscert_devices{state="lost"}' in out


def _get(port: int, path: str = "/metrics", method: str = "GET") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_metrics_listen(home: Path, passfile: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "metrics.log"
    cmd = [sys.executable, "-m", "kscert_gui.cli", "--home", str(home), "--passphrase-file",
           str(passfile), "metrics", "--listen", f"127.0.0.1:{port}"]
    with process(cmd, log) as proc:
        wait_until(lambda: "Serving" in log.read_text(), "metrics listening")
        status, body = _get(port)
        assert status == 200 and 'x509_cert_not_after{endpoint=""' in body
        assert "kscert_endpoint_up{" not in body
        assert _get(port, "/")[0] == 404
        assert _get(port, "/metrics/../x")[0] == 404
        assert _get(port, "/favicon.ico")[0] == 404
        assert _get(port, method="POST")[0] == 405
        assert _get(port, method="DELETE")[0] == 405

        # A slow client and one with a huge header do not hold up the next scrape.
        slow = socket.create_connection(("127.0.0.1", port), 5)
        slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        huge = socket.create_connection(("127.0.0.1", port), 5)
        huge.sendall(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
        started = time.monotonic()
        assert _get(port)[0] == 200
        assert time.monotonic() - started < 2
        status_line = huge.recv(4096).split(b"\r\n")[0]
        assert status_line.startswith(b"HTTP/1.") and b" 431 " in status_line
        huge.close()
        slow.close()

        # Read fresh on each scrape: a watched endpoint added now shows in the next one.
        kscert(home, passfile, "watch", "add", f"127.0.0.1:{free_port()}")
        kscert(home, passfile, "watch", "check", check=False)
        assert "kscert_endpoint_up{" in _get(port)[1]

        # A second one on the same port: a clear message, exit 1.
        again = kscert(home, passfile, "metrics", "--listen", f"127.0.0.1:{port}",
                       check=False, timeout=30)
        assert again.returncode == 1
        assert "port is in use" in again.stderr and again.stderr.startswith("kscert: error:")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
    assert "Stopped." in log.read_text()


# --- the shipped rules ----------------------------------------------------------------------


def test_shipped_rules_pass_promtool() -> None:
    promtool = need("promtool")
    for args in (["check", "rules", "kscert-alerts.yml"],
                 ["test", "rules", "kscert-alerts.test.yml"],
                 ["check", "config", "prometheus.example.yml"]):
        proc = subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (RULES / "kscert-alerts.yml").read_text()
    for alert in ("KscertMainCertificateExpiresWithoutReserve", "KscertDevicesLost",
                  "KscertEndpointDown", "KscertGatewayStale"):
        assert f"alert: {alert}" in text


def test_readme_shows_the_scrape_config_and_rules() -> None:
    readme = (REPO / "README.md").read_text()
    assert "## Monitoring many servers" in readme
    for needle in ("job_name: kscert", "KscertMainCertificateExpiresWithoutReserve",
                   "kscert metrics --listen", "kscert watch add", "receiver:"):
        assert needle in readme, needle
