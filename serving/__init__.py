"""Serving the app with no buffering proxy in front: a gunicorn worker that survives slow and idle clients.

See docs/deploy.md for what it protects against and what it does not.
"""
