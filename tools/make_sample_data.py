#!/usr/bin/env python3
"""Regenerate the sample photographs in tests/data/ from installed packages.

Reproduces:
  * tests/data/photos/*            copied (or re-encoded as JPEG q92) from the
                                   images bundled with scikit-image and matplotlib
  * tests/data/exif_rotated_astronaut.jpg
                                   astronaut stored rotated 90 degrees with
                                   EXIF Orientation=6, so that an EXIF-aware
                                   reader (PIL.ImageOps.exif_transpose) shows it
                                   upright again.

It does NOT produce tests/data/ground_truth.json: those boxes were drawn by hand
(see tests/data/README.md).

Needs: Pillow, numpy, scikit-image (only for its bundled data files) and
matplotlib (only for its bundled sample_data/grace_hopper.jpg).

Usage:  python -m tools.make_sample_data [--out tests/data]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

JPEG_QUALITY = 92
EXIF_ORIENTATION_TAG = 0x0112
# Orientation 6 = "the 0th row is the visual right-hand side, the 0th column is
# the visual top": the stored pixels are the upright picture turned 90 degrees
# counter-clockwise, and a viewer must turn them 90 degrees clockwise.
EXIF_ORIENTATION = 6

# (package, file name in that package's data folder, output name, action)
#   action "copy": byte-for-byte copy; "jpeg": decode and re-encode as JPEG q92.
PHOTOS = [
    ("skimage", "astronaut.png", "astronaut.jpg", "jpeg"),
    ("skimage", "camera.png", "camera.png", "copy"),
    ("skimage", "chelsea.png", "chelsea.png", "copy"),
    ("skimage", "coffee.png", "coffee.jpg", "jpeg"),
    ("skimage", "motorcycle_left.png", "motorcycle_left.jpg", "jpeg"),
    ("skimage", "clock_motion.png", "clock_motion.png", "copy"),
    ("skimage", "rocket.jpg", "rocket.jpg", "copy"),
    ("skimage", "retina.jpg", "retina.jpg", "copy"),
    ("matplotlib", "grace_hopper.jpg", "grace_hopper.jpg", "copy"),
]


def package_data_dir(package: str) -> Path:
    """Folder holding the offline sample images of an installed package."""
    if package == "skimage":
        import skimage.data

        return Path(skimage.data.__file__).resolve().parent
    if package == "matplotlib":
        import matplotlib

        return Path(matplotlib.get_data_path()) / "sample_data"
    raise ValueError(f"unknown package {package!r}")


def save_jpeg(img: Image.Image, dest: Path, **kwargs) -> None:
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    img.save(dest, format="JPEG", quality=JPEG_QUALITY, **kwargs)


def make_photos(out_dir: Path) -> dict[str, Path]:
    photos_dir = out_dir / "photos"
    photos_dir.mkdir(parents=True, exist_ok=True)
    sources: dict[str, Path] = {}
    for package, name, out_name, action in PHOTOS:
        src = package_data_dir(package) / name
        if not src.is_file():
            sys.exit(f"missing {src}: is {package} installed with its data files?")
        dest = photos_dir / out_name
        if action == "copy":
            shutil.copyfile(src, dest)
        elif action == "jpeg":
            with Image.open(src) as img:
                img.load()
                save_jpeg(img, dest)
        else:
            raise ValueError(action)
        sources[out_name] = src
        with Image.open(dest) as chk:
            size = chk.size
        print(
            f"{dest.relative_to(out_dir)}  {size[0]}x{size[1]}  "
            f"{dest.stat().st_size} bytes  <- {package}: {src.name} ({action})"
        )
    return sources


def make_exif_rotated(out_dir: Path) -> float:
    """Write exif_rotated_astronaut.jpg and return its mean abs difference
    (after exif_transpose) from the lossless original."""
    src = package_data_dir("skimage") / "astronaut.png"
    dest = out_dir / "exif_rotated_astronaut.jpg"
    with Image.open(src) as img:
        upright = img.convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # 90 deg counter-clockwise
    exif = Image.Exif()
    exif[EXIF_ORIENTATION_TAG] = EXIF_ORIENTATION
    save_jpeg(stored, dest, exif=exif.tobytes())

    with Image.open(dest) as back:
        assert back.getexif().get(EXIF_ORIENTATION_TAG) == EXIF_ORIENTATION
        raw_size = back.size
        restored = ImageOps.exif_transpose(back).convert("RGB")
    if restored.size != upright.size:
        sys.exit(f"exif_transpose gave {restored.size}, expected {upright.size}")
    mad = float(np.abs(np.asarray(restored, np.int16) - np.asarray(upright, np.int16)).mean())
    # A wrong rotation (e.g. Orientation=8 with these pixels) gives a MAD of ~60.
    if mad > 5.0:
        sys.exit(f"exif_rotated_astronaut.jpg does not match the original (MAD {mad:.2f})")
    print(
        f"{dest.relative_to(out_dir)}  stored {raw_size[0]}x{raw_size[1]}, "
        f"Orientation={EXIF_ORIENTATION}, upright {restored.size[0]}x{restored.size[1]}  "
        f"{dest.stat().st_size} bytes; mean |upright - original| = {mad:.3f}"
    )
    return mad


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=repo / "tests" / "data", help="output folder (default: tests/data of this repo)"
    )
    args = ap.parse_args(argv)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    make_photos(out_dir)
    make_exif_rotated(out_dir)
    total = sum(p.stat().st_size for p in (out_dir / "photos").iterdir() if p.is_file())
    total += (out_dir / "exif_rotated_astronaut.jpg").stat().st_size
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
