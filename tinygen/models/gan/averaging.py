"""The generator to sample from: a moving average of G's weights over training.

A GAN's generator never settles. Each step moves it against the discriminator of that moment,
so the weights of any one step carry that step's swing; an exponential moving average of the
weights (tinygen.optim.EMA, decay 0.999: about the last thousand steps) averages the swings out,
the generator that Progressive GAN and its successors sample from. Training itself is unchanged:
the average only watches.

BatchNorm's running statistics belong to the moving weights, so they are recomputed for the
averaged ones (update_bn) on noise of a fixed seed: the same checkpoint always gives the same
averaged generator, and the caller's random stream is left where it was.
"""

import copy

from ... import backend
from ...creation import manual_seed, randn
from ...optim.ema import update_bn


def averaged_generator(G, ema, num_samples=2048, batch_size=64, seed=0):
    """A copy of G holding ``ema``'s averaged weights, BatchNorm recomputed, in eval mode.

    G is left as it is. The statistics come from ``num_samples`` noise vectors of ``seed`` in
    batches of ``batch_size`` (the training batch: the statistics a batch of that size sees).
    """
    averaged = copy.deepcopy(G)
    ema.copy_to(averaged)
    device = next(G.parameters()).device
    outside = backend.get_rng_state()  # draw the noise from a stream of its own, then step back
    manual_seed(seed)
    noise = [randn(batch_size, G.latent_dim, device=device) for _ in range(num_samples // batch_size)]
    backend.set_rng_state(outside)
    update_bn(noise, averaged)
    return averaged.eval()
