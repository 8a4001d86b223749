"""The benchmark scripts run end to end on tiny loads and print complete tables (no timing asserts)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys

import pytest

from tools.servers import ROOT

pytestmark = pytest.mark.server

# The smallest run of the load-generating benchmarks that still has two rounds to compare.
SMALL_RUN = ("--model", "yolox_nano", "--rounds", "2", "--seconds", "1", "--concurrency", "2")
NUMBER = r"(\d+(?:\.\d+)?)"
SERVED_ROW = re.compile(
    rf"^(ours|litserve|flask dev, threaded=False)\s+(json|multipart)\s+(\d+)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}"
    rf"\s+{NUMBER}\s+(\d+)\s+{NUMBER}"  # cpu ms, errors, /raw
)
RAW_ROW = re.compile(
    rf"^(raw [^\n]+? thr)\s+tensor\s+(\d+)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+0$"
)


def run_tool(*argv: str, timeout: float) -> str:
    """Run a tools/ script with the venv's Python; its stdout (fails with its output on a non-zero exit)."""
    done = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_bench_inference_prints_every_step_and_the_ratio():
    output = run_tool(
        "-m", "tools.bench_inference", "--iterations", "5", "--warmup", "1", "--threads", "1", timeout=120
    )
    medians = dict(re.findall(rf"^(\S[^\n]*?|  stage: \w+)\s+{NUMBER}$", output, re.MULTILINE))
    for step in ("raw session.run", "predict_bytes (end to end)", "decode, JPEG draft", "decode, full (no draft)"):
        assert float(medians[step]) > 0, step
    for stage in ("decode", "preprocess", "inference", "decode_outputs", "select"):
        assert float(medians[f"  stage: {stage}"]) > 0, stage
    ratio = re.search(rf"^end to end / raw\s+{NUMBER}\s+\(target <= 1.15: (met|NOT met)\)$", output, re.MULTILINE)
    # End to end does more work than the run, but 5 iterations on a busy machine can invert a small gap.
    assert ratio and float(ratio.group(1)) > 0.5, output


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by make test's system-packages")
def test_bench_server_smoke_prints_the_table_with_positive_numbers():
    output = run_tool("-m", "tools.bench_server", "--smoke", timeout=280)
    table = output[output.index("\nload average") :]
    raw = [m.groups() for m in map(RAW_ROW.match, table.splitlines()) if m]
    served = [m.groups() for m in map(SERVED_ROW.match, table.splitlines()) if m]

    assert {row[0] for row in raw} >= {"raw 1 session x 2 thr", "raw 2 sessions x 1 thr"}
    for row in raw:
        assert all(float(value) > 0 for value in row[2:7]), row
    expected = {("ours", "json"), ("ours", "multipart"), ("flask dev, threaded=False", "json")}
    if importlib.util.find_spec("litserve") is not None:
        expected.add(("litserve", "json"))
    else:  # the peer is a benchmark-only dependency: its row says so instead of vanishing
        assert re.search(r"^litserve\s+json\s+-\s+not installed", table, re.MULTILINE), table
    assert {(row[0], row[1]) for row in served} == expected
    for server, content, concurrency, rps, p50, p95, p99, cpu_ms, errors, of_raw in served:
        assert concurrency == "1" and errors == "0", (server, content)
        assert float(rps) > 0 and 0 < float(p50) <= float(p95) <= float(p99), (server, content)
        assert float(cpu_ms) > 0 and float(of_raw) > 0, (server, content)
    assert re.search(r"throughput at saturation / raw ceiling\s+\d+\.\d+\s+target >= 0.85: (met|NOT met)", table)
    assert re.search(r"added p50 at c=1, JSON, vs raw x \d+ thr \(ms\)\s+-?\d+\.\d+\s+target <= 5.0", table)
    cold = re.search(
        rf"launch -> first successful prediction {NUMBER} s; RSS master {NUMBER} MiB, workers ([\d, ]+) MiB", table
    )
    assert cold and float(cold.group(1)) > 0, table
    assert all(int(rss) > 0 for rss in cold.group(3).split(", "))
    assert re.search(
        r"^RSS after load, ours \(gunicorn, Procfile\): [\d, ]+ MiB \(total \d+\)$", table, re.MULTILINE
    ), table


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by make test's system-packages")
def test_bench_overhead_prints_raw_and_ours_in_turns_and_their_medians():
    output = run_tool(
        "-m",
        "tools.bench_overhead",
        *SMALL_RUN,
        timeout=200,
    )
    rounds = re.findall(rf"^\s+(\d)\s+{NUMBER}\s+{NUMBER}\s+(-?\d+\.\d+)$", output, re.MULTILINE)
    assert [r[0] for r in rounds] == ["1", "2"], output
    for _, raw, ours, beyond in rounds:
        assert float(raw) > 0 and float(ours) > 0
        assert float(beyond) == pytest.approx(float(ours) - float(raw), abs=0.011)
    from tools.bench_overhead import TARGET_MS

    target = re.escape(f"(target <= {TARGET_MS} ms: ")
    assert re.search(rf"^median\s+{NUMBER}\s+{NUMBER}\s+-?\d+\.\d+  {target}(met|NOT met)\)", output, re.MULTILINE)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by make test's system-packages")
def test_bench_checkouts_runs_two_servers_in_turns_and_prints_the_paired_differences():
    output = run_tool(
        "-m",
        "tools.bench_checkouts",
        str(ROOT),
        str(ROOT),
        *SMALL_RUN,
        "--no-raw",
        timeout=200,
    )
    rounds = re.findall(
        rf"^\s+(\d)\s+nan\s+{NUMBER}\s+{NUMBER}\s+([+-]\d+\.\d+) \|\s+{NUMBER}\s+{NUMBER} \|\s+{NUMBER}\s+{NUMBER}$",
        output,
        re.MULTILINE,
    )
    assert [r[0] for r in rounds] == ["1", "2"], output
    for _, before, after, diff, main_before, main_after, model_before, model_after in rounds:
        assert float(diff) == pytest.approx(float(after) - float(before), abs=0.011)
        # The threads' CPU adds up to the processes' (/proc counts in 10 ms ticks: a second's cell is coarse).
        assert float(main_before) + float(model_before) == pytest.approx(float(before), rel=0.2), output
        assert float(main_after) + float(model_after) == pytest.approx(float(after), rel=0.2), output
    assert re.search(r"^median of the paired differences \(after - before\): all [+-]\d", output, re.MULTILINE)


def test_the_litserve_peer_answers_as_our_api_does(client):
    """The peer's request handling (LitServe itself is a benchmark-only dependency) against our /api/predict."""
    import base64

    from tools.bench_inference import bench_jpeg, load
    from tools.litserve_peer import decode_request, predict

    body = {
        "requests": [
            {
                "features": [{"score_th": 0.3, "nms_iou": 0.4}],
                "image": {"content": base64.b64encode(bench_jpeg()).decode()},
            }
        ]
    }
    peer = predict(load("yolox_nano", 1), decode_request(body))
    ours_body = {
        "requests": [
            {**body["requests"][0], "features": [{**body["requests"][0]["features"][0], "model": "yolox_nano"}]}
        ]
    }
    ours = client.post("/api/predict", json=ours_body).get_json()["responses"]
    drop_timings = lambda slots: [{k: v for k, v in slot.items() if k != "timings_ms"} for slot in slots]
    assert drop_timings(peer) == drop_timings(ours) and ours[0]["detections"]
