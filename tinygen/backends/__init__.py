"""PyTorch's ``torch.backends`` switches, accepted so that scripts setting them run unchanged.

Not to be confused with ``tinygen/backend.py`` (singular), tinygen's one seam to NumPy and
CuPy. tinygen has no cuDNN and no Apple GPU (MPS): ``cudnn.benchmark = True`` and friends are
stored and change nothing; ``mps.is_available()`` is False.
"""

from . import cudnn, mps

__all__ = ["cudnn", "mps"]
