"""Exercise 8 — the straight-through estimator and the VQ-VAE's two stop-gradient losses.

A VQ-VAE replaces each encoder output z (a vector of D numbers) by the nearest row e_k of a
codebook (K, D). The index k = argmin_j |z - e_j|^2 is an integer: it has no derivative, so
nothing would reach the encoder through the decoder. The straight-through estimator passes the
decoder's gradient to z unchanged, as if the rounding to e_k were not there:

    z_q = z + sg[e_k - z]          forward: z + e_k - z = e_k;  backward: dz_q/dz = I

where sg[.] is the stop-gradient (``.detach()``: the value, with no graph behind it). The
decoder's gradient then trains the encoder but never the codebook. Two losses train the rest,
each with a stop-gradient on the other side:

    codebook_loss   = |sg[z] - e_k|^2      moves e_k toward the encoder outputs that chose it
    commitment_loss = |z - sg[e_k]|^2      keeps z close to its code (the model weighs it by beta)

Both have the same value; they differ only in where their gradients go. Sum each over the
positions and the D numbers of one example and average over the batch. ``nearest_code`` (given)
finds the indices; ``codebook[codes]`` looks the rows up, differentiably in the codebook.

Write it with Tensor ops (+, -, *, .detach(), .sum(), .mean()) so autograd finds the gradients.

Check: python -m pytest exercises/ex8_straight_through_test.py
"""

from tinygen.models.vqvae import nearest_code


def vector_quantize(z, codebook):
    """z (B, N, D) and codebook (K, D) -> (z_q (B, N, D), codebook_loss, commitment_loss), losses 0-d.

    z_q has the values of the nearest codebook rows and the gradient of z (straight-through).
    """
    codes = nearest_code(z.detach(), codebook)  # (B, N) integers: the nearest row of each vector
    # YOUR CODE HERE: look the rows up, then build z_q and the two losses
    raise NotImplementedError("ex8: implement vector_quantize — see exercises/README.md")
