"""``torch.backends.mps``: Apple's GPU backend, which tinygen does not offer (it runs on NumPy or CuPy)."""


def is_available():
    """False: tinygen runs on 'cpu' or 'cuda' only."""
    return False


def is_built():
    """False: tinygen has no MPS backend."""
    return False
