"""Chainer npz <-> PyTorch state_dict conversion (``netport convert-weights``)."""

from netport.weights.convert import (
    WeightConversionError,
    chainer_to_torch,
    check_against,
    strip_snapshot_prefix,
    torch_to_chainer,
)
from netport.weights.files import convert_file, detect_format, infer_target

__all__ = ["WeightConversionError", "chainer_to_torch", "check_against", "convert_file", "detect_format",
           "infer_target", "strip_snapshot_prefix", "torch_to_chainer"]
