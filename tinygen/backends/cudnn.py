"""``torch.backends.cudnn``: tinygen does not use cuDNN, so these flags are stored and have no effect.

``import tinygen.backends.cudnn as cudnn; cudnn.benchmark = True`` runs, and changes nothing.
"""

benchmark = False
deterministic = False
enabled = True
allow_tf32 = True


def is_available():
    """False: tinygen's convolutions are its own (im2col and one matrix product), not cuDNN's."""
    return False


def version():
    """None: no cuDNN is used."""
    return None
