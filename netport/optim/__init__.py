"""Optimizers netport adds to PyTorch's: :class:`LevenbergMarquardt` for small networks (MATLAB's trainlm)."""

from netport.optim.levenberg_marquardt import LevenbergMarquardt

__all__ = ["LevenbergMarquardt"]
