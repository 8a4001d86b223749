"""tools/bench_server.py's parts: raw ONNX Runtime rows, servers under test, load, cold start, report."""
