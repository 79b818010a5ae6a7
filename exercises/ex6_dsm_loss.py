"""Exercise 6 — the denoising score-matching loss.

A score model learns s(x, sigma) ~ grad_x log p_sigma(x), the score of the data blurred by
Gaussian noise of std sigma. That score is unknown, but the score of the blur itself is not:
for x~ = x + sigma z, z ~ N(0, I),

    q(x~ | x) = N(x, sigma^2 I),   grad_x~ log q(x~ | x) = -(x~ - x) / sigma^2      (the DSM target)

and regressing s(x~, sigma) onto this target has the same minimiser as regressing it onto the
true blurred score (Vincent 2011; docs/math/score.md shows the two losses differ by a constant).
With several noise levels, each term is weighted by sigma^2 so every level counts alike:

    L = mean over the batch of  0.5 * sigma_i^2 * sum over dimensions of (s(x~, sigma_i) - target)^2

Write it for a batch x (B, ...) at the levels i, an int64 Tensor (B,) of level indices, with the
noise z given (same shape as x). ``ncs`` is a tinygen NoiseConditionalScore: ``ncs.sigmas`` is a
(L,) Tensor of the noise levels and ``ncs.score(model, x_noisy, i)`` gives the network's score
(B, ...). Shape sigma_i to broadcast against x: ``ncs.sigmas[i.array]`` is (B,), reshape it to
(B, 1, ...). Do not call ncs.dsm_target or ncs.dsm_loss: they hold the answer.

(When you are done, compare with DDPM: the network predicts eps with s = -eps / sigma, and your
loss is exactly 0.5 * ||eps - z||^2, DDPM's epsilon loss.)

Check: python -m pytest exercises/ex6_dsm_loss_test.py
"""


def dsm_loss(ncs, model, x, i, noise):
    """The sigma^2-weighted denoising score-matching loss of a batch: a 0-d Tensor."""
    # YOUR CODE HERE
    raise NotImplementedError("ex6: implement dsm_loss — see exercises/README.md")
