"""One-off scripts and shared helpers: benchmarks, load and fault tools, model tools, the servers tests start.

Run each from the repository root as a module, e.g. `.venv/bin/python -m tools.bench_inference`. Tests may import
from here; nothing here imports from tests/.
"""
