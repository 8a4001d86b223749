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
