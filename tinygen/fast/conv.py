"""Fast convolution: channels-last columns, batch slices, reused scratch memory, shared columns.

Drop-ins for ``ops.conv.convolve`` and ``ops.conv.convolve_transpose`` (the reading path: im2col
as a differentiable Unfold, one matmul), each tested equal to it, first and second order
(tests/test_fast_kernels.py). What they do differently, and what each measured:

- **Channels-last.** The ops work on NHWC memory: a window's values then lie in contiguous runs
  of channels, so im2col is a copy of those runs, and results come back as NCHW *views* of NHWC
  memory, so a chain of convolutions never pays for a transpose.
- **Columns never kept.** The reading path's matmul keeps the columns (9x the input for a 3x3
  kernel) for backward; here they are written into one reusable scratch buffer and read at
  once, and backward rebuilds them from the saved input, as PyTorch does.
- **Batch slices** of 4 MB of columns (``batch_slices``), about a core's cache, shared out over
  the cores (``parallel.split_map``): each core copies and multiplies whole slices of its own.
- **Three bilinear ops** that are each other's derivatives, so double backward needs no extra
  code, and that hand each other the columns or gradient rows they share:

    Conv2d(x, w)            y[b,o,i,j] = sum_{c,u,v} w[o,c,u,v] x_pad[b,c, i*s+u*d, j*s+v*d]
    ConvTranspose2d(g, w)   = d<g, conv2d(x, w)>/dx      (col2im of g @ w)
    ConvWeightGrad(x, g)    = d<g, conv2d(x, w)>/dw      (cols(x)^T @ g)

    Conv2d.backward(G):          dx = ConvTranspose2d(G, w)    dw = ConvWeightGrad(x, G)
    ConvTranspose2d.backward(G): dg = Conv2d(G, w)             dw = ConvWeightGrad(G, g)
    ConvWeightGrad.backward(G):  dx = ConvTranspose2d(g, G)    dg = Conv2d(x, G)

- **A stride-1 transpose convolution that keeps or widens the channels** runs as a plain convolution
  with the flipped kernel (``_full_geometry``).
- **A convolution to few channels** (an image's 1 or 3) skips the columns: the padded pixels times
  every kernel offset's weights in one product, then each offset's shifted share summed
  (``sum_windows``, the adjoint of col2im); its weight gradient spreads g back the same way
  (``spread_windows``). See ``_gathers``.
"""

import math

from .. import backend, grad_mode, kernels
from ..autograd import Function
from ..ops import conv as reading
from ..ops.conv import Geometry
from ..tensor import Tensor
from . import parallel
from .memory import scratch


# ---------------------------------------------------------------- im2col / col2im on arrays
def pad_nhwc(x, padding, value=0.0, reuse=False):
    """NCHW array -> padded channels-last array (B, H+2ph, W+2pw, C); a view when nothing to pad.

    ``reuse=True`` writes into a scratch buffer (valid until the next such call) and fills only
    the border, for a caller that reads the result at once, as im2col does.
    """
    ph, pw = padding
    nhwc = x.transpose(0, 2, 3, 1)
    if ph == 0 and pw == 0:
        return nhwc
    B, H, W, C = nhwc.shape
    xp = backend.array_module(x)
    shape = (B, H + 2 * ph, W + 2 * pw, C)
    if not reuse:
        out = xp.full(shape, value, dtype=x.dtype)
    else:
        out = scratch(xp, shape, x.dtype, "padded")
        out[:, :ph], out[:, ph + H :], out[:, :, :pw], out[:, :, pw + W :] = value, value, value, value
    out[:, ph : ph + H, pw : pw + W, :] = nhwc
    return out


def windows(x_pad, geom):
    """Every window of a padded NHWC array at once: a (B, OH, OW, kh, kw, C) strided view."""
    B, _, _, C = x_pad.shape
    sb, sh, sw, sc = x_pad.strides
    (kh, kw), (th, tw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
    OH, OW = geom.out
    return backend.as_strided(x_pad, (B, OH, OW, kh, kw, C), (sb, sh * th, sw * tw, sh * dh, sw * dw, sc))


COLUMNS_BYTES = 4 * 2**20  # the most columns written at once: larger batches go in slices


def batch_slices(x, geom, channels=None):
    """Slices of x's batch whose columns each fit in COLUMNS_BYTES (one slice when all fit), and
    with several threads (``parallel``), a multiple of their number, of equal size. ``channels``:
    how many values each kernel offset holds per pixel, when not x's channels.

    The columns are kh*kw times the image: 116 MB for the MNIST UNet's widest 3x3 conv at batch
    64, a quarter of that step's memory. Slices of 4 images (M = 3,136 rows per product) keep the
    scratch buffer at 4 MB, about what a core's cache holds, so the product reads the columns
    soon after im2col wrote them: the UNet step measured 8% faster than with 16 MB slices
    (1.15 s against 1.23 s, one thread, 2026-12-02), and the GAN steps no slower.
    """
    (kh, kw), (OH, OW) = geom.kernel, geom.out
    B, per_image = x.shape[0], OH * OW * kh * kw * (channels or x.shape[1]) * x.dtype.itemsize
    step = max(1, COLUMNS_BYTES // per_image)
    n = parallel.threads_for(x)
    if n > 1 and B and B * per_image >= parallel.SPLIT_BYTES:  # (one thread keeps the slices, and so the bits, it had)
        pieces = math.ceil(math.ceil(B / step) / n) * n  # as many slices, rounded up to a multiple of n
        step = math.ceil(B / pieces)
    return [slice(b, min(b + step, B)) for b in range(0, max(B, 1), step)]  # an empty batch: one empty slice


def im2col(x, geom):
    """NCHW array -> cols (B*OH*OW, kh*kw*C), one row per output pixel, in the scratch buffer.

    The result is valid only until the next im2col: use it, never keep it.
    """
    win = windows(pad_nhwc(x, geom.padding, reuse=True), geom)
    B, OH, OW = win.shape[:3]
    cols = scratch(backend.array_module(x), win.shape, x.dtype, "columns")
    cols[...] = win  # the one copy: every window's values, side by side
    return cols.reshape(B * OH * OW, math.prod(win.shape[3:]))  # (no -1: an empty batch has no size to infer)


def col2im(piece, geom, img):
    """Add window values back into a padded NHWC image ``img`` (B, H+2ph, W+2pw, C), in place: the
    adjoint of reading windows.

    ``piece(u, v)`` gives the (B, OH, OW, C) values that kernel offset (u, v) read. One strided
    add per kernel offset, never a loop over batch or pixels.
    """
    for u, v, rows, cols in offset_windows(geom):
        img[:, rows, cols, :] += piece(u, v)


def offset_windows(geom):
    """For each kernel offset (u, v): the rows and columns of the padded image that its windows
    read, one per output pixel, as slices."""
    (kh, kw), (th, tw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
    OH, OW = geom.out
    return [(u, v, slice(u * dh, u * dh + th * (OH - 1) + 1, th), slice(v * dw, v * dw + tw * (OW - 1) + 1, tw))
            for u in range(kh) for v in range(kw)]


def sum_windows(values, geom, out):
    """out (B, OH, OW, O) = the sum over kernel offsets (u, v) of values[:, i, j, u, v] at the pixels
    (i, j) that offset reads: the adjoint of col2im. ``values``: (B, H+2ph, W+2pw, kh, kw, O)."""
    for k, (u, v, rows, cols) in enumerate(offset_windows(geom)):
        if k == 0:  # the first offset writes, the rest add: no pass to zero ``out`` first
            out[...] = values[:, rows, cols, u, v]
        else:
            out += values[:, rows, cols, u, v]


def spread_windows(g, geom, values):
    """values[:, i, j, u, v] = g at the output pixel whose window read (i, j) at offset (u, v), 0
    where none did: the adjoint of sum_windows. ``g``: (B, OH, OW, O) -> ``values`` (B, H+2ph, W+2pw, kh, kw, O)."""
    values[...] = 0
    for u, v, rows, cols in offset_windows(geom):
        values[:, rows, cols, u, v] = g


def _weight_matrix(w):
    """(O, C, kh, kw) -> (O, kh*kw*C), the column order of im2col."""
    return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)


def _rows(y):
    """NCHW (B, O, OH, OW) -> (B*OH*OW, O); free when y is an NHWC-memory view made here, or a
    slice of the channels of one (a concatenation's gradient), whose rows BLAS reads where they lie."""
    rows = y.transpose(0, 2, 3, 1).reshape(-1, y.shape[1])
    row_step, step = rows.strides
    if rows.size and step == rows.itemsize and row_step >= step * rows.shape[1] and row_step % step == 0:
        return rows  # unit steps along a row, rows apart: what BLAS takes without a copy
    return backend.array_module(y).ascontiguousarray(rows)  # (a broadcast g has no unit steps)


def _nchw(rows, batch, out_hw):
    """(B*OH*OW, O) -> an NCHW view (B, O, OH, OW) of the same memory."""
    return rows.reshape(batch, out_hw[0], out_hw[1], rows.shape[1]).transpose(0, 3, 1, 2)


# ---------------------------------------------------------------- the three bilinear ops
class Conv2d(Function):
    """y = conv2d(x, w) [+ b]: cols(x) @ w_mat^T.

    ``cols`` (im2col of x) and ``rows`` (g as a matrix) may be handed to these ops when another
    op already computed them for the same array: each is made once per backward.
    """

    cols = None

    def forward(self, x, w, b=None):
        """Arrays x (B, C, H, W), w (O, C, kh, kw) [, b (O,)] -> y (B, O, OH, OW), a view of NHWC memory."""
        y = _conv_rows(x, w, self.geom, self.cols, b)  # (B*OH*OW, O): one GEMM for the whole batch
        self.cols = None  # scratch memory: backward rebuilds the columns from x
        return _nchw(y, x.shape[0], self.geom.out)

    def backward(self, g):
        """g (B, O, OH, OW) -> dx = ConvTranspose2d(g, w), dw = ConvWeightGrad(x, g) [, db (O,)]."""
        x, w = self.inputs[:2]
        rows = _rows(g.array) if any(self.needs_input_grad[:2]) else None  # shared by both gradients
        gx = ConvTranspose2d.apply(g, w, geom=self.geom, rows=rows) if self.needs_input_grad[0] else None
        if _bias_with_weight_grad(self.needs_input_grad, rows):  # split over cores, no graph: one pass of work
            gw, gb = _weight_and_bias_grads(x.array, rows, self.geom, with_bias=True)
            return gx, Tensor.wrap(gw), Tensor.wrap(gb)
        gw = None
        if self.needs_input_grad[1]:
            gw = ConvWeightGrad.apply(x, g, geom=self.geom, rows=rows)
        return (gx, gw) + _bias_grad(g, self.needs_input_grad)


class ConvTranspose2d(Function):
    """x = col2im(g_rows @ w_mat): the gradient of conv2d w.r.t. its input, and a layer of its own."""

    rows = None

    def forward(self, g, w, b=None):
        """Arrays g (B, O, OH, OW), w (O, C, kh, kw) [, b (C,)] -> (B, C, H, W), H and W from the geometry."""
        full = _full_geometry(self.geom, g.shape, w.shape)
        if full is not None:  # stride 1, not narrowing: a plain convolution of g (see _full_geometry)
            flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
            return _nchw(_conv_rows(g, flipped, full, bias=b), g.shape[0], full.out)
        B, _, OH, OW = g.shape
        C, (H, W), (ph, pw) = w.shape[1], self.geom.size, self.geom.padding
        if self.rows is None:
            self.rows = _rows(g)
        xp, rows, (kh, kw) = backend.array_module(g), self.rows, self.geom.kernel  # rows: (B*OH*OW, O)
        img = xp.empty((B, H + 2 * ph, W + 2 * pw, C), dtype=g.dtype)
        if _one_product_per_slice(w.shape[0], C):
            w_all = _weight_matrix(w)  # (O, kh*kw*C): every offset's weights side by side

            def scatter(s):  # one slice of the batch: its images are written by nobody else
                r = rows[s.start * OH * OW : s.stop * OH * OW]
                values = scratch(xp, (r.shape[0], kh * kw * C), g.dtype, "offset values")
                values = xp.matmul(r, w_all, out=values).reshape(s.stop - s.start, OH, OW, kh, kw, C)
                col2im(lambda u, v: values[:, :, :, u, v], self.geom, img[s])

            slices = batch_slices(g, self.geom, C)  # the values of one slice fit in COLUMNS_BYTES
        else:
            w_uv = w.transpose(2, 3, 0, 1)  # (kh, kw, O, C)

            def scatter(s):
                r = rows[s.start * OH * OW : s.stop * OH * OW]
                col2im(lambda u, v: (r @ w_uv[u, v]).reshape(s.stop - s.start, OH, OW, C), self.geom, img[s])

            slices = parallel.even_slices(B, img.nbytes, g)

        def zero_scatter_add_bias(s):  # the whole life of a slice's images, on one thread, in its cache
            img[s] = 0
            scatter(s)
            if b is not None:
                img[s, ph : ph + H, pw : pw + W] += b  # after the sums, as (result) + b on the whole would be

        parallel.split_map(zero_scatter_add_bias, slices, g)
        return img[:, ph : ph + H, pw : pw + W, :].transpose(0, 3, 1, 2)

    def backward(self, gx):
        """gx (B, C, H, W) -> dg = Conv2d(gx, w), dw = ConvWeightGrad(gx, g) [, db (C,)]."""
        g, w = self.inputs[:2]
        # the columns of gx, shared by both gradients (each op's forward reads them before returning),
        # unless they are too big for one piece: then each op makes them slice by slice
        cols = im2col(gx.array, self.geom) if len(batch_slices(gx.array, self.geom)) == 1 else None
        gg = Conv2d.apply(gx, w, geom=self.geom, cols=cols) if self.needs_input_grad[0] else None
        gw = None
        if self.needs_input_grad[1]:
            gw = ConvWeightGrad.apply(gx, g, geom=self.geom, cols=cols, rows=self.rows)
        return (gg, gw) + _bias_grad(gx, self.needs_input_grad)


class ConvWeightGrad(Function):
    """dw = cols(x)^T @ g_rows, reshaped to (O, C, kh, kw): x correlated with g."""

    cols = rows = None

    def forward(self, x, g):
        """Arrays x (B, C, H, W), g (B, O, OH, OW) -> dw (O, C, kh, kw)."""
        rows = self.rows if self.rows is not None else _rows(g)
        gw, _ = _weight_and_bias_grads(x, rows, self.geom, self.cols)
        self.cols = None  # scratch memory: not kept
        return gw

    def backward(self, gw):
        """gw (O, C, kh, kw) -> dx = ConvTranspose2d(g, gw), dg = Conv2d(x, gw)."""
        x, g = self.inputs
        gx = ConvTranspose2d.apply(g, gw, geom=self.geom, rows=self.rows) if self.needs_input_grad[0] else None
        gg = Conv2d.apply(x, gw, geom=self.geom) if self.needs_input_grad[1] else None
        return gx, gg


def _weight_and_bias_grads(x, rows, geom, cols=None, with_bias=False):
    """dw = cols(x)^T @ rows as (O, C, kh, kw), and with ``with_bias`` db = ones @ rows (the sum of
    g over batch and pixels), else None. ``rows``: g as (B*OH*OW, O); ``cols``: x's columns, if made.

    Without cols the product is summed over slices of the batch (rows and columns sliced alike),
    and each slice's share of db is made by the thread that multiplies it, just after: its rows
    are then still in cache, and no one-thread pass over all the rows is left for later. db is a
    product with a row of ones because that streams through the rows, where NumPy's sum over the
    outer axis goes row by row (50176 rows of 32: 240 against 1073 us, 2026-12-07).
    """
    xp, (kh, kw), (O, C) = backend.array_module(x), geom.kernel, (rows.shape[1], x.shape[1])
    bias = (lambda r: xp.ones((1, r.shape[0]), r.dtype) @ r) if with_bias else (lambda r: None)  # noqa: E731
    gathered = cols is None and _gathers(O, C)
    if cols is not None:
        parts = [(parallel.matmul(rows.T, cols), bias(rows))]  # (O, kh*kw*C), (1, O)
    elif gathered:
        parts = _gathered_weight_grad(x, rows, geom, bias)  # each (C, kh*kw*O)
    else:
        pixels = geom.out[0] * geom.out[1]

        def products(s):
            r = rows[s.start * pixels : s.stop * pixels]
            return r.T @ im2col(x[s], geom), bias(r)

        parts = parallel.split_map(products, batch_slices(x, geom), x)
    gw, gb = 0, 0
    for part, part_b in parts:
        gw = gw + part  # summed in the slices' order, however many threads made them
        gb = None if part_b is None else gb + part_b
    gw = gw.reshape(C, kh, kw, O).transpose(3, 0, 1, 2) if gathered else gw.reshape(O, kh, kw, C).transpose(0, 3, 1, 2)
    return xp.ascontiguousarray(gw), (None if gb is None else gb[0])


def _full_geometry(geom, g_shape, w_shape):
    """For a stride-1 conv, the geometry that makes conv_transpose2d(g, w) a plain convolution.

    With stride 1 every input pixel is read by the kernel at all kh*kw offsets, so scattering g
    back through w is the same as sliding the flipped kernel, with input and output channels
    swapped, over g padded by d(k-1) - p ("full" correlation):

        conv_transpose2d(g, w, padding=p) = conv2d(g, flip(w).transpose(0, 1), padding=d(k-1) - p)

    It pays when the result has at least as many channels as g (w is (O, C, kh, kw) with C >= O),
    where the scatter writes C-wide rows kh*kw times: 49 ms against 94 ms for 32 -> 96 channels at
    28x28, batch 64; with C = O, 3.3 against 4.9 ms (32 channels, 14x14: the MNIST DCGAN's refining
    conv) and 42 against 54 ms (64, 28x28). It measured 0.73-1.05x the scatter's time where C = O/2
    and 1.4-1.8x where C is 1 or 3 (an image's gradient), so those keep the scatter. The DDPM UNet
    step took 864 ms against 930 with C > O as the rule (one thread, 2026-12-07). None where it does
    not apply (tests/test_fast_kernels.py checks both routes against each other).
    """
    if geom.stride != (1, 1) or w_shape[1] < w_shape[0]:
        return None
    padding = tuple(d * (k - 1) - p for k, p, d in zip(geom.kernel, geom.padding, geom.dilation))
    if min(padding) < 0:
        return None
    full = Geometry(geom.kernel, (1, 1), padding, geom.dilation, g_shape[2:])
    return full if full.out == geom.size else None


def _one_product_per_slice(out_channels, in_channels):
    """Whether the scatter of a strided transpose conv makes one product per batch slice, g's rows
    times every offset's weights (O, kh*kw*C), or one per kernel offset (O, C) (its else branch).

    Per offset, each product is (rows, O) @ (O, C): with few result channels C a matrix-vector
    product, and with a narrow O a small one; one (O, kh*kw*C) product per 4 MB slice runs nearer
    BLAS's rate, and col2im reads its values while they are in cache. Measured at batch 64, one
    thread (2026-12-07): 64 -> 1 channels, 14 -> 28 pixels (the DCGAN's image gradient) 2.86 ->
    1.04 ms; 64 -> 3, 7.3 -> 4.2 ms; 32 -> 1 at 28x28, 3.8 -> 2.1 ms; 128 -> 64, 7 -> 14 (the
    DCGAN generator's first layer) 10.7 -> 9.2 ms; 64 -> 64 and 64 -> 32, 0.92-0.99x. With a narrow
    O and more result channels the offsets' products won (32 -> 16 at 28x28: 12.1 against 15.5 ms;
    32 -> 32 a tie), so those keep them.
    """
    return in_channels <= 4 or out_channels >= 64


def _conv_rows(x, w, geom, cols=None, bias=None):
    """conv2d on arrays [+ bias], as rows (B*OH*OW, O): im2col (unless given) and one product,
    or one product per slice of the batch when the columns are large (see batch_slices); to few
    channels, the gather route (``_gathers``)."""
    if cols is None and _gathers(w.shape[0], w.shape[1]):
        return _gathered_rows(x, w, geom, bias)
    w_mat = _weight_matrix(w).T  # (kh*kw*C, O)
    slices = batch_slices(x, geom)
    if cols is not None or len(slices) == 1:
        out = parallel.matmul(im2col(x, geom) if cols is None else cols, w_mat)
        if bias is not None:
            out += bias  # in place on the fresh product: no extra pass over a new array
        return out
    xp, pixels = backend.array_module(x), geom.out[0] * geom.out[1]
    out = xp.empty((x.shape[0] * pixels, w.shape[0]), dtype=x.dtype)

    def product(s):  # each slice's rows land in their place in the output, the bias added while in cache
        rows = xp.matmul(im2col(x[s], geom), w_mat, out=out[s.start * pixels : s.stop * pixels])
        if bias is not None:
            rows += bias

    parallel.split_map(product, slices, x)
    return out


def _gathers(out_channels, in_channels):
    """Whether a convolution to few channels (an image: O <= 4, and C at least 8 O) skips im2col:
    one product of the padded image's pixels with every offset's weights (C, kh*kw*O), then each
    offset's shifted share summed (``_gathered_rows``), and for its weight gradient the transpose
    of that (``_gathered_weight_grad``).

    The columns are kh*kw*C values a pixel, the products here kh*kw*O. The MNIST UNet's last conv
    (32 -> 1 channels, 3x3, batch 64 at 28x28) wrote 58 MB of columns for a 288-long matrix-vector
    product. Forward / backward at one thread, im2col -> this (2026-12-07): 32 -> 1, 6.8 / 8.4 ->
    2.1 / 4.4 ms; 32 -> 3, 10.3 / 13.1 -> 4.9 / 8.9; 64 -> 4 at 14x14, 4.6 / 6.9 -> 2.1 / 3.4;
    8 -> 1, 1.8 / 3.1 -> 1.1 / 2.6; but 16 -> 4, 4.9 / 7.1 -> 4.6 / 9.8 and 8 -> 2, 2.5 / 4.2 ->
    3.3 / 5.5 (C = 4 O: the products grow back towards the columns). Two threads alike.
    """
    return out_channels <= 4 and 8 * out_channels <= in_channels


def _gathered_rows(x, w, geom, bias=None):
    """conv2d of x (B, C, H, W) with w (O, C, kh, kw) [+ bias] as rows (B*OH*OW, O), for few O
    (``_gathers``): per batch slice, P = padded pixels @ (C, kh*kw*O), then sum_windows(P)."""
    (B, C), (O, _, kh, kw), (OH, OW) = x.shape[:2], w.shape, geom.out
    xp = backend.array_module(x)
    w_all = w.transpose(1, 2, 3, 0).reshape(C, kh * kw * O)  # every offset's weights, side by side
    out = xp.empty((B, OH, OW, O), dtype=x.dtype)

    def gather(s):
        padded = pad_nhwc(x[s], geom.padding, reuse=True)
        values = scratch(xp, padded.shape[:3] + (kh, kw, O), x.dtype, "offset values")
        xp.matmul(padded.reshape(-1, C), w_all, out=values.reshape(-1, kh * kw * O))
        sum_windows(values, geom, out[s])
        if bias is not None:
            out[s] += bias

    parallel.split_map(gather, batch_slices(x, geom, O), x)
    return out.reshape(B * OH * OW, O)


def _gathered_weight_grad(x, rows, geom, bias):
    """The weight gradient of a convolution to few channels (``_gathers``), one (C, kh*kw*O) part per
    batch slice: the padded pixels^T @ g spread back to the pixels each offset read
    (spread_windows). Each part comes paired with ``bias(its slice's rows)``, as in
    _weight_and_bias_grads."""
    (B, C), (OH, OW), (kh, kw), O = x.shape[:2], geom.out, geom.kernel, rows.shape[1]
    xp = backend.array_module(x)
    g = rows.reshape(B, OH, OW, O)

    def product(s):
        padded = pad_nhwc(x[s], geom.padding, reuse=True)
        values = scratch(xp, padded.shape[:3] + (kh, kw, O), x.dtype, "offset values")
        spread_windows(g[s], geom, values)
        return padded.reshape(-1, C).T @ values.reshape(-1, kh * kw * O), bias(rows[s.start * OH * OW : s.stop * OH * OW])

    return parallel.split_map(product, batch_slices(x, geom, O), x)


def _bias_with_weight_grad(needs_input_grad, rows):
    """Whether Conv2d.backward makes the weight and bias gradients in one split pass
    (``_weight_and_bias_grads``): both wanted, split_over_cores() on, no graph recorded. On one
    thread the bias keeps the sum op, whose order of additions (and so its bits) a ones-product
    would change; with a graph it must be an op."""
    return (
        len(needs_input_grad) == 3 and needs_input_grad[1] and needs_input_grad[2] and rows is not None
        and parallel.threads_for(rows) > 1 and not grad_mode.is_grad_enabled()
    )


def _bias_grad(g, needs_input_grad):
    """() without a bias input; else (db,) with db = sum of g over batch and pixels, as the sum op
    (differentiable, and on one thread the bits it always had). Split over cores, Conv2d makes it
    beside the weight gradient instead (``_weight_and_bias_grads``)."""
    if len(needs_input_grad) < 3:
        return ()
    return (g.sum(dim=(0, 2, 3)) if needs_input_grad[2] else None,)


@kernels.fast_kernel(reading.convolve)
def convolve(x, weight, bias, geom):
    """conv2d on checked arguments, as one channels-last op."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, geom=geom)


@kernels.fast_kernel(reading.convolve_transpose)
def convolve_transpose(x, weight, bias, geom):
    """conv_transpose2d on checked arguments, as one channels-last op."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d.apply(*inputs, geom=geom)
