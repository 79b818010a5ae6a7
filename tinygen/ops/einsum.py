"""einsum: products and sums named by letters, reduced to permute, reshape, sum and matmul.

    einsum("ij,jk->ik", a, b)       a @ b
    einsum("bij,bjk->bik", a, b)    a batch of matrix products
    einsum("i,j->ij", u, v)         the outer product
    einsum("ii->", a) is a trace: a repeated letter within one operand is not supported here.

Each letter names an axis. A letter of the output is kept; a letter shared by two operands
and absent from the output is multiplied along and summed away (contracted). For two operands
that is one batched matrix product: the shared-and-kept letters are the batch, the contracted
ones the inner dimension, the rest the rows and columns. More operands are taken two at a time,
left to right. Every step is an op with a gradient, so einsum needs no backward of its own.
"""

import math

from .reduce import broadcast_to
from .linalg import matmul


def _parse(equation, operands):
    """(input letter strings, output letters), with "..." replaced by capital letters."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operands, got {len(operands)}")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation]
    widths = [x.ndim - (len(spec) - 3) if "..." in spec else 0 for spec, x in zip(inputs, operands)]
    ellipsis = "".join(spare[: max(widths)])
    for k, (spec, x) in enumerate(zip(inputs, operands)):
        inputs[k] = spec.replace("...", ellipsis[len(ellipsis) - widths[k] :])  # right-aligned, as in broadcasting
        if len(inputs[k]) != x.ndim:
            raise ValueError(f"einsum: operand {k} has {x.ndim} dims but {spec!r} names {len(inputs[k])}")
        if len(set(inputs[k])) != len(inputs[k]):
            raise NotImplementedError(f"einsum: a letter repeated within one operand ({spec!r}: a diagonal or "
                                      "trace) is not supported; write it as (a * tg.eye(n)).sum(...)")
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:  # implicit form: the letters seen once, in alphabetical order, after the ellipsis
        counts = {c: sum(spec.count(c) for spec in inputs) for c in set("".join(inputs))}
        output = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis))
    return inputs, output


def _sizes(inputs, operands):
    sizes = {}
    for spec, x in zip(inputs, operands):
        for c, n in zip(spec, x.shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise ValueError(f"einsum: letter {c!r} has sizes {sizes[c]} and {n}")
            sizes[c] = max(sizes.get(c, 1), n)
    return sizes


def _keep(x, spec, letters, sizes):
    """x with every letter not in ``letters`` summed away and the rest broadcast to their full sizes."""
    gone = tuple(i for i, c in enumerate(spec) if c not in letters)
    if gone:
        x = x.sum(gone)
        spec = "".join(c for c in spec if c in letters)
    return broadcast_to(x, tuple(sizes[c] for c in spec)), spec


def _pair(a, sa, b, sb, keep, sizes):
    """Two operands -> their product over shared letters, keeping the letters in ``keep``: one matmul."""
    a, sa = _keep(a, sa, set(sb) | keep, sizes)
    b, sb = _keep(b, sb, set(sa) | keep, sizes)
    batch = [c for c in sa if c in sb and c in keep]
    inner = [c for c in sa if c in sb and c not in keep]
    rows = [c for c in sa if c not in sb]
    cols = [c for c in sb if c not in sa]
    n = lambda letters: math.prod(sizes[c] for c in letters)  # noqa: E731
    a = a.permute(*[sa.index(c) for c in batch + rows + inner]).reshape(n(batch), n(rows), n(inner))
    b = b.permute(*[sb.index(c) for c in batch + inner + cols]).reshape(n(batch), n(inner), n(cols))
    out = matmul(a, b).reshape(tuple(sizes[c] for c in batch + rows + cols))  # (batch, rows, cols)
    return out, "".join(batch + rows + cols)


def einsum(equation, *operands):
    """Sum of products over the letters of ``equation`` ("bij,bjk->bik"), for any number of operands."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    inputs, output = _parse(equation, operands)
    sizes = _sizes(inputs, operands)
    x, spec = operands[0], inputs[0]
    for k in range(1, len(operands)):
        later = set(output).union(*inputs[k + 1 :])  # letters still needed after this step
        x, spec = _pair(x, spec, operands[k], inputs[k], later, sizes)
    x, spec = _keep(x, spec, set(output), sizes)
    return x.permute(*[spec.index(c) for c in output]) if spec != output else x
