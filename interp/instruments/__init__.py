"""Measuring instruments: nets trained on the embedded worlds' own ground truth that turn generated
images into numbers (class maps, window boxes, face attributes, Fréchet distances).

    from interp.instruments import get_instrument, segment, window_boxes, predict_attributes, fd_with_floor
    seg = get_instrument("room_segmenter")         # trained once, then loaded from the cache
    maps = segment(seg, fake)                       # fake: float (N, 3, 64, 64) in [-1, 1] -> uint8 (N, 64, 64)
    att = get_instrument("face_attributes")
    predict_attributes(att, fake)["smiling"]        # (N,) probabilities
    fd_with_floor(seg, real_a, real_b, fake)        # {"fd": ..., "fd_floor": ...}

CLI: ``python -m interp.instruments {train,evaluate} [--only NAME] [--quick] [--cache-dir DIR]``.
"""

from interp.instruments.degrade import degrade
from interp.instruments.face_attributes import (
    FACE_ATTRIBUTES,
    FaceAttributeNet,
    evaluate_attributes,
    predict_attributes,
    train_attribute_classifier,
)
from interp.instruments.frechet import (
    extract_features,
    fd_between,
    fd_with_floor,
    frechet_distance,
    nearest_neighbour_distances,
    sample_diversity,
)
from interp.instruments.registry import NAMES, evaluate_instrument, get_instrument, instrument_config, stored_metrics
from interp.instruments.segmenter import (
    RoomSegmenter,
    class_fractions,
    evaluate_segmenter,
    segment,
    train_segmenter,
    window_boxes,
)

__all__ = [
    "FACE_ATTRIBUTES", "FaceAttributeNet", "NAMES", "RoomSegmenter", "class_fractions", "degrade",
    "evaluate_attributes", "evaluate_instrument", "evaluate_segmenter", "extract_features", "fd_between",
    "fd_with_floor", "frechet_distance", "get_instrument", "instrument_config", "nearest_neighbour_distances",
    "predict_attributes", "sample_diversity", "segment",
    "stored_metrics", "train_attribute_classifier", "train_segmenter", "window_boxes",
]
