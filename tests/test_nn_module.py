"""Module, Parameter and the containers: registration, tree walks, modes, state dicts, repr."""

import copy

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.norm = nn.BatchNorm1d(3)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.norm(self.fc(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(tg.ones(1))
        self.block = Block()
        self.heads = nn.ModuleList([nn.Linear(3, 1), nn.Linear(3, 2)])
        self.register_buffer("step", tg.zeros(()))

    def forward(self, x):
        h = self.block(x) * self.scale
        return [head(h) for head in self.heads]


def test_parameter_is_a_float32_tensor_that_requires_grad():
    p = nn.Parameter(tg.zeros(2, 3))
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.dtype == tg.float32
    assert not nn.Parameter(tg.zeros(2), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_named_parameters_are_dotted_and_in_insertion_order():
    names = [n for n, _ in Net().named_parameters()]
    assert names == [
        "scale", "block.fc.weight", "block.fc.bias", "block.norm.weight", "block.norm.bias",
        "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias",
    ]
    assert len(list(Net().parameters())) == 9


def test_shared_parameter_listed_once():
    a = nn.Linear(2, 2)
    model = nn.Sequential(a, a)
    assert len(list(model.parameters())) == 2


def test_modules_and_children():
    net = Net()
    kinds = [type(m).__name__ for m in net.modules()]
    assert kinds == ["Net", "Block", "Linear", "BatchNorm1d", "Dropout", "ModuleList", "Linear", "Linear"]
    assert [n for n, _ in net.named_children()] == ["block", "heads"]
    assert [n for n, _ in net.named_modules()][:3] == ["", "block", "block.fc"]


def test_reassigning_an_attribute_replaces_the_registration():
    net = Net()
    net.block = nn.Identity()
    assert [n for n, _ in net.named_parameters()][:1] == ["scale"]
    assert "block.fc.weight" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="scale"):
        net.scale = tg.ones(1)  # a plain tensor is not a Parameter


def test_forgetting_super_init_gives_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Bad()


def test_train_eval_propagate():
    net = Net()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.block.train(False)
    assert net.training and not net.block.fc.training


def test_zero_grad():
    net = Net()
    out = net(tg.randn(4, 2))
    (out[0].sum() + out[1].sum()).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_has_parameters_and_buffers_in_order():
    sd = Net().state_dict()
    assert list(sd) == [
        "scale", "step", "block.fc.weight", "block.fc.bias", "block.norm.weight", "block.norm.bias",
        "block.norm.running_mean", "block.norm.running_var", "block.norm.num_batches_tracked",
        "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias",
    ]
    assert not any(t.requires_grad for t in sd.values())
    assert sd["block.norm.num_batches_tracked"].dtype == tg.int64


def test_state_dict_round_trip_into_a_fresh_model():
    tg.manual_seed(1)
    a = Net()
    a.train()
    a(tg.randn(5, 2))  # moves BatchNorm's running statistics
    tg.manual_seed(2)
    b = Net()
    params_before = list(b.parameters())
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert all(p is q for p, q in zip(b.parameters(), params_before))  # loaded in place
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(va.numpy(), vb.numpy(), err_msg=k)
    assert int(b.block.norm.num_batches_tracked) == 1
    a.eval(), b.eval()
    x = tg.randn(3, 2)
    np.testing.assert_array_equal(a(x)[1].detach().numpy(), b(x)[1].detach().numpy())


def test_load_state_dict_reports_every_bad_key_at_once():
    sd = Net().state_dict()
    del sd["scale"], sd["heads.1.bias"]
    sd["extra.weight"] = tg.zeros(1)
    sd["block.fc.weight"] = tg.zeros(4, 2)
    with pytest.raises(RuntimeError) as info:
        Net().load_state_dict(sd)
    message = str(info.value)
    for piece in ["missing keys: scale, heads.1.bias", "unexpected keys: extra.weight",
                  "block.fc.weight: the model has shape (3, 2), the state dict has (4, 2)"]:
        assert piece in message


def test_load_state_dict_not_strict_returns_the_lists():
    sd = Net().state_dict()
    del sd["scale"]
    sd["extra"] = tg.zeros(1)
    net = Net()
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(net.block.fc.weight.detach().numpy(), sd["block.fc.weight"].numpy())


def test_to_dtype_keeps_parameter_objects_and_leaves_integer_buffers():
    net = Net()
    weight = net.block.fc.weight
    net.double()
    assert net.block.fc.weight is weight and weight.dtype == tg.float64
    assert net.block.norm.running_var.dtype == tg.float64
    assert net.block.norm.num_batches_tracked.dtype == tg.int64
    out = net(tg.randn(4, 2, dtype=tg.float64))
    assert out[0].dtype == tg.float64
    net.to(tg.float32)
    assert weight.dtype == tg.float32


def test_float32_model_stays_float32_through_a_step():
    net = Net()
    out = net(tg.randn(4, 2))
    loss = out[0].sum() + out[1].sum()
    assert loss.dtype == tg.float32
    loss.backward()
    assert all(p.grad.dtype == tg.float32 for p in net.parameters())
    assert all(b.dtype in (tg.float32, tg.int64) for b in net.buffers())


def test_repr_tree():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1), nn.Sigmoid()))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=1, bias=True)\n"
        "    (1): Sigmoid()\n"
        "  )\n"
        ")"
    )
    assert repr(nn.BatchNorm2d(4)) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"


def test_sequential_and_modulelist_indexing():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert isinstance(seq[-1], nn.Linear) and len(seq) == 3
    assert len(seq[:2]) == 2
    x = tg.randn(4, 2)
    np.testing.assert_allclose(seq(x).detach().numpy(), seq[2](seq[1](seq[0](x))).detach().numpy())
    with pytest.raises(IndexError, match="Sequential"):
        seq[3]
    ml = nn.ModuleList()
    ml.append(nn.Linear(1, 1)).extend([nn.Linear(1, 2)])
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    md = nn.ModuleDict({"enc": nn.Linear(2, 2), "dec": nn.Linear(2, 2)})
    assert list(md) == ["enc", "dec"] and "enc" in md
    assert [n for n, _ in md.named_parameters()][0] == "enc.weight"


def test_deepcopy_gives_independent_parameters():
    net = Net()
    twin = copy.deepcopy(net)
    assert isinstance(twin.block.fc.weight, nn.Parameter)
    with tg.no_grad():
        twin.block.fc.weight.fill_(0.0)
    assert net.block.fc.weight.detach().numpy().any()


def test_init_is_reproducible_with_manual_seed():
    tg.manual_seed(7)
    a = nn.Linear(4, 3).weight.detach().numpy().copy()
    tg.manual_seed(7)
    b = nn.Linear(4, 3).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.gpu
def test_to_cuda_moves_parameters_and_buffers():
    net = Net()
    weight = net.block.fc.weight
    net.to("cuda")
    assert weight.device == "cuda" and net.block.norm.running_mean.device == "cuda"
    out = net(tg.randn(4, 2, device="cuda"))
    assert out[0].device == "cuda"
    net.cpu()
    assert weight.device == "cpu"
