"""A real Prometheus server scrapes `kscert metrics --listen` (DESIGN §13).

Debian's ``prometheus`` on loopback only, with a temporary storage folder and a 1 s
scrape interval; the test waits for a scrape, asks the HTTP query API for
``x509_cert_not_after{source="main"}`` and compares it with the main certificate's
notAfter. Bounded in time; both processes are stopped at the end.
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from conftest import unavailable
from tlskit import free_port, process, wait_until
from watchkit import kscert, write_passfile

pytestmark = pytest.mark.integration

SCRAPE_WAIT = 60.0


def _query(port: int, expr: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            doc = json.loads(response.read())
    except OSError:
        return []
    assert doc["status"] == "success", doc
    result: list[dict[str, object]] = doc["data"]["result"]
    return result


def test_prometheus_scrapes_the_main_certificate(tmp_path: Path) -> None:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        unavailable("prometheus is not installed (Debian package prometheus)")
    passfile = write_passfile(tmp_path / "store.pass")
    home = tmp_path / "store"
    kscert(home, passfile, "reissue", "--address", "mdm.example.com", "--immediately", "--yes")
    status = json.loads(kscert(home, passfile, "status", "--json").stdout)
    not_after = datetime.fromisoformat(status["main"]["not_after"].replace("Z", "+00:00"))

    metrics_port = free_port()
    web_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: kscert\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_port}']\n",
        encoding="utf-8",
    )
    metrics_cmd = [sys.executable, "-m", "kscert_gui.cli", "--home", str(home),
                   "--passphrase-file", str(passfile), "metrics", "--listen",
                   f"127.0.0.1:{metrics_port}"]
    prometheus_cmd = [prometheus, f"--config.file={config}",
                      f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                      f"--web.listen-address=127.0.0.1:{web_port}",
                      "--log.level=warn"]
    metrics_log = tmp_path / "metrics.log"
    with process(metrics_cmd, metrics_log), \
            process(prometheus_cmd, tmp_path / "prometheus.log") as server:
        wait_until(lambda: "Serving" in metrics_log.read_text(), "kscert metrics listening")

        def scraped() -> bool:
            if server.poll() is not None:
                log = (tmp_path / "prometheus.log").read_text(errors="replace")
                raise AssertionError(f"prometheus exited ({server.returncode}): {log}")
            return bool(_query(web_port, 'x509_cert_not_after{source="main"}'))

        wait_until(scraped, "a Prometheus scrape of kscert metrics", timeout=SCRAPE_WAIT)
        result = _query(web_port, 'x509_cert_not_after{source="main"}')
        up = _query(web_port, 'up{job="kscert"}')
    assert len(result) == 1
    sample = result[0]
    labels = sample["metric"]
    assert isinstance(labels, dict)
    assert labels["source"] == "main" and labels["subject_CN"] == "mdm.example.com"
    assert labels["job"] == "kscert" and labels["instance"] == f"127.0.0.1:{metrics_port}"
    value = sample["value"]
    assert isinstance(value, list)
    assert float(value[1]) == not_after.timestamp()
    assert up and isinstance(up[0]["value"], list) and up[0]["value"][1] == "1"
