"""Serving the app with no buffering proxy in front: a gunicorn worker that survives slow and idle clients.

See docs/deploy.md for what it protects against and what it does not.
"""

# WSGI environ key under which the worker passes `run(client, func, *args, **kwargs)`: it runs CPU-bound work
# (decoding, the model) in the worker's one model thread, so the event loop keeps reading, writing and answering
# health checks; `client` (who asks: token or address) is whose turn the job waits for.
MODEL_THREAD_KEY = "serving.run_in_model_thread"

# WSGI environ key under which the worker passes `hold(seconds)`: the connection waits before its answer while the
# worker goes on serving others (a cooperative sleep; skipped when the worker's connection slots are filling up).
HOLD_KEY = "serving.hold"
