"""The copies of the parameter declaration that must stay separate agree with it (inference/params.py).

The client installs without the server, so it keeps its own list of names; the docs' table is prose.
"""

from __future__ import annotations

from detection_client import cli
from detection_client.client import PARAMETERS as CLIENT_PARAMETERS
from detection_client.client import features
from inference.params import PARAMETERS, REQUEST_FIELDS


def test_the_client_sends_every_declared_parameter_by_its_wire_name():
    given = {name: 1 for name in CLIENT_PARAMETERS}
    sent = set(features(**given))
    assert sent == {*REQUEST_FIELDS, "model"}


def test_the_command_line_has_an_option_per_parameter():
    options = {option for action in cli.build_parser()._actions for option in action.option_strings}
    for parameter in PARAMETERS:
        assert "--" + parameter.attribute.replace("_", "-") in options, parameter.name
    assert {"--classes", "--model"} <= options


def test_the_docs_give_the_fair_share_timings_the_code_declares():
    """The refusal hold and the waiting-connection interval are prose in the docs; they must say the code's values."""
    from pathlib import Path

    from serving.worker import WAITING_CONNECTION_CHECK_S
    from webapp.rate_limits import REFUSAL_HOLD_S

    docs = Path(__file__).resolve().parent.parent / "docs"
    scaling, deploy = (docs / "scaling.md").read_text(), (docs / "deploy.md").read_text()
    assert f"answered\n  {REFUSAL_HOLD_S:g} s late" in scaling
    assert scaling.count(f"{REFUSAL_HOLD_S:g} s hold") == 2
    assert f"then one per {WAITING_CONNECTION_CHECK_S * 1000:g} ms while more wait" in deploy
