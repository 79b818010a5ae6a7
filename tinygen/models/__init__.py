"""The models built on the engine, one short file each."""

from .classifier import ConvClassifier
from .ddpm import GaussianDiffusion
from .denoisers import MLPDenoiser
from .unet import UNet
from .score import NoiseConditionalScore
from .flow import RealNVP
from .ae import Autoencoder, ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder
from .vae import CVAE, VAE
from .gumbel import GumbelVAE
from .vqvae import VQVAE
from .gan import DCDiscriminator, DCGenerator, MLPDiscriminator, MLPGenerator
