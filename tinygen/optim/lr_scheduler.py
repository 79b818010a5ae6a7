"""Learning-rate schedules: set each param group's ``lr`` from the number of steps taken.

    sched = CosineAnnealingLR(opt, T_max=1000)
    for step in range(1000):
        ...; opt.step(); sched.step()

Every schedule here is a closed form ``lr = f(base_lr, t)`` of the step count ``t``
(PyTorch's ``last_epoch``), so its whole state is ``t`` and a resumed run gets exactly the
same rates. Build one schedule out of phases (linear warm-up, then cosine) with SequentialLR.
Schedules do not chain: two schedules on one optimiser overwrite each other's ``lr``.
"""

import bisect
import math


class LRScheduler:
    """Base class: subclasses write ``lr_at(base_lr, t)``, the rate at step t as a closed form.

    Building a schedule records each group's starting rate (``initial_lr``) and sets the rate
    for step 0; each ``step()`` after ``optimizer.step()`` moves to the next step's rate.
    """

    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            # the first schedule on an optimiser records where the rates started
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()  # t = last_epoch + 1: the rate for the first optimiser step

    def lr_at(self, base_lr, t):
        """The learning rate at step t for a group whose rate started at ``base_lr`` (a float)."""
        raise NotImplementedError(f"{type(self).__name__}.lr_at")

    def step(self):
        """t += 1, then set every group's ``lr`` to lr_at(base_lr, t); call after optimizer.step()."""
        self.last_epoch += 1
        self._set_lrs([self.lr_at(base, self.last_epoch) for base in self.base_lrs])

    def _set_lrs(self, lrs):
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self):
        """The rates the last ``step()`` set, one per param group."""
        return self._last_lr

    def state_dict(self):
        """The step count, starting rates and last rates: all a closed-form schedule needs to resume."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs), "last_lr": list(self._last_lr)}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` saved; the groups' current ``lr`` comes back with the optimiser's state."""
        self.last_epoch = state_dict["last_epoch"]
        self.base_lrs = list(state_dict["base_lrs"])
        self._last_lr = list(state_dict["last_lr"])


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(t), for any function of the step."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * self.lr_lambda(t)


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (t // step_size): multiply by gamma every step_size steps."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if step_size < 1:
            raise ValueError(f"StepLR: expected step_size >= 1, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ** (number of milestones <= t)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** t."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma**t


class LinearLR(LRScheduler):
    """Scale base_lr linearly from start_factor to end_factor over total_iters steps, then hold.

    The usual linear warm-up is ``LinearLR(opt, start_factor=1e-3, total_iters=warmup_steps)``.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not (0 < start_factor <= 1 and 0 <= end_factor <= 1):
            raise ValueError(f"LinearLR: expected factors in (0, 1] and [0, 1], got {start_factor} and {end_factor}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        progress = min(t, self.total_iters) / self.total_iters if self.total_iters > 0 else 1.0
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2: half a cosine to eta_min."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: expected T_max >= 1, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + math.cos(math.pi * t / self.T_max)) / 2.0


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until step ``milestones[0]``, then ``schedulers[1]`` from its own step 0, ...

    Linear warm-up then cosine decay:
        SequentialLR(opt, [LinearLR(opt, 0.01, total_iters=100), CosineAnnealingLR(opt, T_max=900)],
                     milestones=[100])
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expected {len(schedulers) - 1} milestones for {len(schedulers)} schedulers, "
                f"got {len(milestones)}"
            )
        if any(s.optimizer is not optimizer for s in schedulers):
            raise ValueError("SequentialLR: every scheduler must drive the optimizer given to SequentialLR")
        self.schedulers, self.milestones = list(schedulers), list(milestones)
        super().__init__(optimizer, last_epoch)

    def step(self):
        """t += 1; the scheduler of t's phase sets the rates at its own step count (t minus the phase's start)."""
        self.last_epoch += 1
        phase = bisect.bisect_right(self.milestones, self.last_epoch)
        t = self.last_epoch - (self.milestones[phase - 1] if phase > 0 else 0)
        inner = self.schedulers[phase]
        inner.last_epoch = t
        inner._set_lrs([inner.lr_at(base, t) for base in inner.base_lrs])
        self._last_lr = list(inner.get_last_lr())

    def state_dict(self):
        """Its own step count and rates, plus each phase scheduler's state."""
        return {**super().state_dict(), "schedulers": [s.state_dict() for s in self.schedulers]}

    def load_state_dict(self, state_dict):
        """Restore its own state and each phase scheduler's."""
        super().load_state_dict(state_dict)
        for s, saved in zip(self.schedulers, state_dict["schedulers"]):
            s.load_state_dict(saved)
