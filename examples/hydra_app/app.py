"""A tiny Hydra training app that writes what the multirun format describes.

Each job writes, in its own directory: ``cfg.yaml`` (its composed config),
``facts/metrics.csv`` in PyTorch Lightning's CSVLogger layout (train and val rows per
epoch; written when training ends, as the logger flushes), ``figures/loss.svg``,
``model.pt`` and Hydra's own ``.hydra/`` and job log. A job whose ``lr`` is above
``max_lr`` diverges and raises before its metrics are flushed: it has no ``facts/``.

With ``hydra.callbacks.mlflow_sweep`` (see conf/config.yaml) the sweep is logged into
MLflow as it runs; without it, ``mlflow-sweep import-hydra multirun/<date>`` logs it
afterwards, with the same result.
"""

import csv
import logging
import math
import os

import hydra
from omegaconf import OmegaConf

log = logging.getLogger(__name__)


def train(cfg):
    rows = []
    for epoch in range(cfg.epochs):
        step = (epoch + 1) * 10 - 1
        train_loss = 1.0 / (1.0 + cfg.lr * cfg.model.width * (epoch + 1))
        if cfg.lr > cfg.max_lr and epoch == 1:
            raise FloatingPointError(f"loss diverged at epoch {epoch} (lr={cfg.lr})")
        val_loss = train_loss * 1.1
        rows.append({"epoch": epoch, "step": step, "train/loss": round(train_loss, 6)})
        rows.append({"epoch": epoch, "step": step, "val/loss": round(val_loss, 6)})
        log.info("epoch %d: train/loss %.4f val/loss %.4f", epoch, train_loss, val_loss)
    return rows


def write_svg(path, values):
    points = " ".join(f"{10 + 40 * i},{110 - 100 * v:.1f}" for i, v in enumerate(values))
    with open(path, "w") as fh:
        fh.write('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120">'
                 f'<polyline points="{points}" fill="none" stroke="black"/></svg>\n')


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg) -> float:
    OmegaConf.save(cfg, "cfg.yaml")
    rows = train(cfg)
    os.makedirs("facts", exist_ok=True)
    with open(os.path.join("facts", "metrics.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["epoch", "step", "train/loss", "val/loss"])
        writer.writeheader()
        writer.writerows(rows)
    os.makedirs("figures", exist_ok=True)
    write_svg(os.path.join("figures", "loss.svg"), [r["train/loss"] for r in rows if "train/loss" in r])
    if cfg.save_model:
        with open("model.pt", "wb") as fh:  # stands in for torch.save(model, "model.pt")
            fh.write(b"not a real checkpoint\n")
    final = rows[-1]["val/loss"]
    if not math.isfinite(final):
        raise FloatingPointError("val/loss is not finite")
    if cfg.log_to_mlflow:  # under the callback, MLFLOW_RUN_ID points at this job's run
        import mlflow

        mlflow.log_metric("final_val_loss", final)
    return final


if __name__ == "__main__":
    main()
