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


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018): warm up from max_lr / div_factor to ``max_lr``, then
    anneal to max_lr / (div_factor * final_div_factor), over ``total_steps`` (or epochs * steps_per_epoch).

    The warm-up takes the first ``pct_start`` of the steps; ``anneal_strategy`` "cos" or "linear".
    With ``cycle_momentum`` the momentum (SGD's, or Adam's beta1) moves the other way, between
    max_momentum and base_momentum. ``three_phase`` comes back down to the starting rate before
    the final anneal. Call ``step()`` after every batch; stepping past total_steps is an error.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if total_steps < 1 or not 0 <= pct_start <= 1 or anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: expected total_steps >= 1, pct_start in [0, 1] and anneal_strategy "
                             f"'cos' or 'linear', got {total_steps}, {pct_start}, {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy, self.cycle_momentum = total_steps, anneal_strategy, cycle_momentum
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        up = float(pct_start * total_steps) - 1
        # (last step of the phase, rate and momentum at its start, at its end)
        if three_phase:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (2 * up, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                           (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        for group, top in zip(groups, max_lrs):
            if last_epoch == -1:
                group.update(initial_lr=top / div_factor, max_lr=top, min_lr=top / div_factor / final_div_factor)
            if cycle_momentum:
                if "momentum" not in group and "betas" not in group:
                    raise ValueError("OneCycleLR: cycle_momentum needs an optimiser with momentum or betas; "
                                     "pass cycle_momentum=False")
                group.update(max_momentum=max_momentum, base_momentum=base_momentum)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def step(self):
        """t += 1; every group's lr (and momentum) from the phase that step t falls in."""
        self.last_epoch += 1
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {t} times; the schedule has total_steps={self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for k, (end, lr0, lr1, m0, m1) in enumerate(self.phases):
                if t <= end or k == len(self.phases) - 1:
                    pct = (t - start) / (end - start) if end != start else 1.0
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[m0], group[m1], pct)
                        if "betas" in group:
                            group["betas"] = (momentum, *group["betas"][1:])
                        else:
                            group["momentum"] = momentum
                    break
                start = end
        self._set_lrs(lrs)


class ReduceLROnPlateau:
    """Multiply each group's lr by ``factor`` once a metric stops improving for ``patience`` epochs.

    ``sched.step(val_loss)`` after each evaluation. "Improving" means below best * (1 - threshold)
    for mode "min" ("rel"; best - threshold with threshold_mode "abs"), above for mode "max".
    After a cut, ``cooldown`` epochs pass before counting again; no rate goes below ``min_lr``.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if factor >= 1.0 or mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: expected factor < 1, mode 'min' or 'max' and threshold_mode "
                             f"'rel' or 'abs', got {factor}, {mode!r}, {threshold_mode!r}")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience, self.threshold = mode, factor, patience, threshold
        self.threshold_mode, self.cooldown, self.eps = threshold_mode, cooldown, eps
        groups = optimizer.param_groups
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * len(groups)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in groups]

    def is_better(self, value, best):
        """Whether ``value`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            return value < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return value > (best * (1.0 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metrics):
        """Record this epoch's metric (a number or a one-element tensor); cut the rates if it has plateaued."""
        value = float(metrics)
        self.last_epoch += 1
        if self.is_better(value, self.best):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, floor)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The rates after the last ``step``, one per param group."""
        return self._last_lr

    def state_dict(self):
        """Every counter and setting (not the optimiser)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` saved."""
        self.__dict__.update(state_dict)
