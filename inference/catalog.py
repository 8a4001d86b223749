"""The embedded models: the one declaration of each one's file, family, origin, licence, defaults and measured figures.

The webapp serves them, MODEL_CARD.md and docs quote them (tests check the card against this table), and
tests/test_accuracy.py fails if the default model's COCO AP drops below its `coco_dev` figure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .detector import Detector
from .errors import ModelError

MODELS_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class Measured:
    """Figures measured on the 47-image COCO dev set (tests/data/coco-dev) by tools/evaluate_coco.py."""

    ap: float  # COCO AP (percent), AP50, AP75, AR100
    ap50: float
    ap75: float
    ar100: float
    ms_per_image: float  # median end to end (decode .. NMS) per dev-set image, 1 intra-op thread, same run for all
    precision: float  # at IoU 0.5 at the model's default thresholds
    recall: float


@dataclass(frozen=True)
class EmbeddedModel:
    """An ONNX model shipped in inference/models/ with its licence text and provenance."""

    name: str  # what requests and settings call it
    title: str  # for people
    file: str  # in inference/models/
    family: str
    sha256: str
    source: str
    licence: str
    licence_file: str  # in inference/models/
    coco_dev: Measured
    default_params: dict[str, float] = field(default_factory=dict)  # request parameters whose default differs

    @property
    def path(self) -> Path:
        """The .onnx file."""
        return MODELS_DIR / self.file

    def load(self, **options: Any) -> Detector:
        """A Detector of this model (options: Detector's keywords, e.g. intra_op_threads); checks the file's sha256."""
        detector = Detector(
            self.path, family=self.family, name=self.name, source=self.source, licence=self.licence, **options
        )
        if detector.info.sha256 != self.sha256:
            raise ModelError(f"the embedded {self.file} has sha256 {detector.info.sha256}, expected {self.sha256}")
        return detector

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready facts for /api/models (the loaded Detector adds input size and classes)."""
        return {
            "name": self.name,
            "title": self.title,
            "family": self.family,
            "licence": self.licence,
            "source": self.source,
            "default_params": dict(self.default_params),
            "coco_dev": asdict(self.coco_dev),
        }


EMBEDDED_MODELS: tuple[EmbeddedModel, ...] = (
    EmbeddedModel(
        name="deimv2_femto",
        title="DEIMv2-Femto 416",
        file="deimv2_hgnetv2_femto_coco.onnx",
        family="detr",
        sha256="c6ad358f750132b891165e034c2ba507abefc5ebe1c1d2732a0acbcacc47e52c",
        source="DEIMv2-Femto (Intellindust-AI-Lab/DEIMv2), ONNX export of Kazuhito00/DEIMv2-ONNX-Sample; "
        "see inference/models/MODEL_CARD.md",
        licence="Apache-2.0",
        licence_file="LICENSE-DEIMv2.txt",
        coco_dev=Measured(ap=33.2, ap50=50.0, ap75=35.0, ar100=42.8, ms_per_image=64.4, precision=0.728, recall=0.359),
        default_params={"score_th": 0.4},
    ),
    EmbeddedModel(
        name="yolox_nano",
        title="YOLOX-Nano 416",
        file="yolox_nano.onnx",
        family="yolox",
        sha256="695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
        source="YOLOX-Nano (Megvii-BaseDetection/YOLOX), ONNX export of Kazuhito00/YOLOX-ONNX-TFLite-Sample; "
        "see inference/models/MODEL_CARD.md",
        licence="Apache-2.0",
        licence_file="LICENSE-YOLOX.txt",
        coco_dev=Measured(ap=29.4, ap50=47.4, ap75=29.1, ar100=36.6, ms_per_image=39.3, precision=0.708, recall=0.346),
        default_params={"score_th": 0.3},
    ),
)
# The first is the default: the most accurate whose end-to-end time is at most 2x YOLOX-Nano's (MODEL_CARD.md).
DEFAULT_MODEL = EMBEDDED_MODELS[0].name


def embedded_model(name: str) -> EmbeddedModel:
    """The embedded model of that name; ModelError naming the choices otherwise."""
    for model in EMBEDDED_MODELS:
        if model.name == name:
            return model
    raise ModelError(f"no embedded model {name!r}; embedded: {', '.join(m.name for m in EMBEDDED_MODELS)}")
