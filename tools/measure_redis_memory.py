"""Redis memory per cached image: each model's candidates for the coco-dev photos, stored through the app.

    .venv/bin/python -m tools.measure_redis_memory [--models yolox_nano deimv2_femto]

Starts a redis-server on loopback (tools/scale_parts.py), sends every photo once to an in-process app with
CACHE_URL set, then reads MEMORY USAGE of each stored key, the value's length, and INFO's used_memory before and
after. Prints min / median / max per image and model, and how many images 100 MiB of maxmemory holds.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from tools.scale_parts import redis_server
from webapp.app import create_app
from webapp.result_cache import KEY_PREFIX

PHOTOS = sorted((ROOT / "tests" / "data" / "coco-dev" / "images").glob("*.jpg"))


def used_memory(redis) -> int:
    info = dict(line.split(":", 1) for line in redis.command("INFO", "memory").splitlines() if ":" in line)
    return int(info["used_memory"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["yolox_nano", "deimv2_femto"])
    args = parser.parse_args(argv)
    print(
        "| model | images | MEMORY USAGE per image, bytes (min / median / max) | value bytes (median) "
        "| used_memory growth per image | images per 100 MiB |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for model in args.models:
        with redis_server(maxmemory="1gb") as redis:
            app = create_app({"TESTING": True, "MODELS": [model], "CACHE_URL": redis.url, "RATE_LIMIT": ""})
            client = app.test_client()
            before = used_memory(redis)
            for photo in PHOTOS:
                answer = client.post("/api/predict", data={"image": (photo.open("rb"), photo.name)})
                assert answer.status_code == 200, answer.get_data(as_text=True)
            growth = (used_memory(redis) - before) / len(PHOTOS)
            keys = redis.command("--scan", "--pattern", KEY_PREFIX + "*").split()
            usage = [int(redis.command("MEMORY", "USAGE", key)) for key in keys]
            lengths = [int(redis.command("STRLEN", key)) for key in keys]
        print(
            f"| {model} | {len(keys)} | {min(usage)} / {statistics.median(usage):.0f} / {max(usage)} "
            f"| {statistics.median(lengths):.0f} | {growth:.0f} | {100 * 2**20 // statistics.median(usage):.0f} |"
        )


if __name__ == "__main__":
    main()
