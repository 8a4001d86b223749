"""newman (pinned in tools/newman, installed by `make test`) runs docs/postman_collection.json against the default
server: every request answers, every `pm.test` passes."""

from __future__ import annotations

import json
import subprocess

import pytest

from tools.make_postman_collection import OUTPUT
from tools.servers import ROOT, gunicorn_server

pytestmark = pytest.mark.server
NEWMAN = ROOT / "tools" / "newman" / "node_modules" / ".bin" / "newman"


def test_newman_runs_the_collection_with_every_assertion_passing(tmp_path):
    assert NEWMAN.exists(), "newman is not installed: `make test` runs `npm ci` in tools/newman"
    report = tmp_path / "newman.json"
    collection = json.loads(OUTPUT.read_text())
    with gunicorn_server(workers=1) as server:
        argv = [
            str(NEWMAN),
            "run",
            str(OUTPUT),
            "--env-var",
            f"baseUrl={server.url}",
            "--working-dir",
            str(ROOT),
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report),
            "--timeout-request",
            "60000",
            "--color",
            "off",
            "--disable-unicode",
        ]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    run = json.loads(report.read_text())["run"]
    stats = run["stats"]
    assert stats["requests"]["total"] == len(collection["item"]) and stats["requests"]["failed"] == 0
    assert stats["assertions"]["total"] >= 2 * len(collection["item"])  # status and content type, at least
    assert stats["assertions"]["failed"] == 0 and run["failures"] == []
    codes = {execution["item"]["name"]: execution["response"]["code"] for execution in run["executions"]}
    assert sorted(codes.values()).count(422) == 1 and set(codes.values()) == {200, 422}
