"""Write the table of docs/settings.md from the settings table (serving/settings.py).

Usage:  python -m tools.make_settings_doc [--check]

The table sits between two marker lines; the prose around it is kept. --check exits 1 when the file differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from serving.settings import GUNICORN_TIMEOUT_MARGIN_S, MIB, SETTINGS, SETTINGS_BY_NAME, Setting

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "settings.md"
BEGIN = "<!-- settings table: generated from serving/settings.py by `python -m tools.make_settings_doc` -->"
END = "<!-- end of the settings table -->"


def shown_default(setting: Setting) -> str:
    """The default column: the declared words when the value is worked out at start-up, else the value."""
    if setting.shown is not None:
        from inference.catalog import EMBEDDED_MODELS

        request_timeout = SETTINGS_BY_NAME["REQUEST_TIMEOUT_S"].default
        return setting.shown.format(
            margin=GUNICORN_TIMEOUT_MARGIN_S,
            request_timeout_plus_margin=request_timeout + GUNICORN_TIMEOUT_MARGIN_S,
            embedded_models="`" + ",".join(sorted(model.name for model in EMBEDDED_MODELS)) + "`",
        )
    value = setting.default_value()
    if setting.kind == "flag":
        return "true" if value else "false"
    if setting.kind == "int" and value >= MIB and value % MIB == 0:
        return f"{value} ({value // MIB} MiB)"
    if setting.kind in ("int", "number"):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if setting.kind == "list":
        return f"`{','.join(value)}`" if value else ""
    return f"`{value}`" if value else ""


def allowed(setting: Setting) -> str:
    """The values it takes, short."""
    if setting.kind == "int":
        if setting.maximum is not None:
            return f"integer {setting.minimum} to {setting.maximum}"
        return f"integer >= {setting.minimum}"
    if setting.kind == "choice":
        return ", ".join(f"`{choice}`" for choice in setting.choices)
    return {
        "number": "number > 0",
        "flag": "true / false",
        "text": "text",
        "list": "comma-separated",
        "redis_url": "Redis URL",
        "rate_limit": "limits or `off`",
    }[setting.kind]


def render_table() -> str:
    """The markdown table, one row per setting, in declaration order."""
    rows = ["| variable | default | allowed | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `{s.name}` | {shown_default(s)} | {allowed(s)} | {s.help} |" for s in SETTINGS]
    return "\n".join(rows) + "\n"


def render(current: str) -> str:
    """`current` (docs/settings.md) with the text between the markers replaced by the table."""
    head, found, rest = current.partition(BEGIN + "\n")
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise SystemExit(f"{OUTPUT}: the marker lines are missing")
    return f"{head}{BEGIN}\n{render_table()}{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/settings.md is not up to date")
    args = parser.parse_args()
    current = OUTPUT.read_text(encoding="utf-8")
    wanted = render(current)
    if args.check:
        if wanted != current:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run python -m tools.make_settings_doc", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
