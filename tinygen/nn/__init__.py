"""Neural-network building blocks. ``tinygen.nn.functional`` holds the functional forms."""

from . import functional, parallel, utils
from .module import Module, ModuleDict, ModuleList, Parameter, ParameterDict, ParameterList, Sequential
from . import init
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Softplus, Tanh
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .embedding import Embedding
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .pooling import AvgPool2d, MaxPool2d, Upsample
from .parallel import DataParallel
