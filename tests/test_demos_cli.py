"""The demos' command lines (real defaults in --help, the same values as before) and that every
demo and benchmark stands alone: no demo imports another, no script edits sys.path. Fast: no training."""

import ast
import pathlib
import re

import pytest
from _scripts import ROOT, load_script

DEMOS = sorted(p.stem for p in (ROOT / "demos").glob("*.py") if p.stem != "common")
# the options that once defaulted to 0 and were filled in per dataset later
PER_DATASET = ("--steps", "--epochs", "--batch-size", "--lr", "--timesteps", "--ema-decay", "--num-samples")


def help_entries(name, capsys):
    """{option: its help text} from ``python demos/NAME.py --help``."""
    with pytest.raises(SystemExit) as done:
        load_script(f"demos/{name}.py").parse(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out.split("options:", 1)[1]
    entries = re.split(r"\n  (?=-)", text)[1:]
    return {entry.split()[0].rstrip(","): " ".join(entry.split()) for entry in entries}


@pytest.mark.parametrize("name", DEMOS)
def test_help_shows_a_real_default_for_every_option_that_takes_a_value(name, capsys):
    for option, text in help_entries(name, capsys).items():
        takes_value = re.match(r"\S+ (\{|[A-Z_]+\b)", text)  # --steps STEPS, --dataset {a,b}
        if not takes_value or option == "-h":
            continue
        assert "default" in text, f"{name} {option}: --help shows no default: {text}"
        assert "(default: None)" not in text, f"{name} {option}: {text}"
        if option in PER_DATASET:
            assert not re.search(r"\(default: 0(\.0)?\)", text), f"{name} {option}: a 0 sentinel: {text}"


def test_per_dataset_defaults_are_the_documented_ones():
    gan, ddpm = load_script("demos/gan.py"), load_script("demos/ddpm.py")
    args = gan.parse(["--dataset", "digits"])
    assert (args.steps, args.batch_size, args.lr, args.pack, args.latent_dim) == (3000, 64, 2e-4, 2, 32)
    args = gan.parse([])
    assert (args.steps, args.batch_size, args.lr, args.pack, args.n_critic) == (24000, 512, 1e-3, 4, 5)
    assert gan.parse(["--steps", "7", "--batch-size", "8"]).steps == 7
    args = ddpm.parse([])
    assert (args.steps, args.batch_size, args.lr, args.timesteps, args.ema_decay, args.sampler, args.num_samples) == \
        (2500, 64, 1e-3, 1000, 0.999, "ddpm", 100)
    args = ddpm.parse(["--dataset", "moons"])
    assert (args.steps, args.batch_size, args.lr, args.ema_decay, args.num_samples) == (5000, 512, 2e-3, 0.995, 1000)
    assert ddpm.parse(["--dataset", "mnist"]).sampler == "ddim"
    assert ddpm.parse(["--quick"]).steps == 20
    for name in ("vae", "ae"):
        demo = load_script(f"demos/{name}.py")
        assert demo.parse([]).steps == 4000 and demo.parse(["--dataset", "mnist"]).steps == 6000
        assert demo.parse(["--quick"]).steps == 20 and demo.parse(["--quick", "--steps", "3"]).steps == 3
    classifier = load_script("demos/classifier.py")
    assert (classifier.parse([]).epochs, classifier.parse([]).lr) == (60, 3e-3) and classifier.parse(["--dataset", "mnist"]).epochs == 3


def test_vqvae_per_dataset_defaults_are_the_documented_ones():
    vqvae = load_script("demos/vqvae.py")
    args = vqvae.parse([])
    assert (args.steps, args.num_codes, args.prior_steps, args.batch_size, args.lr) == (4000, 16, 1500, 128, 1e-3)
    args = vqvae.parse(["--dataset", "mnist"])
    assert (args.steps, args.num_codes, args.prior_steps) == (3000, 32, 3000)
    assert vqvae.parse(["--quick"]).steps == 20 and vqvae.parse(["--quick"]).prior_steps == 20


def imported_modules(path):
    """The top-level names a script imports (``import x.y`` and ``from x.y import z`` give "x")."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("folder", ["demos", "benchmarks"])
def test_scripts_stand_alone(folder):
    scripts = sorted((ROOT / folder).glob("*.py"))
    siblings = {p.stem for p in scripts} - {"common", "_timing"}  # the one shared module of each folder
    for path in scripts:
        assert not imported_modules(path) & (siblings | {"demos", "benchmarks"}), \
            f"{folder}/{path.name} imports another script: share through the package or the folder's shared module"
        assert "sys.path" not in path.read_text(), f"{folder}/{path.name} edits sys.path"


def test_gan_demo_refines_the_mnist_generator_by_default_and_refuses_it_for_2d_data():
    gan = load_script("demos/gan.py")
    assert gan.parse(["--dataset", "mnist"]).refine is True
    assert gan.parse(["--dataset", "digits"]).refine is False
    assert gan.parse(["--dataset", "digits", "--refine"]).refine is True
    assert gan.parse(["--dataset", "mnist", "--no-refine"]).refine is False
    assert gan.parse([]).refine is False  # 2-D data: an MLP generator
    with pytest.raises(SystemExit) as stop:
        gan.parse(["--refine"])
    assert stop.value.code == 2


def test_gan_demo_puts_batch_norm_in_d_for_images_but_never_with_a_gradient_penalty():
    gan = load_script("demos/gan.py")
    assert gan.parse(["--dataset", "digits"]).d_batch_norm is True
    assert gan.parse(["--dataset", "digits", "--loss", "wgan-gp"]).d_batch_norm is False
    assert gan.parse(["--dataset", "digits", "--no-d-batch-norm"]).d_batch_norm is False
    assert gan.parse([]).d_batch_norm is False  # 2-D data: MLPs, no BatchNorm
    for bad in (["--dataset", "digits", "--loss", "wgan-gp", "--d-batch-norm"], ["--d-batch-norm"]):
        with pytest.raises(SystemExit) as stop:
            gan.parse(bad)
        assert stop.value.code == 2
