"""The differentiable primitives, one family per file.

elementwise  + - * / ** exp log sqrt abs maximum minimum where clamp cast
reduce       sum mean var amax amin logsumexp, and broadcast_to / sum_to
shape        reshape permute index cat stack pad squeeze unsqueeze flatten
linalg       matmul, linear
activation   relu leaky_relu sigmoid tanh softplus silu gelu softmax log_softmax
loss         the training losses
conv         conv2d, conv_transpose2d: im2col and one matrix product
pool         max_pool2d, avg_pool2d, interpolate (nearest, bilinear)
functions    sin cos log1p expm1 erf
indexing     gather scatter_add index_select flip roll narrow (indexing and its scatter)
scan         cumsum cumprod
norms        norm dist normalize cosine_similarity
einsum       einsum, as permute, reshape, sum and matmul

Each file is the reading path: the textbook form of its ops. A few functions here are marked
``@kernels.replaceable``; tinygen/fast/ holds their measured drop-ins.
"""
