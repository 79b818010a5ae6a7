"""Exercise 7 — an affine coupling layer and its log-determinant (RealNVP).

A normalizing flow needs layers that are invertible and whose Jacobian determinant is cheap. The
affine coupling layer keeps some features (mask = 1) and scales and shifts the others by amounts
computed from the kept ones:

    y = x * exp(s) + t,      (s, t) = layer.shift_and_log_scale(x)

where s and t are (B, D) Tensors that are 0 on the kept features (so y = x there) and depend only
on the kept features of x. Work out the Jacobian dy/dx: put the kept features first and it is
block-triangular, with the identity for the kept block and diag(exp(s)) for the changed one.
Its determinant is the product of the diagonal, so

    log |det dy/dx| = sum over features of s            (one value per example: (B,))

The inverse needs no inverse network: the kept features of y are those of x, so
layer.shift_and_log_scale(y) gives the very same s and t, and x = (y - t) * exp(-s).

Write both with Tensor ops. Do not call layer.forward or layer.inverse (or the layer itself):
they hold the answer.

Check: python -m pytest exercises/ex7_coupling_test.py
"""


def coupling_forward(layer, x):
    """x (B, D) -> (y (B, D), log |det dy/dx| (B,))."""
    # YOUR CODE HERE
    raise NotImplementedError("ex7: implement coupling_forward — see exercises/README.md")


def coupling_inverse(layer, y):
    """y (B, D) -> x (B, D), undoing coupling_forward."""
    # YOUR CODE HERE
    raise NotImplementedError("ex7: implement coupling_inverse — see exercises/README.md")
