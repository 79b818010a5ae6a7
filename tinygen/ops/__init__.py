"""The differentiable primitives, one family per file.

elementwise  + - * / ** exp log sqrt abs maximum minimum where clamp cast
reduce       sum mean var amax amin logsumexp, and broadcast_to / sum_to
shape        reshape permute index cat stack pad squeeze unsqueeze flatten
linalg       matmul, linear (a dense layer as one op)
activation   relu leaky_relu sigmoid tanh softplus silu gelu softmax log_softmax
loss         the training losses
conv         conv2d, conv_transpose2d: im2col and one matrix product
pool         max_pool2d, avg_pool2d, nearest interpolate
norm         group_norm as one op (the UNet's layer: far less memory kept for backward)
"""
