"""EMA: an exponential moving average of a model's parameters, the weights DDPM samples with.

    ema = EMA(model, decay=0.999)
    for batch in data:
        ...; opt.step(); ema.update()
    with ema.average_parameters():      # the model holds the averaged weights inside the block
        samples = sample(model)

Averaging the last few thousand steps' weights smooths out the noise of SGD, which matters
for diffusion models: their samples look visibly better with the EMA weights. A model with
BatchNorm needs one more step before it uses them: ``update_bn`` recomputes the running
statistics for the averaged weights.
"""

import contextlib

from ..grad_mode import no_grad
from ..nn.norm import BatchNorm1d, BatchNorm2d


class EMA:
    """``shadow = decay * shadow + (1 - decay) * param`` after each step, for every parameter.

    With ``warmup=True`` the decay used at update ``n`` is ``min(decay, (1 + n) / (10 + n))``
    (TensorFlow's ExponentialMovingAverage with ``num_updates``): early on, when the shadow
    still mostly holds the random initial weights, it follows the model quickly. Buffers
    (BatchNorm statistics) are not averaged: the model's own are used.
    """

    def __init__(self, model, decay=0.999, warmup=False):
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"EMA: expected decay in [0, 1], got {decay}")
        self.model, self.decay, self.warmup = model, decay, warmup
        self.num_updates = 0
        with no_grad():  # copies on the parameters' devices, in their dtypes, with no graph
            self.shadow = {name: p.detach().clone() for name, p in model.named_parameters()}

    def current_decay(self):
        """The decay the next ``update()`` will use."""
        if not self.warmup:
            return self.decay
        n = self.num_updates + 1
        return min(self.decay, (1.0 + n) / (10.0 + n))

    def update(self):
        """Move the shadow weights towards the model's current ones (call after optimizer.step())."""
        decay = self.current_decay()
        with no_grad():
            for name, p in self.model.named_parameters():
                self.shadow[name].mul_(decay).add_(p, alpha=1.0 - decay)
        self.num_updates += 1

    def copy_to(self, model=None):
        """Write the averaged weights into ``model`` (by default the model being tracked)."""
        model = self.model if model is None else model
        with no_grad():
            for name, p in model.named_parameters():
                p.copy_(self.shadow[name])

    @contextlib.contextmanager
    def average_parameters(self):
        """Inside the block the model holds the averaged weights; its own come back afterwards."""
        with no_grad():
            backup = {name: p.detach().clone() for name, p in self.model.named_parameters()}
        self.copy_to()
        try:
            yield self.model
        finally:
            with no_grad():
                for name, p in self.model.named_parameters():
                    p.copy_(backup[name])

    def state_dict(self):
        """decay, warmup, num_updates and the shadow weights by parameter name (tensors shared, not copied)."""
        return {"decay": self.decay, "warmup": self.warmup, "num_updates": self.num_updates,
                "shadow": dict(self.shadow)}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` saved; the shadow weights are copied in place, names must match."""
        shadow = state_dict["shadow"]
        if set(shadow) != set(self.shadow):
            raise ValueError(
                f"EMA.load_state_dict: the saved averages are for {sorted(shadow)}, "
                f"the model has {sorted(self.shadow)}"
            )
        self.decay, self.warmup = state_dict["decay"], state_dict["warmup"]
        self.num_updates = state_dict["num_updates"]
        with no_grad():
            for name, t in self.shadow.items():
                t.copy_(shadow[name])


def update_bn(batches, model):
    """Recompute every BatchNorm's running statistics for the model's current weights (PyTorch's
    ``torch.optim.swa_utils.update_bn``): reset them, then run each input of ``batches`` through the
    model in training mode with no graph, every batch weighted alike (a cumulative average).

    Averaged weights need it: the running statistics were gathered for the weights as they moved
    during training, and the average's activations have means and variances of their own.
    The model's mode and the layers' momenta are left as they were.
    """
    norms = [m for m in model.modules() if isinstance(m, (BatchNorm1d, BatchNorm2d)) and m.track_running_stats]
    was_training, momenta = model.training, [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # None: the k-th batch gets weight 1/k, so all count alike
    model.train()
    with no_grad():
        for x in batches:
            model(x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(was_training)
