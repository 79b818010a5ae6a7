"""Exercise 4 — the DDPM posterior q(x_{t-1} | x_t, x_0).

A DDPM noises data in T small steps, q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I)
with alpha_t = 1 - beta_t, and any step is reachable in one jump:
q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with abar_t = alpha_0 alpha_1 ... alpha_t.

Sampling runs the chain backwards, and each reverse step imitates the posterior: knowing both
the clean x_0 and the noisy x_t, where was x_{t-1}? Bayes' rule on two Gaussians gives a Gaussian,

    q(x_{t-1} | x_t, x_0) = N(mean, variance I)
    mean     = beta_t sqrt(abar_{t-1}) / (1 - abar_t) * x_0
             + (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t) * x_t
    variance = beta_t (1 - abar_{t-1}) / (1 - abar_t)

with abar_{t-1} = 1 at t = 0 (before the first step nothing is noised). Derivation: multiply
q(x_t | x_{t-1}) by q(x_{t-1} | x_0), both as functions of x_{t-1}, and complete the square
(docs/math/ddpm.md).

Steps are counted 0..T-1 as in tinygen (the papers count 1..T). Read the schedule from
diffusion.betas and diffusion.alphas_cumprod, Tensors of shape (T,) in the diffusion's dtype:
diffusion.betas[t] is a 0-d Tensor, and .sqrt() and arithmetic work on it. The diffusion's
posterior_* tables hold the answer: do not use them.

Check: python -m pytest exercises/ex4_ddpm_posterior_test.py
"""


def q_posterior(diffusion, x0, xt, t):
    """(mean, variance) of q(x_{t-1} | x_t, x_0) at the integer step t: mean like x0, variance a 0-d Tensor."""
    # YOUR CODE HERE
    raise NotImplementedError("ex4: implement q_posterior — see exercises/README.md")
