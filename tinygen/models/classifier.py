"""A small convolutional classifier for 1-channel digit images (8x8 digits, 28x28 MNIST).

Two conv blocks halve the image twice, then two dense layers. Besides classifying, it is
the feature extractor behind the image-quality metrics: ``features(x)`` returns the
penultimate activations that a Frechet distance compares.
"""

from .. import nn


class ConvClassifier(nn.Module):
    def __init__(self, image_size=28, in_channels=1, num_classes=10, width=32, hidden=128, dropout=0.25):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"ConvClassifier: image_size must be a multiple of 4 (two 2x poolings), got {image_size}")
        self.image_size, self.in_channels = image_size, in_channels
        s = image_size // 4
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (B, w, H/2, W/2)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # (B, 2w, H/4, W/4)
            nn.Flatten(),                                                              # (B, 2w * H/4 * W/4)
        )
        self.hidden = nn.Sequential(nn.Linear(2 * width * s * s, hidden), nn.ReLU())   # (B, hidden)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_classes)) # (B, classes)

    def features(self, x):
        """Penultimate activations (B, hidden): what the Frechet distance compares."""
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"ConvClassifier: expected images of shape (B, {', '.join(map(str, expected))}), got {x.shape}")
        return self.hidden(self.conv(x))

    def forward(self, x):
        return self.head(self.features(x))  # logits
