"""detect_anomaly: the first NaN/Inf names its op and the line of user code that made it."""

import inspect

import numpy as np
import pytest

import tinygen as tg
from tinygen.autograd import Function


def here(offset=0):
    """'this_file:line' of the caller's line plus ``offset``."""
    frame = inspect.currentframe().f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno + offset}"


def test_log_of_a_negative_value_names_log_and_the_line():
    x = tg.tensor([1.0, -1.0], requires_grad=True)
    with tg.detect_anomaly():
        where = here(offset=2)
        with pytest.raises(tg.AnomalyError) as info:
            x.log()
    message = str(info.value)
    assert message.startswith("Log produced nan in its forward output (shape (2,))")
    assert where in message


def test_log_of_zero_is_inf():
    with tg.detect_anomaly():
        with pytest.raises(tg.AnomalyError, match=r"Log produced inf .*test_anomaly\.py:\d+"):
            tg.tensor([0.0, 2.0]).log()


def test_finite_values_pass_and_the_mode_ends_with_the_block():
    x = tg.tensor([1.0, 4.0], requires_grad=True)
    with tg.detect_anomaly():
        assert tg.anomaly.is_enabled()
        x.sqrt().log().sum().backward()
    assert not tg.anomaly.is_enabled()
    np.testing.assert_allclose(x.grad.numpy(), 1 / (2 * np.array([1.0, 4.0])))  # d log sqrt x = 1/(2x)


def test_inf_appearing_only_in_backward_names_the_op():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with tg.detect_anomaly():
        created = here(offset=1)
        y = x.sqrt()  # forward: sqrt(0) = 0, finite
        loss = y.sum()
        with pytest.raises(tg.AnomalyError) as info:
            loss.backward()  # backward: 1 / (2 sqrt(0)) = inf
    message = str(info.value)
    assert message.startswith("Sqrt backward produced a non-finite gradient")
    assert created in message and "inf" in message


def test_backward_anomaly_when_the_forward_ran_outside_the_block():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    loss = x.sqrt().sum()
    with tg.detect_anomaly():
        with pytest.raises(tg.AnomalyError, match="Sqrt backward.*before detect_anomaly"):
            loss.backward()


class NanGradient(Function):
    """Identity forward; a backward that hands back NaN directly (no op inside to blame)."""

    uses_inputs = False

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return tg.Tensor.wrap(g.array * float("nan"))


def test_nan_returned_by_a_backward_is_caught():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.detect_anomaly():
        created = here(offset=1)
        y = NanGradient.apply(x)
        with pytest.raises(tg.AnomalyError) as info:
            y.sum().backward()
    message = str(info.value)
    assert message.startswith("NanGradient produced nan in its backward (gradient of an input)")
    assert created in message


def test_without_detect_anomaly_nan_passes_silently():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    NanGradient.apply(x).sum().backward()
    assert np.isnan(x.grad.numpy()).all()
