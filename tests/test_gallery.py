"""The README gallery: demos/gallery.py regenerates it, and every image the README links exists."""

import json
import pathlib
import re

import numpy as np
import pytest
from _scripts import load_script

ROOT = pathlib.Path(__file__).resolve().parents[1]
gallery = load_script("demos/gallery.py")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path):
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG file"
    return imread(path)  # raises on a truncated or corrupt file


# what a default run makes: every image but those of the long runs (see LONG_RUNS)
DEFAULT_IMAGES = sorted(name for name, (needed, _) in gallery.IMAGES.items()
                        if all(run in gallery.DEFAULT_RUNS for run in needed))


def readme_images():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text) + re.findall(r"<img[^>]*\ssrc=\"([^\"]+)\"", text)


@pytest.fixture(scope="module")
def quick_gallery(tmp_path_factory):
    """One --quick run of every demo (about 20 s), shared by the tests below."""
    folder = tmp_path_factory.mktemp("gallery")
    before = {p.name: p.stat().st_mtime_ns for p in (ROOT / "docs" / "gallery").glob("*")}
    headlines, made = gallery.main(["--quick", "--out", str(folder / "runs"), "--gallery", str(folder / "images")])
    after = {p.name: p.stat().st_mtime_ns for p in (ROOT / "docs" / "gallery").glob("*")}
    assert before == after, "--quick must never touch docs/gallery/"
    return folder, headlines, made


@pytest.mark.slow  # runs the demos
def test_quick_run_writes_every_gallery_image(quick_gallery):
    folder, _, made = quick_gallery
    assert sorted(p.name for p in made) == DEFAULT_IMAGES
    assert sorted(p.name for p in (folder / "images").iterdir()) == DEFAULT_IMAGES
    for path in made:
        image = read_png(path)
        assert image.ndim == 3 and max(image.shape[:2]) >= 256, (path.name, image.shape)
        assert path.stat().st_size <= gallery.MAX_BYTES, path.name
        assert image[..., :3].std() > 0.01, f"{path.name} is blank"


@pytest.mark.slow  # runs the demos
def test_side_by_side_image_is_both_figures_next_to_each_other(quick_gallery):
    folder, _, _ = quick_gallery
    left = read_png(folder / "runs" / "ae" / "ae_latent_grid.png")
    right = read_png(folder / "runs" / "ae" / "vae_latent_grid.png")
    joined = read_png(folder / "images" / "ae_latent_grids.png")
    assert joined.shape[0] == max(left.shape[0], right.shape[0])
    assert joined.shape[1] == left.shape[1] + 16 + right.shape[1]
    np.testing.assert_allclose(joined[: left.shape[0], : left.shape[1], :3], left[..., :3], atol=1 / 255)


@pytest.mark.slow  # runs the demos
def test_headline_numbers_come_from_each_run(quick_gallery):
    folder, headlines, _ = quick_gallery
    assert list(headlines) == gallery.DEFAULT_RUNS
    record = json.loads((folder / "runs" / "metrics.json").read_text())["metrics"]
    assert record["runs"] == json.loads(json.dumps(headlines))
    assert sorted(record["images"]) == DEFAULT_IMAGES
    vae = json.loads((folder / "runs" / "vae" / "metrics.json").read_text())["metrics"]
    assert headlines["vae"]["test_neg_elbo"] == vae["test_neg_elbo"]
    assert "test_iwae_nll_k10" in headlines["vae"]  # a pattern key: the k depends on the run
    for run in ("gan", "gan-plain"):  # the GAN rows: what each run measured, not the dataset's mode count
        gan = json.loads((folder / "runs" / run / "metrics.json").read_text())["metrics"]
        assert {k: headlines[run][k] for k in ("modes_captured", "high_quality", "reverse_kl")} == \
            {k: gan[k] for k in ("modes_captured", "high_quality", "reverse_kl")}
        assert 0 <= headlines[run]["modes_captured"] <= headlines[run]["modes"] == 25
    assert 0.0 < headlines["ddpm-moons"]["floor"] < headlines["ddpm-moons"]["swd"]  # 20 steps: far from data


@pytest.mark.slow  # runs the demos
def test_only_remakes_the_images_of_the_runs_asked_for(quick_gallery, tmp_path):
    folder, _, _ = quick_gallery
    headlines, made = gallery.main(["--quick", "--only", "ae,vae", "--out", str(folder / "runs"),
                                    "--gallery", str(tmp_path)])
    assert list(headlines) == ["ae", "vae"]
    assert sorted(p.name for p in made) == ["ae_latent_grids.png", "ae_latent_spaces.png", "vae_samples.png"]


@pytest.mark.slow  # runs the demos
def test_copy_only_remakes_every_image_without_training(quick_gallery, tmp_path):
    folder, headlines, _ = quick_gallery
    checkpoint = folder / "runs" / "gan" / "checkpoint.npz"
    trained_at = checkpoint.stat().st_mtime_ns
    again, made = gallery.main(["--quick", "--copy-only", "--out", str(folder / "runs"), "--gallery", str(tmp_path)])
    assert checkpoint.stat().st_mtime_ns == trained_at
    assert sorted(p.name for p in made) == DEFAULT_IMAGES
    assert again["gan"]["modes_captured"] == headlines["gan"]["modes_captured"]


@pytest.mark.slow  # runs the demos
def test_long_runs_need_asking_for_and_make_their_images(tmp_path):
    from tinygen.data import dataset_dir

    assert set(gallery.LONG_RUNS) <= set(gallery.RUNS), "a long run that is no run"
    assert gallery.parse([]).only == gallery.DEFAULT_RUNS
    mnist = dataset_dir("mnist")  # where the demos look: --data-root, $TINYGEN_DATA, ~/.cache/tinygen
    if not (mnist / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST files not found (set $TINYGEN_DATA)")
    headlines, made = gallery.main(["--quick", "--only", "ddpm-mnist", "--data-root", str(mnist.parent),
                                    "--out", str(tmp_path / "runs"), "--gallery", str(tmp_path / "images")])
    assert list(headlines) == ["ddpm-mnist"]
    assert sorted(p.name for p in made) == ["ddpm_mnist_guided.png", "ddpm_mnist_reverse.png"]
    for path in made:
        assert read_png(path)[..., :3].std() > 0.01, f"{path.name} is blank"


def test_big_figures_are_shrunk_below_the_limit(tmp_path):
    rng = np.random.default_rng(0)
    noise = rng.random((600, 600, 3)).astype("float32")  # incompressible: ~1 MB at full size
    path = gallery._write(noise, tmp_path / "noise.png")
    shrunk = read_png(path)
    assert path.stat().st_size <= gallery.MAX_BYTES
    assert shrunk.shape[0] < 600 and shrunk.shape[0] == shrunk.shape[1]
    flat = np.full((200, 300, 3), 0.5, dtype="float32")  # small already: kept pixel for pixel
    kept = read_png(gallery._write(flat, tmp_path / "flat.png"))
    assert kept.shape[:2] == (200, 300)
    np.testing.assert_allclose(kept[..., :3], 0.5, atol=1 / 255)


def test_bad_options_are_refused(capsys):
    with pytest.raises(SystemExit):
        gallery.parse(["--only", "vae,nope"])
    assert "nope" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        gallery.parse(["--quick", "--gallery", str(ROOT / "docs" / "gallery")])
    assert "never overwrites" in capsys.readouterr().err


def test_every_image_the_readme_links_exists_and_is_small():
    linked = readme_images()
    assert linked, "README.md links no images"
    for link in linked:
        path = ROOT / link
        assert path.is_file(), f"README.md links {link}, which is not in the repository"
        if path.suffix == ".png":
            read_png(path)
            assert path.stat().st_size <= gallery.MAX_BYTES, link


def test_readme_gallery_shows_every_image_in_docs_gallery_and_how_to_remake_it():
    linked = {pathlib.PurePosixPath(link).name for link in readme_images() if link.startswith("docs/gallery/")}
    on_disk = {p.name for p in (ROOT / "docs" / "gallery").glob("*.png")}
    assert linked == on_disk, "README.md and docs/gallery/ disagree"
    assert on_disk <= set(gallery.IMAGES), "docs/gallery/ holds images demos/gallery.py does not make"
    assert "python demos/gallery.py" in (ROOT / "README.md").read_text()
