"""Neural-network building blocks. ``tinygen.nn.functional`` holds the functional forms."""

from . import functional
