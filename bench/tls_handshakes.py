"""TLS handshake benchmark: ``kscert serve`` against ``openssl s_server``, same certificate.

Both endpoints run on loopback ports at the same time and are driven, in
alternating rounds, by ``openssl s_time -connect 127.0.0.1:P -new -time T -tls1_3``
and then ``-tls1_2`` (a full handshake per connection, no resumption), each protocol
on its own. Handshakes per second are the connections s_time completed divided by the
wall time it ran.

Usage: python bench/tls_handshakes.py [--time 5] [--rounds 2]
Prints the rates and the ratio kscert / openssl for TLS 1.3 and for TLS 1.2 (aim:
≥ 1.0 each), then each figure as a ``RESULT`` line for ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

START_TIMEOUT = 30.0
P12_PASSWORD = "bench export password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server on port {port} exited early ({proc.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


@contextlib.contextmanager
def running(cmd: list[str], env: dict[str, str] | None = None) -> Iterator[
    subprocess.Popen[bytes]
]:
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


PROTOCOLS = {"1.3": "-tls1_3", "1.2": "-tls1_2"}


def s_time(port: int, seconds: int, protocol: str) -> float:
    """Handshakes per second that ``openssl s_time -new`` achieved against ``port``."""
    cmd = ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time", str(seconds),
           PROTOCOLS[protocol]]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 4 + 30)
    wall = time.perf_counter() - start
    found = re.search(r"(\d+) connections in [\d.]+s;", out.stdout)
    if out.returncode != 0 or found is None:
        raise SystemExit(f"s_time against port {port} failed:\n{out.stdout}\n{out.stderr}")
    return int(found.group(1)) / wall


def kscert(home: Path, passfile: Path, *args: str, stdin: str = "") -> str:
    cmd = [sys.executable, "-m", "kscert_gui.cli", "--home", str(home),
           "--passphrase-file", str(passfile), *args]
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"kscert {args[0]} failed ({out.returncode}): {out.stderr}")
    return out.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time", type=int, default=5, help="seconds per s_time run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds")
    args = parser.parse_args()
    if shutil.which("openssl") is None:
        raise SystemExit("openssl is not installed")
    with tempfile.TemporaryDirectory(prefix="kscert-bench-") as tmp:
        root = Path(tmp)
        home = root / "store"
        passfile = root / "passphrase"
        fd = os.open(passfile, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.write(fd, b"bench passphrase\n")
        os.close(fd)
        kscert(home, passfile, "reissue", "--address", "localhost", "--immediately", "--yes")
        p12 = root / "main.p12"
        kscert(home, passfile, "export", "--main", "--with-key", "--format", "p12",
               "--out", str(p12), stdin=P12_PASSWORD + "\n")
        key, cert, _chain = pkcs12.load_key_and_certificates(
            p12.read_bytes(), P12_PASSWORD.encode()
        )
        assert key is not None and cert is not None
        cert_pem, key_pem = root / "cert.pem", root / "key.pem"
        cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        fd = os.open(key_pem, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.write(fd, key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        os.close(fd)

        ours, theirs = free_port(), free_port()
        serve = [sys.executable, "-m", "kscert_gui.cli", "--home", str(home),
                 "--passphrase-file", str(passfile), "serve", "--server-port", str(ours)]
        reference = ["openssl", "s_server", "-accept", f"127.0.0.1:{theirs}",
                     "-cert", str(cert_pem), "-key", str(key_pem), "-quiet"]
        with running(serve) as p_ours, running(reference) as p_theirs:
            wait_listening(ours, p_ours, START_TIMEOUT)
            wait_listening(theirs, p_theirs, START_TIMEOUT)
            rates: dict[tuple[str, str], list[float]] = {}
            for protocol in PROTOCOLS:
                for n in range(args.rounds):
                    # Alternate which server goes first, so neither always runs on a
                    # machine the other has just warmed (or heated).
                    order = [("openssl", theirs), ("kscert", ours)]
                    for name, port in order if n % 2 == 0 else order[::-1]:
                        rate = s_time(port, args.time, protocol)
                        rates.setdefault((protocol, name), []).append(rate)
                        print(f"TLS {protocol} round {n + 1}: {name:8s} {rate:8.1f} "
                              "handshakes/s", flush=True)
    for protocol in PROTOCOLS:
        o = statistics.mean(rates[(protocol, "openssl")])
        k = statistics.mean(rates[(protocol, "kscert")])
        print(f"TLS {protocol}: openssl s_server {o:.1f}, kscert serve {k:.1f} handshakes/s, "
              f"ratio {k / o:.2f} (aim: >= 1.0)")
        # The bench/run protocol (bench/run_all.py): one machine-readable line per figure.
        print(f"RESULT name=tls{protocol.replace('.', '')}-handshakes-per-second "
              f"value={k:.1f} unit=handshakes/s baseline={o:.1f} ratio={k / o:.2f} "
              f"aim=ratio>=1.0 (TLS {protocol}: kscert serve vs openssl s_server, same "
              f"certificate, full handshakes from openssl s_time -new "
              f"{PROTOCOLS[protocol]}, {args.rounds} x {args.time} s each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
