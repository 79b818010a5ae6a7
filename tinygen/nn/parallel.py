"""PyTorch's ``torch.nn.parallel`` names, for scripts that touch them: tinygen runs on one device.

``DataParallel(model)`` splits each batch over several GPUs in PyTorch; here it is a thin
wrapper that runs ``model`` as it is, and keeps PyTorch's one visible effect: its state_dict
keys start with ``module.`` (so a checkpoint saved from either loads into the other's twin).
``DistributedDataParallel`` needs several processes, which tinygen does not offer.
"""

from .module import Module


class DataParallel(Module):
    """Runs the wrapped ``module`` on the one device tinygen uses; ``device_ids`` etc. are accepted and ignored.

    Any input -> ``module``'s output; its parameters appear as ``module.<name>``, as in PyTorch.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        """The wrapped module's forward, unchanged."""
        return self.module(*args, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """``module(inputs)`` on the one device tinygen uses (PyTorch would scatter it over ``device_ids``)."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))


class DistributedDataParallel(Module):
    """Not offered: tinygen trains in one process; use the model itself (or DataParallel, a no-op here)."""

    def __init__(self, module, *args, **kwargs):
        raise NotImplementedError("DistributedDataParallel is not offered in tinygen, which trains in one process "
                                  "on one device; train the module itself")
