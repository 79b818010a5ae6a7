"""gradcheck / gradgradcheck: they catch wrong gradients and say exactly where."""

import re

import numpy as np
import pytest

import tinygen as tg
from tinygen.autograd import Function


class SquareForgetsTheTwo(Function):
    """x^2 with the classic slip: backward returns g x instead of 2 g x."""

    def forward(self, x):
        return x * x

    def backward(self, g):
        return g * self.inputs[0]


class SquareWithConstantSlope(Function):
    """x^2 whose backward is right, but its slope 2x is a constant: no second derivative."""

    def forward(self, x):
        return x * x

    def backward(self, g):
        return g * tg.Tensor.wrap(2.0 * self.inputs[0].array)


class Square(Function):
    def forward(self, x):
        return x * x

    def backward(self, g):  # d(x^2)/dx = 2x, with Tensor ops so it has a derivative too
        return g * self.inputs[0] * 2.0


class ScaleSecondWrongly(Function):
    """a * b whose gradient for b is 3x too large; a's is right."""

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        return g * b, g * a * 3.0


def x64(values):
    return tg.tensor(values, dtype=tg.float64, requires_grad=True)


def test_report_names_input_worst_index_values_and_tolerance():
    xv = np.array([0.5, -2.0, 1.5])
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(SquareForgetsTheTwo.apply, x64(xv))
    message = str(info.value)

    # gradcheck projects the output on v ~ N(0, 1) from a fixed seed (0): s = sum(x^2 v)
    v = np.random.default_rng(0).standard_normal(3)
    analytic, numeric = xv * v, 2 * xv * v
    tolerance = 1e-5 + 1e-3 * np.abs(numeric)
    worst = int(np.argmax(np.abs(analytic - numeric) - tolerance))
    assert "for SquareForgetsTheTwo:" in message
    assert "input 0" in message and "shape (3,)" in message
    assert f"index ({worst},)" in message
    assert f"analytic {analytic[worst]:.6g}" in message
    assert f"numeric {numeric[worst]:.6g}" in message
    assert re.search(r"tolerance [0-9.e-]+ \(atol 1e-05 \+ rtol 0.001 \* \|numeric\|\)", message)
    assert "3 of 3 elements differ" in message


def test_report_points_at_the_wrong_input():
    with pytest.raises(tg.GradcheckError, match=r"input 1 \(shape \(2, 2\)\)"):
        tg.gradcheck(ScaleSecondWrongly.apply, (x64([[1.0, 2.0], [3.0, 4.0]]), x64([[0.5, 1.0], [-1.0, 2.0]])))
    # the index of a 2-d input has both coordinates
    with pytest.raises(tg.GradcheckError, match=r"index \(\d, \d\)"):
        tg.gradcheck(ScaleSecondWrongly.apply, (x64([[1.0, 2.0], [3.0, 4.0]]), x64([[0.5, 1.0], [-1.0, 2.0]])))


def test_right_gradients_pass_and_wrong_ones_return_false_on_request():
    assert tg.gradcheck(Square.apply, x64([0.5, -2.0, 1.5])) is True
    assert tg.gradcheck(SquareForgetsTheTwo.apply, x64([0.5, -2.0]), raise_exception=False) is False


def test_gradcheck_refuses_float32():
    with pytest.raises(ValueError, match="input 0 .*float32.*float64"):
        tg.gradcheck(Square.apply, tg.tensor([1.0, 2.0], requires_grad=True))


def test_gradcheck_needs_something_to_check():
    with pytest.raises(ValueError, match="requires_grad=True"):
        tg.gradcheck(Square.apply, tg.tensor([1.0], dtype=tg.float64))


def test_missing_gradient_is_reported():
    def ignores_x(x, y):
        return x.detach() * y

    with pytest.raises(tg.GradcheckError, match="input 0.*no gradient"):
        tg.gradcheck(ignores_x, (x64([1.0, 2.0]), x64([3.0, 4.0])))


def test_gradgradcheck_catches_a_constant_slope():
    x = x64([0.5, -2.0, 1.5])
    assert tg.gradcheck(SquareWithConstantSlope.apply, x)  # first order is right ...
    with pytest.raises(tg.GradcheckError, match="gradient of SquareWithConstantSlope .*second-order.*input 0"):  # ... second is not
        tg.gradgradcheck(SquareWithConstantSlope.apply, x)


def test_gradgradcheck_passes_a_right_second_derivative():
    assert tg.gradgradcheck(Square.apply, x64([0.5, -2.0, 1.5])) is True
    assert tg.gradgradcheck(lambda a, b: (a * b).tanh(), (x64([0.3, -0.7]), x64([1.1, 0.4])))
