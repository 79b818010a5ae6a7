"""Neural-network building blocks. ``tinygen.nn.functional`` holds the functional forms."""

from . import functional, utils
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
from . import init
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Softplus, Tanh
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .embedding import Embedding
from .linear import Flatten, Identity, Linear, Unflatten
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .pooling import AvgPool2d, MaxPool2d, Upsample
