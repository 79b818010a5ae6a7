"""Every registered op's forward against its NumPy reference, and float32 kept float32.

The cases come from tests/op_registry.py; each input arrives contiguous, transposed or
strided (a non-contiguous view), as drawn.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from op_registry import OPS, draw_inputs
from strategies import LAYOUTS, arrays, is_contiguous, make_tensor, shapes


def as_tuple(x):
    return tuple(x) if isinstance(x, tuple) else (x,)


def check_matches(op, outputs, expected, rtol, atol):
    outputs, expected = as_tuple(outputs), as_tuple(expected)
    assert len(outputs) == len(expected), f"{op.name}: {len(outputs)} outputs, expected {len(expected)}"
    for out, want in zip(outputs, expected):
        got = tg.backend.to_host(out.array)
        want = np.asarray(want)
        assert got.shape == want.shape, f"{op.name}: shape {got.shape}, NumPy gives {want.shape}"
        if np.issubdtype(want.dtype, np.integer):  # indices from max(dim)
            np.testing.assert_array_equal(got, want, err_msg=op.name)
        else:
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=op.name)


def run_forward_case(op, data, device):
    values, chosen, params = draw_inputs(data, op)
    tensors = [make_tensor(v, layout, device=device) for v, layout in zip(values, chosen)]
    check_matches(op, op.fn(*tensors, **params), op.ref(*values, **params), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_forward_matches_numpy(op, data):
    run_forward_case(op, data, "cpu")


@pytest.mark.gpu
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_forward_matches_numpy_on_gpu(op, data):
    run_forward_case(op, data, "cuda")


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_float32_stays_float32_end_to_end(op, data):
    """float32 in, float32 out, and float32 gradients back: no silent trip through float64."""
    values, chosen, params = draw_inputs(data, op)
    tensors = [make_tensor(v, layout, dtype=tg.float32) for v, layout in zip(values, chosen)]
    outputs = as_tuple(op.fn(*tensors, **params))
    float_outputs = [o for o in outputs if o.dtype.kind == "f"]
    assert float_outputs, f"{op.name}: no floating-point output"
    for out in float_outputs:
        assert out.dtype == tg.float32, f"{op.name}: float32 inputs gave a {out.dtype} output"
    check_matches(op, op.fn(*tensors, **params), op.ref(*values, **params), rtol=2e-5, atol=2e-5)

    loss = float_outputs[0].sum()
    assert loss.dtype == tg.float32
    loss.backward()
    for i, t in enumerate(tensors):
        assert t.grad is not None, f"{op.name}: input {i} got no gradient"
        assert t.grad.dtype == tg.float32, f"{op.name}: the gradient of input {i} is {t.grad.dtype}"
        assert t.grad.shape == t.shape


@pytest.mark.parametrize("layout", LAYOUTS)
@given(values=shapes(min_dims=1).filter(lambda s: max(s) > 1).flatmap(arrays))
def test_layouts_arrive_as_asked(layout, values):
    """make_tensor hands the op a view: non-contiguous data really reaches it."""
    t = make_tensor(values, layout)
    # A transpose only changes the layout when two axes have more than one element.
    reordered = sum(n > 1 for n in values.shape) >= 2
    expected_contiguous = layout == "contiguous" or (layout == "transposed" and not reordered and values.ndim >= 2)
    assert is_contiguous(t.array) == expected_contiguous
    np.testing.assert_array_equal(t.array, values)
