"""Classifier-based image metrics: Frechet distance, class histogram, the cached classifier, IWAE NLL."""

import numpy as np
import pytest

import tinygen as tg
from tinygen import metrics
from tinygen.data import dynamic_binarize, load_dataset
from tinygen.models import VAE, ConvClassifier
from tinygen.models import classifier as metric_classifier


def gaussian_set(seed, n=400, d=6, shift=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((d, d)) * 0.3 + np.eye(d)  # correlated features
    return (rng.standard_normal((n, d)) @ mixing * scale + shift).astype("float32")


def reference_fd(a, b):
    """The same distance by a different road: tr sqrt(S_a S_b) from the eigenvalues of the (non-symmetric) product."""
    a, b = a.astype("float64"), b.astype("float64")
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    trace_root = np.sqrt(np.clip(np.linalg.eigvals(sa @ sb).real, 0, None)).sum()
    return ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2 * trace_root


def test_frechet_distance_of_a_set_to_itself_is_zero():
    a = gaussian_set(0)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert metrics.frechet_distance(tg.tensor(a), tg.tensor(a)) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_matches_the_formula():
    a, b = gaussian_set(0), gaussian_set(1, shift=0.5, scale=1.7)
    assert metrics.frechet_distance(a, b) == pytest.approx(reference_fd(a, b), rel=1e-8)
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a), rel=1e-8)


def test_a_shift_adds_its_squared_length():
    a = gaussian_set(2)
    shift = np.array([1.0, -2.0, 0.0, 0.5, 0.0, 0.0], dtype="float32")
    assert metrics.frechet_distance(a, a + shift) == pytest.approx(float((shift**2).sum()), rel=1e-5)


def test_sqrtm_psd_squares_back():
    a = gaussian_set(3).astype("float64")
    cov = np.cov(a, rowvar=False)
    root = metrics.sqrtm_psd(cov)
    np.testing.assert_allclose(root @ root, cov, atol=1e-10)
    np.testing.assert_allclose(root, root.T)


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="frechet_distance"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


@pytest.fixture(scope="module")
def digits():
    train_x, train_y = load_dataset("digits", "train")
    test_x, test_y = load_dataset("digits", "test")
    return train_x, train_y, test_x, test_y


def test_classifier_metric_is_zero_on_identical_sets_and_grows_with_noise(digits):
    tg.manual_seed(0)
    classifier = ConvClassifier(image_size=8, width=4, hidden=16)
    test_x = digits[2]
    same = metrics.frechet_distance(metrics.classifier_features(classifier, test_x),
                                    metrics.classifier_features(classifier, test_x))
    assert same == pytest.approx(0.0, abs=1e-9)
    result = metrics.image_frechet(classifier, test_x, test_x, test_x)
    assert result["fd"] == pytest.approx(0.0, abs=1e-9) and result["fd_floor"] == pytest.approx(0.0, abs=1e-9)
    noise = np.random.default_rng(0).random(test_x.shape).astype("float32")
    result = metrics.image_frechet(classifier, noise, test_x, digits[0])
    assert result["fd"] > 3 * result["fd_floor"] > 0


def test_class_histogram_counts_and_balance(digits):
    classifier = ConvClassifier(image_size=8, width=4, hidden=16)
    images = digits[2][:50]
    hist = metrics.class_histogram(classifier, images)
    assert sum(hist["counts"]) == 50 and len(hist["counts"]) == 10
    with tg.no_grad():  # a classifier that always says 3: all mass on one class, KL = log 10
        classifier.head[1].weight.zero_()
        classifier.head[1].bias.copy_(tg.tensor(np.eye(10, dtype="float32")[3]))
    hist = metrics.class_histogram(classifier, images)
    assert hist["counts"][3] == 50
    assert hist["kl_uniform"] == pytest.approx(np.log(10))


def test_image_quality_gathers_the_frechet_distance_and_the_classes(digits):
    classifier = ConvClassifier(image_size=8, width=4, hidden=16)
    images = digits[2][:40]
    with tg.no_grad():  # a classifier that always says 3
        classifier.head[1].weight.zero_()
        classifier.head[1].bias.copy_(tg.tensor(np.eye(10, dtype="float32")[3]))
    result = metrics.image_quality(classifier, tg.tensor(images), digits[2], digits[0])
    assert result["class_counts"][3] == 40 and result["classes_seen"] == 1 and result["min_class_fraction"] == 0.0
    assert result["class_kl_uniform"] == pytest.approx(np.log(10))
    assert {k: result[k] for k in ("fd", "fd_floor", "fd_ratio")} == metrics.image_frechet(classifier, images, digits[2], digits[0])


def test_max_softmax_is_the_largest_probability_of_each_row():
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.2, 0.2, 0.6], [1 / 3, 1 / 3, 1 / 3]])) + np.array([[0.0], [7.0], [-3.0]])
    np.testing.assert_allclose(metrics.max_softmax(logits), [0.5, 0.6, 1 / 3], rtol=1e-12)
    np.testing.assert_allclose(metrics.max_softmax(tg.tensor(np.array([[1000.0, 0.0]]))), [1.0])  # no overflow


def known_softmax_classifier(probabilities):
    """A ConvClassifier whose softmax is ``probabilities`` whatever the image: zero head weights, log-p biases."""
    classifier = ConvClassifier(image_size=8, width=4, hidden=16)
    with tg.no_grad():
        classifier.head[1].weight.zero_()
        classifier.head[1].bias.copy_(tg.tensor(np.log(np.asarray(probabilities, dtype="float32"))))
    return classifier


def test_confidence_of_a_classifier_whose_softmax_is_known(digits):
    p = [0.55, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]
    classifier = known_softmax_classifier(p)
    noise = np.random.default_rng(0).random((30, 1, 8, 8)).astype("float32")
    assert metrics.classifier_confidence(classifier, noise) == pytest.approx(0.55, rel=1e-5)
    result = metrics.image_quality(classifier, tg.tensor(noise), digits[2], digits[0])
    assert result["confidence"] == pytest.approx(0.55, rel=1e-5) and result["confidence_real"] == pytest.approx(0.55, rel=1e-5)
    assert result["class_counts"][0] == 30


def test_confidence_is_the_mean_over_images_of_each_max_softmax(digits):
    tg.manual_seed(1)
    classifier = ConvClassifier(image_size=8, width=4, hidden=16)
    with tg.no_grad():
        classifier.head[1].weight.mul_(20.0)  # spread the softmax so the images differ
    images = digits[2][:37]
    classifier.eval()
    with tg.no_grad():
        probabilities = tg.softmax(classifier(tg.tensor(images)), dim=1).numpy()
    assert metrics.classifier_confidence(classifier, images) == pytest.approx(probabilities.max(axis=1).mean(), rel=1e-5)
    assert np.ptp(probabilities.max(axis=1)) > 0.05


@pytest.fixture(scope="module")
def trained_classifier():
    """The digits recipe on the first 1,200 training digits; the last 300 stay unseen."""
    model, accuracy = metric_classifier.train_classifier("digits", limit=1200, quiet=True)
    assert accuracy > 0.9
    return model


def test_confidence_is_near_the_real_figure_for_real_images_and_low_for_noise(digits, trained_classifier):
    train_x, _, test_x, _ = digits
    result = metrics.image_quality(trained_classifier, train_x[1200:], test_x, train_x[:1200])
    real = result["confidence_real"]
    assert real > 0.9 and result["confidence"] == pytest.approx(real, abs=0.05)  # unseen real digits score the real figure
    noise = np.random.default_rng(0).random((300, 1, 8, 8)).astype("float32")
    # seed 0: unseen 0.97, real 0.94, noise 0.73: a network is overconfident far from its data, so
    # noise is low only beside the real figure, nowhere near 1 / 10
    assert metrics.classifier_confidence(trained_classifier, noise) < real - 0.15


def test_load_classifier_trains_once_then_reads_the_cache(tmp_path, monkeypatch):
    calls, train = [], metric_classifier.train_classifier

    def quick_train(dataset, root=None, device="cpu", quiet=None, **kwargs):
        calls.append(dataset)
        return train(dataset, root, epochs=1, limit=128, device=device, quiet=True)

    monkeypatch.setattr(metric_classifier, "train_classifier", quick_train)
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "cache"))
    assert metric_classifier.classifier_path("digits", cache=tmp_path / "elsewhere") == \
        tmp_path / "elsewhere" / "classifiers" / "digits.npz"
    model, accuracy = metric_classifier.load_classifier("digits", root=tmp_path / "data", quiet=True)
    assert (tmp_path / "cache" / "classifiers" / "digits.npz").is_file()
    assert not (tmp_path / "data").exists()  # never into the data folder
    again, accuracy_again = metric_classifier.load_classifier("digits", root=tmp_path / "data", quiet=True)
    assert calls == ["digits"] and accuracy_again == accuracy and 0.0 <= accuracy <= 1.0
    for (name, p), (_, q) in zip(model.state_dict().items(), again.state_dict().items()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)


def test_a_classifier_cached_by_an_older_recipe_is_trained_again(tmp_path, monkeypatch):
    calls, train = [], metric_classifier.train_classifier

    def quick_train(dataset, root=None, device="cpu", quiet=None, **kwargs):
        calls.append(dataset)
        return train(dataset, root, epochs=1, limit=128, device=device, quiet=True)

    monkeypatch.setattr(metric_classifier, "train_classifier", quick_train)
    path = metric_classifier.classifier_path("digits", cache=tmp_path)
    path.parent.mkdir(parents=True)
    old = ConvClassifier(image_size=8)  # what the first recipe saved: no recipe_version in the file
    tg.save({"model": old.state_dict(), "test_accuracy": 0.926, "image_size": 8}, path)
    assert metric_classifier.RECIPES["digits"]["version"] > 1
    model, accuracy = metric_classifier.load_classifier("digits", quiet=True, cache=tmp_path)
    assert calls == ["digits"] and accuracy != 0.926
    assert int(tg.load(path)["recipe_version"]) == metric_classifier.RECIPES["digits"]["version"]  # rewritten
    metric_classifier.load_classifier("digits", quiet=True, cache=tmp_path)
    assert calls == ["digits"]  # and read from then on
    monkeypatch.setitem(metric_classifier.RECIPES, "digits", {**metric_classifier.RECIPES["digits"], "version": 99})
    metric_classifier.load_classifier("digits", quiet=True, cache=tmp_path)
    assert calls == ["digits", "digits"]  # a new recipe version: trained again


def test_random_shift_moves_each_image_by_at_most_a_pixel(digits):
    images = digits[0][:200]
    tg.manual_seed(4)
    shifted = metric_classifier.random_shift(tg.tensor(images, device="cpu")).numpy()
    assert shifted.shape == images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
    offsets = []
    for image, moved in zip(padded, shifted):
        matches = [(dy, dx) for dy in range(3) for dx in range(3) if np.array_equal(image[:, dy : dy + 8, dx : dx + 8], moved)]
        assert matches, "not a shift by up to one pixel"
        offsets.append(matches[0])
    assert len(set(offsets)) == 9  # every offset is drawn, the identity among them
    tg.manual_seed(4)
    np.testing.assert_array_equal(metric_classifier.random_shift(images), shifted)  # the seeded global stream
    assert metric_classifier.random_shift(images, 0) is images


def test_recipe_lr_follows_the_recipe_cosine_and_holds_at_zero():
    recipe = metric_classifier.RECIPES["digits"]
    total = recipe["epochs"] * 12
    assert metric_classifier.recipe_lr("digits", 0.01, 0, 12) == pytest.approx(0.01)
    assert metric_classifier.recipe_lr("digits", 0.01, total // 2, 12) == pytest.approx(0.005)
    assert metric_classifier.recipe_lr("digits", 0.01, total, 12) == pytest.approx(0.0, abs=1e-12)
    assert metric_classifier.recipe_lr("digits", 0.01, 2 * total, 12) == pytest.approx(0.0, abs=1e-12)
    assert metric_classifier.recipe_lr("mnist", 0.01, 123, 12) == 0.01  # MNIST's recipe: a constant rate


def test_training_the_classifier_leaves_the_global_rng_alone():
    tg.manual_seed(11)
    expected = tg.randn(3).numpy()
    tg.manual_seed(11)
    metric_classifier.train_classifier("digits", epochs=1, limit=64, quiet=True)
    np.testing.assert_array_equal(tg.randn(3).numpy(), expected)


def test_iwae_nll_is_the_mean_negative_bound_on_a_fixed_binarisation(digits):
    model = VAE.mlp((1, 8, 8), latent_dim=2, hidden=(16,))
    images = digits[2][:40]
    tg.manual_seed(3)
    nll = metrics.iwae_nll(model, images, k=20, batch_size=16)
    binary = dynamic_binarize(images, generator=tg.backend.host_rng(0))  # what iwae_nll does with binarize_seed=0
    assert set(np.unique(binary)) <= {0.0, 1.0}
    tg.manual_seed(3)
    by_hand = np.concatenate([-model.iwae_bound(tg.tensor(binary[i : i + 16]), k=20).numpy() for i in range(0, 40, 16)])
    assert nll == pytest.approx(by_hand.mean(), rel=1e-5)
    assert 0 < nll < 64 * np.log(2) + 20  # an untrained model is near 1 bit per pixel
