"""Prometheus /metrics: the families, exact counts after known traffic, and sums over two gunicorn workers."""

from __future__ import annotations

import base64
import io
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tools.servers import ROOT, RunningServer, access_lines, gunicorn_server, wait_workers_serving

PHOTO = (ROOT / "tests" / "data" / "photos" / "coffee.jpg").read_bytes()
PREDICT = "api.predict"  # the endpoint label of both /api/predict and /
SCANNER_PATHS = [
    "/wp-login.php",
    "/.env",
    "/admin/config.php",
    "/api/v1/../../etc/passwd",
    "/%0Aforged",
    "/cgi-bin/test.cgi?x=1",
    "/api/predict/extra",
    "/static/../../secret",
]

Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    """{(sample name, labels): value} from the text exposition format."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def label_sets(samples: Samples, name: str) -> set[frozenset]:
    """Every label combination of one sample name."""
    return {labels for sample_name, labels in samples if sample_name == name}


def json_body(image: bytes = PHOTO) -> dict:
    return {"requests": [{"image": {"content": base64.b64encode(image).decode()}}]}


def scrape(client) -> Samples:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    return parse(answer.get_data(as_text=True))


# --- Flask test client: one process, the default registry ----------------------------------------------


def test_metrics_content_type_and_families(client, detector):
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain" and answer.mimetype_params["charset"] == "utf-8"
    assert "version" in answer.mimetype_params
    families = {f.name: f for f in text_string_to_metric_families(answer.get_data(as_text=True))}
    assert families["http_requests"].type == "counter"
    assert families["http_request_duration_seconds"].type == "histogram"
    assert families["inference_duration_seconds"].type == "histogram"
    assert families["model_info"].type == "gauge"
    info = {frozenset(s.labels.items()): s.value for s in families["model_info"].samples}
    loaded = frozenset(
        {"name": detector.info.name, "family": detector.info.family, "sha256": detector.info.sha256}.items()
    )
    assert info[loaded] == 1


def test_counts_are_exact_after_known_requests(client):
    before = scrape(client)
    for _ in range(3):
        assert client.post("/api/predict", json=json_body()).status_code == 200
    for _ in range(2):  # the origin's root URL, multipart: the same endpoint
        form = {"image": (io.BytesIO(PHOTO), "c.jpg")}
        assert client.post("/", data=form, content_type="multipart/form-data").status_code == 200
    batch = {"requests": json_body()["requests"] * 2 + [{"image": {"content": "!!"}}]}  # 2 images + 1 bad entry
    assert client.post("/api/predict", json=batch).status_code == 200
    for _ in range(2):
        assert client.post("/api/predict", data=b"{", content_type="application/json").status_code == 400
    assert client.get("/healthz").status_code == 200
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("http_requests_total", method="POST", endpoint=PREDICT, status="200") == 6
    assert delta("http_requests_total", method="POST", endpoint=PREDICT, status="400") == 2
    assert delta("http_requests_total", method="GET", endpoint="api.liveness", status="200") == 1
    assert delta("http_requests_total", method="GET", endpoint="metrics", status="200") == 1  # the first scrape
    assert delta("http_request_duration_seconds_count", endpoint=PREDICT) == 8
    # Seven images answered, none for the bad entry: each by the model or by the result cache (the same photo
    # repeats, so after its first run the cache answers), and every cache lookup is counted.
    runs = delta("inference_duration_seconds_count")
    assert runs + delta("cache_hits_total") == 3 + 2 + 2
    assert delta("cache_hits_total") + delta("cache_misses_total") == 7
    assert delta("inference_duration_seconds_bucket", le="+Inf") == runs
    assert (delta("inference_duration_seconds_sum") > 0) == (runs > 0)


def test_scanners_hitting_random_paths_add_no_label_values(client):
    client.get("/no-such-page")
    client.post("/no-such-api")
    client.get("/api/predict")  # 405
    before = scrape(client)
    methods = ["GET", "POST", "PUT", "DELETE", "PROPFIND", "OPTIONS"]
    for n in range(30):
        path = f"/{uuid.uuid4().hex}/{SCANNER_PATHS[n % len(SCANNER_PATHS)].lstrip('/')}"
        assert client.open(path, method=methods[n % len(methods)]).status_code in (404, 405)
    after = scrape(client)
    for name in ("http_requests_total", "http_request_duration_seconds_count"):
        assert label_sets(after, name) == label_sets(before, name), name
    unmatched_404 = {"method": "other", "endpoint": "unmatched", "status": "404"}
    grown = value(after, "http_requests_total", **unmatched_404) - value(before, "http_requests_total", **unmatched_404)
    assert grown == 30


# --- a real gunicorn with 2 workers: each has its own counters, /metrics sums them --------------------------


MIN_REQUESTS, MAX_REQUESTS = 8, 40


def pids_by_request_id(server: RunningServer) -> dict[str, int]:
    """Which worker answered each request, from the request id on its access log line."""
    return {request_id: pid for pid, request_id in access_lines(server.log())}


def post_tagged(url: str) -> str:
    """One prediction on a new connection (so either worker may take it), tagged with a known request id."""
    request_id = f"metrics-{uuid.uuid4().hex}"
    answer = requests.post(url + "/api/predict", json=json_body(), headers={"X-Request-Id": request_id}, timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    return request_id


def scrape_tagged(url: str) -> tuple[str, Samples]:
    request_id = f"scrape-{uuid.uuid4().hex}"
    answer = requests.get(url + "/metrics", headers={"X-Request-Id": request_id}, timeout=30)
    assert answer.status_code == 200
    return request_id, parse(answer.text)


@pytest.fixture(scope="module")
def server():
    with gunicorn_server(env={"CACHE_BYTES": "0"}, workers=2) as running:  # every prediction runs the model
        yield running


@pytest.mark.server
@pytest.mark.timeout(180)
def test_counts_add_up_over_two_workers_whichever_answers(server):
    wait_workers_serving(server)  # /readyz answers as soon as one worker is up; both must be
    sent: list[str] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        # Send in rounds until both workers have answered some: then each worker holds part of the counts.
        while len(sent) < MAX_REQUESTS:
            sent += pool.map(lambda _: post_tagged(server.url), range(4))
            served_by = pids_by_request_id(server)
            if len(sent) >= MIN_REQUESTS and len({served_by[r] for r in sent}) == 2:
                break
    served_by = pids_by_request_id(server)
    assert len({served_by[r] for r in sent}) == 2, "the predictions did not reach both workers"
    total = len(sent)

    scraped_by: set[int] = set()
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(15):  # scrape in bursts until each worker has answered /metrics at least once
            for request_id, samples in pool.map(lambda _: scrape_tagged(server.url), range(4)):
                scraped_by.add(pids_by_request_id(server)[request_id])
                assert value(samples, "http_requests_total", method="POST", endpoint=PREDICT, status="200") == total
                assert value(samples, "http_request_duration_seconds_count", endpoint=PREDICT) == total
                assert value(samples, "inference_duration_seconds_count") == total
                assert value(samples, "inference_duration_seconds_bucket", le="+Inf") == total
                model_info = [labels for name, labels in samples if name == "model_info"]
                names = sorted(dict(labels)["name"] for labels in model_info)
                assert names == ["deimv2_femto", "yolox_nano"], model_info  # one series per model, not per worker
                assert all(samples[("model_info", labels)] == 1 for labels in model_info)
            if len(scraped_by) == 2:
                break
    assert len(scraped_by) == 2, "/metrics was always answered by the same worker"
    print(
        f"\n{total} predictions over workers {sorted({served_by[r] for r in sent})}; "
        f"/metrics scraped from {sorted(scraped_by)}"
    )


@pytest.mark.server
def test_scanners_add_no_label_values_under_gunicorn(server):
    requests.get(server.url + "/scanned-once", timeout=10)
    _, before = scrape_tagged(server.url)
    for n in range(20):
        path = f"/{uuid.uuid4().hex}/{SCANNER_PATHS[n % len(SCANNER_PATHS)].lstrip('/')}"
        assert requests.get(server.url + path, timeout=10).status_code == 404
    _, after = scrape_tagged(server.url)
    assert label_sets(after, "http_requests_total") == label_sets(before, "http_requests_total")
    assert label_sets(after, "http_request_duration_seconds_bucket") == label_sets(
        before, "http_request_duration_seconds_bucket"
    )
    grown = value(after, "http_requests_total", method="other", endpoint="unmatched", status="404") - value(
        before, "http_requests_total", method="other", endpoint="unmatched", status="404"
    )
    assert grown == 20
