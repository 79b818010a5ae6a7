"""The strict CuPy stand-in is strict: it refuses what CuPy refuses, and it catches a planted bug.

The stand-in (tests/strict_cupy.py) stands for the GPU in this suite, so its own behaviour is
tested here: if it let a NumPy-only habit through, the GPU runs would prove nothing.
"""

import pickle
import weakref

import numpy as np
import pytest
import strict_cupy as cp

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn
from tinygen.ops import activation, elementwise

IMPLICIT = "Implicit conversion to a NumPy array is not allowed"


# ---------------------------------------------------------------- the arrays
def test_device_arrays_are_not_numpy_arrays_and_refuse_implicit_conversion():
    a = cp.asarray([1.0, 2.0, 3.0])
    assert not isinstance(a, np.ndarray) and isinstance(a, cp.ndarray)
    for convert in (np.asarray, np.array, lambda x: np.array([x[0], x[1]]), lambda x: np.testing.assert_allclose(x, 1)):
        with pytest.raises(TypeError, match=IMPLICIT):
            convert(a)
    host = a.get()
    assert isinstance(host, np.ndarray) and host.tolist() == [1.0, 2.0, 3.0]
    assert cp.asnumpy(a).tolist() == [1.0, 2.0, 3.0]


def test_host_arrays_are_refused_as_operands_arguments_indices_and_values():
    a, host = cp.asarray([1.0, 2.0, 3.0]), np.ones(3)
    refusals = [lambda: a + host, lambda: host + a, lambda: cp.maximum(a, host), lambda: cp.where(a > 1, a, host),
                lambda: cp.concatenate([a, host]), lambda: a[np.array([0, 1])], lambda: a.__setitem__(slice(None), host),
                lambda: cp.add.at(a, cp.asarray([0]), host), lambda: np.concatenate([a, host])]
    for refuse in refusals:
        with pytest.raises(TypeError, match="Unsupported type"):
            refuse()
    a[:] = cp.asarray(host)  # moved explicitly: fine
    assert (a + np.float64(1.0)).tolist() == [2.0, 2.0, 2.0]  # NumPy scalars are numbers, as in CuPy


def test_array_arguments_must_be_device_arrays():
    with pytest.raises(TypeError, match="Unsupported type <class 'list'>"):
        cp.sum([1.0, 2.0])
    with pytest.raises(TypeError, match="Unsupported type <class 'list'>"):
        cp.exp([1.0, 2.0])
    with pytest.raises(TypeError, match="Unsupported type <class 'int'>"):
        cp.unravel_index(5, (2, 3))  # CuPy's unravel_index wants an array
    assert [int(i) for i in cp.unravel_index(cp.asarray(5), (2, 3))] == [1, 2]


def test_only_cupys_names_and_parameters_exist():
    for missing in ("errstate", "seterr", "insert", "geomspace", "matrix"):
        assert not hasattr(cp, missing), missing
    a = cp.arange(6.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'initial'"):
        cp.max(a, initial=0.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'where'"):
        a.sum(where=a > 2)
    assert not hasattr(a, "ctypes") and not hasattr(a, "__array_interface__") and not hasattr(a, "__index__")
    assert not hasattr(a.flags, "writeable") and a.flags.c_contiguous and a.flags.owndata
    assert not a[1:].flags.owndata
    rng = cp.random.default_rng(0)
    for missing in ("normal", "choice", "permutation", "shuffle", "bit_generator"):
        assert not hasattr(rng, missing), missing
    with pytest.raises(NotImplementedError):
        cp.multiply.at(a, cp.asarray([0]), 2.0)  # CuPy scatters only add, subtract, maximum, minimum, bitwise


def test_reductions_and_full_indexing_give_0d_arrays():
    a = cp.asarray([[1.0, 2.0], [3.0, 4.0]])
    for r in (a.sum(), a.max(), cp.argmax(a), a[1, 1], np.sum(a), cp.allclose(a, a), cp.count_nonzero(a)):
        assert type(r) is cp.ndarray and r.shape == (), r
    assert float(a.sum()) == 10.0 and int(cp.argmax(a)) == 3 and f"{a.mean():.2f}" == "2.50"
    with pytest.raises(TypeError):
        range(a.sum().astype(np.int64))  # no __index__, as in CuPy


def test_integer_array_indices_out_of_range_wrap_silently():
    a = cp.asarray([10.0, 11.0, 12.0])
    assert a[cp.asarray([0, 3, -4, 5])].tolist() == [10.0, 10.0, 12.0, 12.0]
    assert cp.take(a, cp.asarray([4])).tolist() == [11.0]
    with pytest.raises(IndexError):
        a[3]  # a plain integer is still checked, as in CuPy
    counts = cp.zeros(3)
    cp.add.at(counts, cp.asarray([0, 3, 7]), 1.0)
    assert counts.tolist() == [2.0, 1.0, 0.0]


def test_numpy_functions_dispatch_to_the_device_as_with_cupy():
    a = cp.asarray([1.0, 4.0])
    for r in (np.sqrt(a), np.sum(a), np.concatenate([a, a]), np.linalg.norm(a), np.where(a > 2, a, 0.0)):
        assert type(r) is cp.ndarray
    assert np.sqrt(a).tolist() == [1.0, 2.0]


def test_the_random_stream_is_not_numpys():
    ours = cp.random.default_rng(0).standard_normal(5).get()
    numpy_s = np.random.default_rng(0).standard_normal(5)
    assert not np.allclose(ours, numpy_s)
    again = cp.random.default_rng(0).standard_normal(5).get()
    assert ours.tobytes() == again.tobytes()
    assert cp.random.default_rng(0).random(3, dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="float32 or float64"):
        cp.random.default_rng(0).random(3, dtype=np.float16)


def test_views_pickling_and_weak_references_behave():
    a = cp.arange(6.0).reshape(2, 3)
    row = a[0]
    row[...] = -1.0
    assert a.tolist()[0] == [-1.0, -1.0, -1.0] and row.base is not None
    assert pickle.loads(pickle.dumps(a)).tolist() == a.tolist()
    assert weakref.ref(a)() is a
    assert cp.get_array_module(a) is cp and cp.get_array_module(np.ones(1)) is np


def test_no_floating_point_warnings_as_with_cupy():
    a = cp.asarray([0.0, 1.0])
    assert np.isinf((1.0 / a).get()[0]) and np.isnan(cp.log(a - 1.0).get()[0])


# ---------------------------------------------------------------- the mutation check
def _step(device):
    """A small training step touching the common op families, on ``device``."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(device)
    x, y = tg.randn(5, 4, device=device), tg.randint(3, (5,), device=device)
    loss = F.cross_entropy(model(x), y) + model(x).exp().mean() * 0.01
    loss.backward()
    return loss.item()


def _plant_asarray(monkeypatch):
    forward = activation.Tanh.forward
    monkeypatch.setattr(activation.Tanh, "forward", lambda self, x: forward(self, np.asarray(x)))


def _plant_writeable_flag(monkeypatch):
    forward = elementwise.Exp.forward
    monkeypatch.setattr(elementwise.Exp, "forward",
                        lambda self, x: forward(self, x if x.flags.writeable else x.copy()))


def _plant_host_operand(monkeypatch):
    forward = elementwise.Exp.forward
    monkeypatch.setattr(elementwise.Exp, "forward", lambda self, x: forward(self, x) + np.zeros(x.shape, x.dtype))


def _plant_numpy_only_keyword(monkeypatch):
    forward = elementwise.Exp.forward

    def planted(self, x):
        tg.backend.array_module(x).max(x, initial=-np.inf)  # NumPy has initial=, CuPy does not
        return forward(self, x)

    monkeypatch.setattr(elementwise.Exp, "forward", planted)


@pytest.mark.gpu
@pytest.mark.parametrize("plant, error", [
    (_plant_asarray, IMPLICIT),
    (_plant_writeable_flag, "writeable"),
    (_plant_host_operand, "Unsupported type <class 'numpy.ndarray'>"),
    (_plant_numpy_only_keyword, "initial"),
], ids=["numpy.asarray in an op", "flags.writeable", "a host operand", "a NumPy-only keyword"])
def test_a_numpy_only_call_planted_in_an_op_fails_the_gpu_run(monkeypatch, plant, error):
    """The CPU run cannot see these bugs; the GPU run on the stand-in (as on CuPy) fails on each."""
    assert np.isfinite(_step("cpu")) and np.isfinite(_step("cuda"))  # unplanted: both fine
    plant(monkeypatch)
    assert np.isfinite(_step("cpu"))
    with pytest.raises((TypeError, AttributeError), match=error):
        _step("cuda")
