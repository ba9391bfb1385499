"""bench/oneclass_seeds.py with one change to the demo simulation: every camera draws its JPEG quality
and chroma subsampling per image from one shared range, so JPEG traces no longer tell the cameras apart.

    python experiments/2026-12-05_demo_shared_jpeg/shared_jpeg.py --seeds 0 --config config.yaml \
        experiments/2026-12-05_demo_shared_jpeg/threads1.yaml --work results-bench/shared_jpeg

Arguments are those of bench/oneclass_seeds.py. The demo build must run in this process for the change
to apply: threads1.yaml sets `threads: 1` (one build worker, no process pool).
"""

import hashlib
import io
import sys
from pathlib import Path

from PIL import Image

import sdaie.demo.build as build
from sdaie.demo.standins import FINISH_QUALITIES  # the cameras' libjpeg quality range (75-95)


def shared_jpeg(camera, rgb, quality):
    """Baseline JPEG at a quality and subsampling fixed by the pixels (deterministic), whatever the camera."""
    pick = int.from_bytes(hashlib.blake2b(rgb.tobytes(), digest_size=8).digest(), "little")
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "JPEG", quality=FINISH_QUALITIES[pick % len(FINISH_QUALITIES)],
                                     subsampling=(pick // len(FINISH_QUALITIES)) % 3, optimize=False)
    return buf.getvalue()


if __name__ == "__main__":
    build.encode_jpeg = shared_jpeg
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import oneclass_seeds

    oneclass_seeds.main()
