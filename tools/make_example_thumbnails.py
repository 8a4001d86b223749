"""Write the example strip's thumbnails (static/examples/thumbs/) from the photos webapp/examples.py lists."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent

from webapp.examples import EXAMPLES, THUMBNAIL_SIDE

EXAMPLES_DIR = ROOT / "webapp" / "static" / "examples"


def main() -> None:
    """One small JPEG per example, its longer side THUMBNAIL_SIDE pixels."""
    (EXAMPLES_DIR / "thumbs").mkdir(exist_ok=True)
    for example in EXAMPLES:
        with Image.open(EXAMPLES_DIR / example.file) as photo:
            small = ImageOps.exif_transpose(photo).convert("RGB")
            small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
            target = EXAMPLES_DIR / example.thumbnail
            small.save(target, "JPEG", quality=82, optimize=True, progressive=True)
            print(f"{target.relative_to(ROOT)}: {small.width}x{small.height}, {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
