"""The API token a request carries, and whether it is one of the configured ones (the API, /metrics and the rate
limits ask)."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, g, request

from .errors import ApiError


def request_token() -> str:
    """X-Api-Token, else an `Authorization: Bearer` token (as Prometheus sends it); "" when there is none."""
    bearer = request.headers.get("Authorization", "")
    return request.headers.get("X-Api-Token", bearer[7:] if bearer[:7].lower() == "bearer " else "")


def token_matches(given: str, tokens: list[str]) -> bool:
    """Whether `given` is one of `tokens`, compared with every one without stopping early (timing reveals nothing)."""
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(given.encode(), token.encode())
    return matched


def require_token() -> None:
    """401 unless no tokens are configured or the request's token (X-Api-Token, else `Authorization: Bearer`, as
    Prometheus sends it) matches one of them (constant time)."""
    tokens = current_app.config["API_TOKENS"]
    if tokens and not token_matches(request_token(), tokens):
        raise ApiError(401, "unauthorized", "a valid X-Api-Token header is required")


def client_key() -> str:
    """Who is asking: a valid API token (hashed: counters never hold a token), else the client's IP address.

    The address is the peer's, or with TRUSTED_PROXIES=n the one n proxies back in X-Forwarded-For (ProxyFix).
    Worked out once per request: the rate limits and the model thread's turns both ask.
    """
    if "client_key" not in g:
        given = request_token()
        tokens = current_app.config["API_TOKENS"]
        if tokens and given and token_matches(given, tokens):
            g.client_key = "token:" + hashlib.sha256(given.encode()).hexdigest()[:24]
        else:
            g.client_key = "ip:" + (request.remote_addr or "unknown")
    return g.client_key
