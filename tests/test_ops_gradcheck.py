"""First- and second-order gradient checks of every registered op, plus the checker itself.

The cases come from tests/op_registry.py: shapes, parameters, well-conditioned float64 inputs,
each contiguous or a non-contiguous view. gradcheck compares backward with central finite
differences; gradgradcheck does the same for the gradient built with create_graph=True.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from op_registry import OPS, draw_inputs
from strategies import make_tensor
from tinygen.autograd import Function


def tensors_for(data, op):
    values, chosen, params = draw_inputs(data, op)
    tensors = [make_tensor(v, layout) for v, layout in zip(values, chosen)]
    return tensors, (lambda *ts: op.fn(*ts, **params))


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_gradcheck(op, data):
    tensors, fn = tensors_for(data, op)
    assert tg.gradcheck(fn, tensors, what=op.name)


# Second order checks (inputs + upstream gradients) x 2 evaluations of a backward each: fewer examples.
@pytest.mark.parametrize("op", [op for op in OPS if op.second_order], ids=lambda op: op.name)
@settings(max_examples=max(1, settings().max_examples // 3))
@given(data=st.data())
def test_gradgradcheck(op, data):
    tensors, fn = tensors_for(data, op)
    fn.__name__ = op.name
    assert tg.gradgradcheck(fn, tensors)


# ---------------------------------------------------------------- cases worth naming
MATMUL_SHAPES = [
    ((3,), (3,)),  # dot product -> 0-d
    ((3,), (3, 2)),  # row vector
    ((2, 3), (3,)),  # column vector
    ((2, 3), (3, 2)),
    ((2, 2, 3), (3, 2)),  # (B, m, k) @ (k, n): b's gradient sums over the batch
    ((2, 3), (2, 3, 2)),
    ((2, 1, 2, 3), (3, 3, 1)),  # both batches broadcast
    ((2, 2, 3), (3,)),
]


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES)
def test_matmul_batch_broadcasting(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a = make_tensor(rng.standard_normal(shape_a))
    b = make_tensor(rng.standard_normal(shape_b))
    out = a @ b
    np.testing.assert_allclose(out.array, np.matmul(a.array, b.array), rtol=1e-12)
    assert tg.gradcheck(tg.matmul, (a, b))
    assert tg.gradgradcheck(tg.matmul, (a, b))


def test_repeated_integer_index_gradients_add():
    x = make_tensor(np.arange(4.0))
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.array, [3.0, 0.0, 1.0, 0.0])

    y = make_tensor(np.zeros((2, 3)))
    (y[[1, 1, 0], [2, 2, 0]] * tg.tensor([1.0, 10.0, 100.0], dtype=tg.float64, device=y.device)).sum().backward()
    np.testing.assert_array_equal(y.grad.array, [[100.0, 0.0, 0.0], [0.0, 0.0, 11.0]])


def test_boolean_mask_gradient_lands_on_selected():
    x = make_tensor(np.array([[1.0, -2.0], [-3.0, 4.0]]))
    (x[x > 0] * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [[2.0, 0.0], [0.0, 2.0]])


def test_max_dim_gradient_goes_to_the_winner_only():
    x = make_tensor(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]))
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(indices.array, [1, 0])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.array, [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


# ---------------------------------------------------------------- gradcheck catches a wrong backward
class WrongSquare(Function):
    """x^2 with the derivative 3x instead of 2x."""

    def forward(self, x):
        return x * x

    def backward(self, g):
        return g * self.inputs[0] * 3.0


class WrongSecondInput(Function):
    """a * b whose gradient for b is 2a instead of a: input 0 is right, input 1 wrong."""

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        return g * b, g * a * 2.0


REPORT = re.compile(
    r"input (?P<input>\d+) .*wrong at index \((?P<index>[\d, ]*)\): "
    r"analytic (?P<analytic>\S+), numeric (?P<numeric>\S+),"
)


def parse_report(message):
    match = REPORT.search(message)
    assert match, f"the report does not name input, index and values: {message}"
    index = tuple(int(k) for k in match["index"].split(",") if k.strip())
    return int(match["input"]), index, float(match["analytic"]), float(match["numeric"])


def test_gradcheck_reports_a_wrong_derivative():
    # one element much larger than the rest, so the worst disagreement must be there
    x = make_tensor(np.array([[0.1, -0.2], [5.0, 0.3]]))
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(WrongSquare.apply, x)
    input_index, index, analytic, numeric = parse_report(str(info.value))
    assert input_index == 0
    assert index == (1, 0)
    assert analytic == pytest.approx(1.5 * numeric, rel=1e-4)  # 3x v against 2x v
    assert numeric != 0.0


def test_gradcheck_names_the_wrong_input():
    a = make_tensor(np.array([1.0, 2.0, 3.0]))
    b = make_tensor(np.array([0.5, -1.0, 2.0]))
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(WrongSecondInput.apply, (a, b))
    input_index, index, analytic, numeric = parse_report(str(info.value))
    assert input_index == 1
    assert len(index) == 1 and 0 <= index[0] < 3
    assert analytic == pytest.approx(2.0 * numeric, rel=1e-4)
    assert tg.gradcheck(WrongSecondInput.apply, (a, b.detach())), "input 0 alone is right"


def test_gradcheck_returns_false_when_asked_not_to_raise():
    x = make_tensor(np.array([1.0, 2.0]))
    assert tg.gradcheck(WrongSquare.apply, x, raise_exception=False) is False


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class FirstOrderOnly(Function):
        """x^3 whose backward is right in value (3x^2) but built from a constant: d/dx of it is 0."""

        def forward(self, x):
            return x**3

        def backward(self, g):
            x = self.inputs[0]
            return g * tg.Tensor.wrap(3.0 * x.array**2)

    x = make_tensor(np.array([0.5, -1.5]))
    assert tg.gradcheck(FirstOrderOnly.apply, x)
    with pytest.raises(tg.GradcheckError):
        tg.gradgradcheck(FirstOrderOnly.apply, x)


def test_gradcheck_through_a_shared_intermediate():
    """An op output used twice (a diamond below the leaf): both paths must be complete first.

    The second-order graphs of softmax/log_softmax have this shape; a topological order that
    runs a node's backward before all its consumers have reported loses one path.
    """
    x = make_tensor(np.array([0.3, -1.2, 2.0]))

    def centred_twice(t):
        a = t * 2.0
        return a - a.sum(0, keepdim=True)

    assert tg.gradcheck(centred_twice, x)


def test_pow_with_a_constant_tensor_exponent_allows_negative_bases():
    """Only the base needs a gradient, so log(base) (NaN here) must never be computed."""
    x = make_tensor(np.array([-2.0, 0.0, 3.0]))
    (x ** tg.tensor(2.0, dtype=tg.float64, device=x.device)).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [-4.0, 0.0, 6.0])
