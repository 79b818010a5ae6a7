"""VQ-VAE (van den Oord et al., 2017): a discrete code by nearest-neighbour lookup in a codebook.

The encoder maps an image to a grid of N vectors z_e (one per position, D numbers each). Each
is replaced by the nearest of K learned codebook vectors e_1..e_K: the code of an image is N
integers k_1..k_N, and the decoder sees only e_{k_1}..e_{k_N}. The choice k = argmin |z_e - e_k|
has no gradient; the straight-through estimator copies the decoder's gradient from z_q back to
z_e unchanged (z_q = z_e + sg[e_k - z_e]). Two more terms train what the copy leaves out:

    loss = -log p(x | z_q)  +  |sg[z_e] - e_k|^2  +  beta |z_e - sg[e_k]|^2
           reconstruction      codebook: e_k -> z_e   commitment: z_e stays near its code

(sg = stop-gradient, ``.detach()``). As a VAE, q(k|x) is a point mass: its KL to a uniform prior
is the constant N log K, so it drops out of training. After training, a prior p(k_1..k_N) is fitted
to the codes of the training images (``CodePrior``, autoregressive, or ``CategoricalPrior``, one
independent categorical per position) and sampling decodes codes drawn from it.
"""

import collections
import math

from .. import grad_mode, nn
from ..creation import tensor, zeros
from ..distributions import Categorical, one_hot
from ..ops.linalg import linear
from ..ops.loss import binary_cross_entropy_with_logits

VQLoss = collections.namedtuple("VQLoss", ["loss", "recon", "codebook", "commitment"])  # 0-d Tensors, per example
Quantized = collections.namedtuple("Quantized", ["codes", "z_q", "codebook_loss", "commitment_loss"])


def nearest_code(z, codebook):
    """The index of the nearest codebook row to each vector: z (..., D), codebook (K, D) -> (...) int64.

    |z - e_k|^2 = |z|^2 - 2 z.e_k + |e_k|^2, all K distances by one matrix product; argmin has no gradient.
    """
    d2 = (z * z).sum(-1, keepdim=True) - (z @ codebook.transpose(0, 1)) * 2.0 + (codebook * codebook).sum(-1)
    return d2.argmin(-1)  # (...)


def vector_quantize(z_e, codebook):
    """Quantized(codes, z_q, codebook_loss, commitment_loss) of vectors z_e (B, N, D), codebook (K, D).

    codes (B, N): the nearest row of each vector. z_q (B, N, D): those rows in the forward pass, the
    identity in the backward (straight-through: z_e + sg[e - z_e], the decoder's gradient reaches
    z_e unchanged). codebook_loss = |sg[z_e] - e|^2 moves only the codebook; commitment_loss =
    |z_e - sg[e]|^2 moves only the encoder; both summed over N and D, averaged over the batch.
    """
    codes = nearest_code(z_e.detach(), codebook)                  # (B, N)
    e = codebook[codes]                                           # (B, N, D), differentiable in the codebook
    codebook_loss = ((z_e.detach() - e) ** 2).flatten(1).sum(1).mean()
    commitment_loss = ((z_e - e.detach()) ** 2).flatten(1).sum(1).mean()
    z_q = z_e + (e - z_e).detach()                                # straight-through
    return Quantized(codes, z_q, codebook_loss, commitment_loss)


class VQVAE(nn.Module):
    """Encoder -> grid of vectors -> nearest codebook rows -> decoder; Bernoulli pixels.

    Images x (B, C, H, W) in [0, 1]. The ``encoder`` gives (B, D, h, w); each of the N = h * w
    positions is quantised to one of ``num_codes`` = K rows of ``codebook.weight`` (K, D); the
    ``decoder`` maps (B, D, h, w) back to logits (B, C, H, W). ``model(x)`` is the training loss
    (nats per example), ``losses(x)`` its parts; ``codes(x)`` the integer codes (B, N);
    ``decode_codes(k)`` images from codes; ``beta`` weighs the commitment term.
    """

    def __init__(self, encoder, decoder, num_codes, code_dim, grid, beta=0.25):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.codebook = nn.Embedding(num_codes, code_dim)
        nn.init.uniform_(self.codebook.weight, -1.0 / num_codes, 1.0 / num_codes)  # small codes to start
        self.num_codes, self.code_dim, self.grid, self.beta = num_codes, code_dim, tuple(grid), beta

    @classmethod
    def conv(cls, image_shape, num_codes=32, code_dim=16, width=32, beta=0.25):
        """A convolutional VQ-VAE: 8x8 images to a 4x4 grid of codes (one stride-2 step), 28x28 to 7x7 (two)."""
        c, h, w = image_shape
        steps = 1 if h <= 16 else 2
        enc = [nn.Conv2d(c, width, 4, stride=2, padding=1), nn.ReLU()]                      # (B, w, H/2, W/2)
        dec = [nn.Conv2d(code_dim, width, 3, padding=1), nn.ReLU()]                         # (B, w, h, w)
        for _ in range(steps - 1):
            enc += [nn.Conv2d(width, width, 4, stride=2, padding=1), nn.ReLU()]             # (B, w, H/4, W/4)
            dec += [nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.ReLU()]    # (B, w, 2h, 2w)
        enc += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, code_dim, 1)]  # (B, D, h, w)
        dec += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                nn.ConvTranspose2d(width, c, 4, stride=2, padding=1)]                       # (B, C, H, W)
        grid = (h >> steps, w >> steps)
        return cls(nn.Sequential(*enc), nn.Sequential(*dec), num_codes, code_dim, grid, beta)

    @property
    def num_positions(self):
        """N = h * w, the number of codes per image."""
        return self.grid[0] * self.grid[1]

    def encode(self, x):
        """z_e: images (B, C, H, W) -> one vector per position (B, N, D)."""
        z = self.encoder(x)                                        # (B, D, h, w)
        return z.flatten(2).transpose(1, 2)                        # (B, h*w, D)

    def decoder_logits(self, z_q):
        """Pixel logits (B, C, H, W) from code vectors (B, N, D)."""
        z = z_q.transpose(1, 2).reshape(z_q.shape[0], self.code_dim, *self.grid)  # (B, D, h, w)
        return self.decoder(z)

    def losses(self, x):
        """VQLoss(loss, recon, codebook, commitment): recon in nats per example, averaged over the batch."""
        q = vector_quantize(self.encode(x), self.codebook.weight)
        logits = self.decoder_logits(q.z_q)                       # the gradient reaches the encoder through z_q
        recon = binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()
        loss = recon + q.codebook_loss + q.commitment_loss * self.beta
        return VQLoss(loss, recon, q.codebook_loss, q.commitment_loss)

    def forward(self, x):
        """The training loss: x (B, C, H, W) -> a 0-d Tensor."""
        return self.losses(x).loss

    def codes(self, x):
        """The integer code of each image: (B, C, H, W) -> (B, N), without gradients."""
        with grad_mode.no_grad():
            return nearest_code(self.encode(x), self.codebook.weight)

    def decode_codes(self, k):
        """Images in [0, 1] (B, C, H, W) from integer codes (B, N)."""
        with grad_mode.no_grad():
            return self.decoder_logits(self.codebook(k)).sigmoid()

    def reconstruct(self, x):
        """x -> its codes -> the decoded mean image: what the N integers keep of x."""
        return self.decode_codes(self.codes(x))


# ---------------------------------------------------------------- codebook usage
def code_usage(codes, num_codes):
    """{"perplexity", "dead_codes", "used_codes"} of integer codes (any shape) from a K-code book.

    perplexity = exp(H(p)) of the usage histogram p: K when all codes are used equally, 1 when one
    code takes everything. A dead code is one that no vector chose.
    """
    flat = codes.reshape(-1)
    counts = one_hot(flat, num_codes).sum(0)                      # (K,)
    p = counts * (1.0 / flat.shape[0])
    entropy = -float((p * (p + 1e-12).log()).sum())
    used = int(float((counts > 0).sum()))
    return {"perplexity": math.exp(entropy), "dead_codes": num_codes - used, "used_codes": used}


# ---------------------------------------------------------------- priors over the codes
class CategoricalPrior(nn.Module):
    """N independent categoricals, one per position: p(k) = prod_i softmax(logits_i)[k_i].

    ``fit(codes)`` sets the logits to the smoothed log-frequencies (B, N) -> logits (N, K) in
    closed form; no training. It knows which codes each position likes, not how they go together.
    """

    def __init__(self, num_positions, num_codes):
        super().__init__()
        self.register_buffer("logits", zeros(num_positions, num_codes))   # (N, K): counted, not trained

    def fit(self, codes, smoothing=0.5):
        """Maximum likelihood (plus ``smoothing`` pseudo-counts) from training codes (B, N); returns self."""
        counts = one_hot(codes, self.logits.shape[1], self.logits.dtype).sum(0)   # (N, K)
        self.logits.copy_((counts + smoothing).log())
        return self

    def log_prob(self, codes):
        """log p(k_1..k_N) in nats: codes (B, N) -> (B,)."""
        return Categorical(self.logits).log_prob(codes).sum(-1)

    def sample(self, n):
        """n codes (n, N), each position drawn on its own."""
        return Categorical(self.logits).sample(n)


class CodePrior(nn.Module):
    """An autoregressive prior p(k) = prod_i p(k_i | k_<i): a masked MLP over one-hot codes (MADE).

    MADE (Germain et al., 2015): one MLP from the N one-hot codes (B, N*K) to N rows of logits
    (B, N, K), with its weights masked so that the logits of position i see only positions < i
    (each hidden unit gets a "degree" d and sees positions <= d; position i's outputs see hidden
    units of degree < i). One pass scores a whole code; sampling takes N passes, one per position.
    """

    def __init__(self, num_positions, num_codes, hidden=(512,), dropout=0.0):
        super().__init__()
        self.num_positions, self.num_codes, self.dropout = num_positions, num_codes, dropout
        n, k = num_positions, num_codes
        # each unit's degree: an input carries its position 0..N-1, hidden units take 0..N-2 in turn
        degrees = [[i for i in range(n) for _ in range(k)]] + [[j % max(n - 1, 1) for j in range(h)] for h in hidden]
        sizes = [len(d) for d in degrees] + [n * k]
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])])
        for j, (d_in, d_out) in enumerate(zip(degrees, degrees[1:] + degrees[:1])):
            out, inp = tensor(d_out).reshape(-1, 1), tensor(d_in).reshape(1, -1)
            mask = (out > inp) if j == len(hidden) else (out >= inp)  # (out, in), like the weight it masks
            self.register_buffer(f"mask{j}", mask.float(), persistent=False)

    def logits(self, codes):
        """The conditional logits of every position at once: codes (B, N) -> (B, N, K)."""
        h = one_hot(codes, self.num_codes, self.layers[0].weight.dtype).flatten(1)   # (B, N*K)
        for j, layer in enumerate(self.layers):
            h = linear(h, layer.weight * getattr(self, f"mask{j}"), layer.bias)
            if j < len(self.layers) - 1:
                h = nn.functional.dropout(h.relu(), self.dropout, self.training)
        return h.reshape(-1, self.num_positions, self.num_codes)

    def log_prob(self, codes):
        """log p(k_1..k_N) in nats: codes (B, N) -> (B,)."""
        return Categorical(self.logits(codes)).log_prob(codes).sum(-1)

    def forward(self, codes):
        """The training loss: the negative log-likelihood of codes (B, N), nats per image."""
        return -self.log_prob(codes).mean()

    def sample(self, n):
        """n codes (n, N), drawn position by position: N passes of the network."""
        device = self.layers[0].weight.device
        codes = zeros(n, self.num_positions, dtype="int64", device=device)
        with grad_mode.no_grad():
            for i in range(self.num_positions):
                codes[:, i] = Categorical(self.logits(codes)[:, i]).sample()   # (n,): position i given < i
        return codes
