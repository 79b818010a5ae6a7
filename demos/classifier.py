"""Train a small convolutional classifier on digit images, with every piece from tinygen.

    python demos/classifier.py                      # 8x8 digits (ships with scikit-learn), < 1 min
    python demos/classifier.py --dataset mnist      # 28x28 MNIST, 3 epochs, >= 98% test accuracy

Writes to --out: loss.png (training loss and test accuracy), predictions.png (test images
with the predicted label; wrong ones marked), metrics.json and checkpoint.npz. The trained
classifier is also what the image-quality metrics of the generative demos build on.
"""

import math
import time

import common

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import optim, viz
from tinygen.data import DataLoader, load_dataset
from tinygen.models import ConvClassifier
from tinygen.models.classifier import EPOCHS, LRS, RECIPES, random_shift, recipe_lr  # the same recipe trains the metrics' classifier
from tinygen.progress import progress


def evaluate(model, images, labels, device, batch_size=1000):
    """Test accuracy and the predicted labels; the count stays on the device until the end."""
    model.eval()
    correct, predictions = 0, []
    with tg.no_grad():
        for x, y in DataLoader((images, labels), batch_size=batch_size, device=device):
            predicted = model(x).argmax(dim=1)
            correct = correct + (predicted == y).sum()
            predictions.append(predicted)
    model.train()
    return int(correct) / len(labels), tg.cat(predictions).numpy()


def parse(argv=None):
    """The command line (demos/common.py); --epochs and --lr default to the dataset's recipe (RECIPES)."""
    parser = common.make_parser(
        "classifier", __doc__.split("\n")[0], ["digits", "mnist", "fashion-mnist"], "digits",
        batch_size=128, lr=LRS, epochs=EPOCHS,
    )
    args = common.parse_args(parser, argv)
    if args.epochs is None:
        args.epochs = EPOCHS[args.dataset]
    if args.lr is None:
        args.lr = LRS[args.dataset]
    return args


def main(argv=None):
    args = parse(argv)
    out = common.start_run(args)

    train_x, train_y = load_dataset(args.dataset, "train", root=args.data_root)
    test_x, test_y = load_dataset(args.dataset, "test", root=args.data_root)
    if args.quick:  # a smoke run: little data, one epoch (unless --epochs says otherwise)
        args.epochs = args.epochs if "epochs" in args.given else 1
        train_x, train_y, test_x, test_y = train_x[:512], train_y[:512], test_x[:256], test_y[:256]

    model = ConvClassifier(image_size=train_x.shape[-1]).to(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loader = DataLoader((train_x, train_y), batch_size=args.batch_size, shuffle=True, seed=args.seed, device=args.device)
    history = {"loss": [], "test_accuracy": []}
    step, seconds = 0, 0.0  # step: optimiser steps, len(loader) of them per epoch

    trained = {"model": model, "optimizer": optimizer}
    config = common.run_config(args, ())
    state = common.resume_state(args, out, config)
    per_epoch = len(loader)
    if state is not None:
        common.restore(state, trained)
        common.set_lr([optimizer], args.lr)
        step, history, seconds = state["step"], state["history"], state["seconds"]
        common.check_progress(math.ceil(step / per_epoch), args.epochs, "--epochs", common.checkpoint_path(out))
    log = common.LossLog(args, history, ("loss",), step)
    batches = common.Batches(loader, start=step)  # a resumed run goes on with the very next batch
    began = time.perf_counter()

    def save(at):
        log.flush()  # the history is complete up to the step saved, and checked
        common.save_checkpoint(out, trained, config, step=at, epoch=at // per_epoch, history=history,
                               seconds=seconds + time.perf_counter() - began)

    with common.Checkpoints(args, args.epochs * per_epoch) as checkpoints:  # every --checkpoint-every, and on Ctrl-C
        for epoch in range(step // per_epoch, args.epochs):
            bar = progress(per_epoch, desc=f"epoch {epoch + 1}/{args.epochs}", quiet=args.quiet)
            bar.update(step - epoch * per_epoch)
            while step < (epoch + 1) * per_epoch:
                x, y = batches.next()
                for group in optimizer.param_groups:  # the recipe's cosine (if any) over its own epochs
                    group["lr"] = recipe_lr(args.dataset, args.lr, step, per_epoch)
                x = random_shift(x, RECIPES[args.dataset]["shift"])  # each digit moved by up to a pixel
                loss = F.cross_entropy(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                log.add(loss)  # read back in batches; a NaN stops the run (common.Diverged)
                bar.update()
                bar.set(loss=loss)
                if step < (epoch + 1) * per_epoch:  # the epoch's last step is saved with its test accuracy
                    checkpoints.step_done(step, save)
            bar.close()
            accuracy, _ = evaluate(model, test_x, test_y, args.device)
            history["test_accuracy"].append(accuracy)
            print(f"epoch {epoch + 1}: test accuracy {accuracy:.4f}")
            checkpoints.step_done(step, save)
        checkpoints.step_done(step, save, final=True)
    seconds += time.perf_counter() - began

    accuracy, predicted = evaluate(model, test_x, test_y, args.device)
    steps_per_epoch = len(loader)
    accuracies = ", ".join(f"{a:.3f}" for a in history["test_accuracy"])
    viz.loss_curves({"training loss": history["loss"]}, out / "loss.png", smooth=max(1, steps_per_epoch // 10),
                    log_y=True, title=f"cross-entropy; test accuracy per epoch: {accuracies}")
    # twelve test images with the predicted label; a wrong one also shows the true label
    shown = range(12)
    viz.frame_strip([test_x[i, 0] for i in shown], out / "predictions.png",
                    titles=[f"{predicted[i]}" if predicted[i] == test_y[i] else f"{predicted[i]} (true {test_y[i]})" for i in shown])
    metrics = {"test_accuracy": accuracy, "epochs": args.epochs, "train_images": len(train_y),
               "test_images": len(test_y), "parameters": sum(p.numel() for p in model.parameters())}
    path = common.write_metrics(out, args, metrics, seconds)
    print(f"test accuracy {accuracy:.4f} after {args.epochs} epochs ({seconds:.0f} s of training); wrote {path}")
    return metrics


if __name__ == "__main__":
    common.run(main)
