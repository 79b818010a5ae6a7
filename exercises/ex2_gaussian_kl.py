"""Exercise 2 — the KL divergence of a VAE's posterior to its prior.

A VAE's encoder maps an image to a diagonal Gaussian q(z|x) = N(mu, sigma^2), predicting
mu and logvar = log sigma^2. Its loss contains KL(q || p) with the prior p = N(0, 1), which
has a closed form. Per latent dimension:

    KL( N(mu, sigma^2) || N(0, 1) ) = 0.5 * (mu^2 + sigma^2 - log sigma^2 - 1)

Derive it yourself if you can: write log q(z) and log p(z), take E_q[log q(z) - log p(z)],
and use E_q[(z - mu)^2] = sigma^2 and E_q[z^2] = sigma^2 + mu^2 (docs/math/vae.md).

Write it with Tensor ops (+, *, .exp()) so autograd gives its gradient. Use logvar itself
where the formula says log sigma^2: exp(logvar) can underflow to 0 in float32, and log(0) is
-inf. Return one value per dimension (mu's shape); the VAE then sums over the latent
dimensions and averages over the batch.

Check: python -m pytest exercises/ex2_gaussian_kl_test.py
"""


def gaussian_kl(mu, logvar):
    """KL( N(mu, exp(logvar)) || N(0, 1) ) elementwise: a Tensor of mu's shape, in nats."""
    # YOUR CODE HERE
    raise NotImplementedError("ex2: implement gaussian_kl — see exercises/README.md")
