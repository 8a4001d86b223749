"""Draw a result's boxes on its image with Pillow alone, in the server's class colours, as the upload page draws."""

from __future__ import annotations

import io

from .errors import ClientError, UsageError

FALLBACK_COLOUR = "#e6194b"  # when the server sends no palette


class CannotAnnotate(ClientError):
    """The image could not be decoded or drawn here (the result itself is fine)."""


def require_pillow() -> None:
    """Fail before the run, not at its first image, when Pillow is missing."""
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise UsageError('--annotate-dir needs Pillow: pip install "detection-client[annotate]" (or pillow)') from None


def annotated_png(image_bytes: bytes, result: dict, palette: tuple[str, ...] = ()) -> bytes:
    """PNG bytes of the upright image with the result's boxes and "class score" labels."""
    from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(image_bytes)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")  # the server's boxes are on the upright image
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CannotAnnotate(f"cannot decode the image here to draw on it ({exc})") from None
    scale_x = image.width / result["image"]["width"]
    scale_y = image.height / result["image"]["height"]
    side = max(image.size)
    line = max(2, round(side / 300))
    font = _font(max(11, round(side / 50)), ImageFont)
    draw = ImageDraw.Draw(image)
    for detection in result["detections"]:
        x1, y1, x2, y2 = detection["box"]
        box = (x1 * scale_x, y1 * scale_y, x2 * scale_x, y2 * scale_y)
        colour = _rgb(palette[detection["class_id"] % len(palette)] if palette else FALLBACK_COLOUR)
        draw.rectangle(box, outline=colour, width=line)
        label = f"{detection['class_name']} {detection['score']:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        height = bottom - top + 4
        label_top = max(0.0, box[1] - height)
        draw.rectangle((box[0], label_top, box[0] + right - left + 4, label_top + height), fill=colour)
        text_colour = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)  # readable on light and dark
        draw.text((box[0] + 2, label_top + 2 - top), label, fill=text_colour, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _font(size: int, image_font):
    """Pillow's built-in scalable font at `size` pixels (the bitmap default on builds without FreeType)."""
    try:
        return image_font.load_default(size=size)
    except (TypeError, ImportError, OSError):
        return image_font.load_default()


def _rgb(colour: str) -> tuple[int, int, int]:
    """ "#rrggbb" -> (r, g, b)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
