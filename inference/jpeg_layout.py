"""What a JPEG's marker segments say about the cost of decoding it, read by walking the segments as libjpeg does:
the number of scans, and whether the whole image's DCT coefficients are held at once (progressive or multi-scan)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Start-of-frame markers (C4 is DHT, C8 JPG, CC DAC); the progressive ones keep every coefficient until the end.
_START_OF_FRAME = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}
_START_OF_SCAN, _END_OF_IMAGE = 0xDA, 0xD9
_COEFFICIENT_BYTES = 2  # libjpeg's JCOEF
# The next marker that starts a segment: 0xFF then a code that is neither a stuffed 0x00 nor standalone; of a run of
# fill bytes (FF FF .. FF code) only the last FF matches. One regular-expression search per segment: megabytes of
# stuffed bytes in a scan cost no Python loop. The pattern starts with one literal byte, so the search jumps from
# FF to FF (a 70 KB photo: 0.08 ms; "\xff+" has no literal prefix and tried every byte: 0.9 ms).
_NEXT_SEGMENT = re.compile(rb"\xff([^\x00\x01\xd0-\xd8\xff])")


@dataclass(frozen=True)
class JpegLayout:
    """The first image of a JPEG file (an MPO's others are not decoded)."""

    scans: int
    progressive: bool
    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]  # (horizontal, vertical) factors of each component

    @property
    def coefficient_bytes(self) -> int:
        """Bytes of the whole-image coefficient buffer libjpeg keeps for a progressive or multi-scan JPEG (its
        size does not shrink with a reduced-scale decode), else 0: a single-scan JPEG is decoded row by row."""
        if not (self.progressive or self.scans > 1) or not self.sampling:
            return 0
        max_h = max(h for h, _ in self.sampling)
        max_v = max(v for _, v in self.sampling)
        mcu_cols, mcu_rows = math.ceil(self.width / (8 * max_h)), math.ceil(self.height / (8 * max_v))
        blocks = sum(mcu_cols * h * mcu_rows * v for h, v in self.sampling)
        return blocks * 64 * _COEFFICIENT_BYTES


def jpeg_layout(data: bytes) -> JpegLayout:
    """Walk the segments of the first image: a segment's length is skipped whole (so bytes inside an ICC profile
    or a thumbnail are never taken for markers), entropy-coded data is skipped to the next marker that is not a
    stuffed 0xFF00 or a restart, and stray bytes between segments are skipped as libjpeg skips them."""
    scans, progressive, width, height, sampling = 0, False, 0, 0, ()
    pos, end = 2, len(data)
    while found_marker := _NEXT_SEGMENT.search(data, pos):  # stuffed bytes and restarts inside a scan are passed
        marker, pos = found_marker.group(1)[0], found_marker.end()
        if marker == _END_OF_IMAGE or pos + 2 > end:
            break
        length = int.from_bytes(data[pos : pos + 2], "big")
        body = data[pos + 2 : pos + length]
        if marker in _START_OF_FRAME and len(body) >= 6 and not sampling:
            height, width, count = int.from_bytes(body[1:3], "big"), int.from_bytes(body[3:5], "big"), body[5]
            found = body[6 : 6 + 3 * count]
            whole = range(0, len(found) - 2, 3)  # complete component entries only: a damaged frame may end early
            sampling = tuple((max(1, found[i + 1] >> 4), max(1, found[i + 1] & 15)) for i in whole)
            progressive = marker in _PROGRESSIVE
        elif marker == _START_OF_SCAN:
            scans += 1
        pos += max(length, 2)
    return JpegLayout(scans, progressive, width, height, sampling)
