"""Optimisers, learning-rate schedules and an exponential moving average of the weights.

    opt = tg.optim.AdamW(model.parameters(), lr=1e-3)
    sched = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=1000)
    loss.backward(); opt.step(); opt.zero_grad(); sched.step()
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .adaptive import Adadelta, Adagrad, RMSprop
from .ema import EMA, update_bn
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "EMA", "Optimizer", "RMSprop", "SGD", "lr_scheduler", "update_bn"]
