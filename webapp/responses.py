"""Fast JSON responses (orjson), used for every API answer."""

import orjson
from flask import Response


def json_response(body: dict, status: int = 200) -> Response:
    """Serialise once with orjson; Flask's own encoder is several times slower on detection lists."""
    return Response(orjson.dumps(body), status=status, mimetype="application/json")
