"""The example photos the page offers in one click: files in static/examples/ and their credits."""

from __future__ import annotations

from dataclasses import dataclass

THUMBNAIL_SIDE = 160  # longer side of the strip's pictures, in pixels (tools/make_example_thumbnails.py)


@dataclass(frozen=True)
class Example:
    """One photo: copied unchanged from tests/data/photos (whose README has the full provenance)."""

    file: str  # in static/examples/
    title: str
    credit: str
    licence: str

    @property
    def thumbnail(self) -> str:
        """Its small JPEG in static/examples/thumbs/."""
        return "thumbs/" + self.file.rsplit(".", 1)[0] + ".jpg"


EXAMPLES = (
    Example("astronaut.jpg", "Astronaut Eileen Collins", "NASA", "public domain"),
    Example("coffee.jpg", "Espresso cup", "Rachel Michetti for Pikolo Espresso Bar", "CC0"),
    Example("chelsea.png", "Chelsea the cat", "Stefan van der Walt", "CC0"),
    Example("grace_hopper.jpg", "Commodore Grace M. Hopper", "James S. Davis, U.S. Navy", "public domain"),
    Example("camera.png", "Man with a camcorder", "Lav Varshney", "CC0"),
)
