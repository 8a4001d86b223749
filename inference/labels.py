"""Class-name lists: COCO-80 fallback and labels files."""
from functools import cache
from pathlib import Path

from .errors import ModelError

_COCO_FILE = Path(__file__).parent / "models" / "coco_classes.txt"


@cache
def coco_class_names() -> tuple[str, ...]:
    """The 80 COCO class names in the usual model output order."""
    return read_labels_file(_COCO_FILE)


def read_labels_file(path: str | Path) -> tuple[str, ...]:
    """One class name per non-empty line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read the labels file {path}: {exc}") from None
    return tuple(line.strip() for line in lines if line.strip())
