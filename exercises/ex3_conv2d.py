"""Exercise 3 — a convolution without im2col.

tinygen's conv2d (tinygen/ops/conv.py) gathers every input window into one big matrix
(im2col) and does a single matrix product. Here you build the same convolution the direct
way, from Tensor ops only, and let autograd find its gradient.

    x (B, C, H, W),  weight (O, C, kh, kw),  bias (O,) or None  ->  y (B, O, OH, OW)
    OH = (H + 2 padding - kh) // stride + 1,   OW likewise

    y[b, o, i, j] = bias[o] + sum over c, p, q of
                    weight[o, c, p, q] * x_pad[b, c, i * stride + p, j * stride + q]

where x_pad is x with `padding` zeros on each side of H and W.

The plan: loop over the kh * kw kernel offsets (p, q), not over pixels. For one offset, the
pixels x_pad[b, c, i * stride + p, j * stride + q] for all i, j are one strided slice of
x_pad, of shape (B, C, OH, OW); it meets weight[:, :, p, q], of shape (O, C), in a sum over
c (a matrix product after moving C last). Add up the kh * kw results, then the bias.

Useful: tinygen.nn.functional.pad(x, (left, right, top, bottom)), slicing with steps
(x[:, :, a:b:s, c:d:s]), .permute(...), @, .reshape(...). Do not call F.conv2d: it is the
answer the tests compare with.

Check: python -m pytest exercises/ex3_conv2d_test.py
"""

import tinygen.nn.functional as F


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation like F.conv2d, for int stride and padding: (B, C, H, W) -> (B, O, OH, OW)."""
    # YOUR CODE HERE
    raise NotImplementedError("ex3: implement conv2d — see exercises/README.md")
