"""Class-name lists (COCO-80 fallback, labels files) and class-name matching with aliases."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from .errors import ModelError

_COCO_FILE = Path(__file__).parent / "models" / "coco_classes.txt"

# COCO's official names and the darknet/VOC spellings many label files use for the same classes.
CLASS_ALIASES: dict[str, tuple[str, ...]] = {
    "motorcycle": ("motorbike",),
    "airplane": ("aeroplane",),
    "couch": ("sofa",),
    "potted plant": ("pottedplant",),
    "dining table": ("diningtable",),
    "tv": ("tvmonitor",),
}


@cache
def coco_class_names() -> tuple[str, ...]:
    """The 80 COCO class names (COCO's official spelling) in the usual model output order."""
    return read_labels_file(_COCO_FILE)


def read_labels_file(path: str | Path) -> tuple[str, ...]:
    """One class name per non-empty line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read the labels file {path}: {exc}") from None
    return tuple(line.strip() for line in lines if line.strip())


def class_key(name: str) -> str:
    """A name as compared: case, spaces and underscores ignored ("Dining_Table" -> "diningtable")."""
    return re.sub(r"[\s_]+", "", name).casefold()


@cache
def _alias_groups() -> dict[str, frozenset[str]]:
    """Each spelling's key -> the keys of every spelling of that class."""
    groups = {}
    for official, aliases in CLASS_ALIASES.items():
        keys = frozenset(class_key(name) for name in (official, *aliases))
        groups.update(dict.fromkeys(keys, keys))
    return groups


def find_class(name: str, class_names: Sequence[str]) -> int | None:
    """The index of `name` among `class_names`, matching case- and space-insensitively and through aliases."""
    return class_lookup(class_names).get(class_key(name))


def class_lookup(class_names: Sequence[str]) -> dict[str, int]:
    """Each accepted spelling's key -> its class index: the first class with that key, else with an alias's key
    (the aliases tried in sorted order). Built once per model, so a name costs one dict lookup, not a scan."""
    lookup: dict[str, int] = {}
    for index, name in enumerate(class_names):
        lookup.setdefault(class_key(name), index)
    direct = dict(lookup)
    for wanted, group in _alias_groups().items():
        if wanted not in direct:
            found = next((direct[key] for key in sorted(group) if key in direct), None)
            if found is not None:
                lookup[wanted] = found
    return lookup
