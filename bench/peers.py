"""Peers the benchmarks fit the same way everywhere: Chemprop 2 with ``chemprop train``'s defaults."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence

import numpy as np

from symmol.evaluation.metrics import task_metrics
from symmol.evaluation.splits import Split


def chemprop_fit(task: str, smiles: np.ndarray, y: np.ndarray, split: Split, targets: Sequence[str], metric: str,
                 seed: int, epochs: int = 50, threads: int = 2) -> tuple[float, float, int]:
    """Test metric, wall seconds and epochs run of one Chemprop 2 fit with ``chemprop train``'s defaults."""
    (scores,), seconds, epochs_run = chemprop_predictions(task, smiles, y, split, targets, seed, epochs, threads)
    return task_metrics(task, y[split.test], scores, list(targets))[metric], seconds, epochs_run


def chemprop_predictions(task: str, smiles: np.ndarray, y: np.ndarray, split: Split, targets: Sequence[str],
                         seed: int, epochs: int = 50, threads: int = 2, predict: Sequence[str] = ("test",)
                         ) -> tuple[list[np.ndarray], float, int]:
    """Predictions for the ``predict`` sets, wall seconds and epochs run of one Chemprop 2 fit (its defaults).

    ``BondMessagePassing`` (d_h 300, depth 3) on its 72 atom and 14 bond features, ``NormAggregation``,
    one FFN layer of 300, Noam schedule, batch 64, ``epochs`` epochs, the checkpoint with the best
    validation loss kept; regression targets standardised. Featurized once (``dataset.cache``).
    """
    import lightning.pytorch as pl
    import torch
    from chemprop import data as cdata
    from chemprop import featurizers, models, nn
    from lightning.pytorch.callbacks import ModelCheckpoint

    torch.set_num_threads(threads)
    pl.seed_everything(seed, verbose=False)
    t0 = time.perf_counter()
    featurizer = featurizers.SimpleMoleculeMolGraphFeaturizer()

    def dataset(rows: np.ndarray):
        points = [cdata.MoleculeDatapoint.from_smi(s, v) for s, v in zip(smiles[rows], y[rows], strict=True)]
        result = cdata.MoleculeDataset(points, featurizer)
        result.cache = True
        return result

    train, val = dataset(split.train), dataset(split.val)
    if task == "regression":
        scaler = train.normalize_targets()
        val.normalize_targets(scaler)
        unscale = nn.UnscaleTransform.from_standard_scaler(scaler)
        ffn = nn.RegressionFFN(n_tasks=len(targets), output_transform=unscale)
    else:
        ffn = nn.BinaryClassificationFFN(n_tasks=len(targets))
    model = models.MPNN(nn.BondMessagePassing(), nn.NormAggregation(), ffn)
    loaders = [cdata.build_dataloader(d, batch_size=64, num_workers=0, seed=seed, shuffle=shuffle)
               for d, shuffle in ((train, True), (val, False))]
    with tempfile.TemporaryDirectory() as checkpoints:
        best = ModelCheckpoint(checkpoints, monitor="val_loss", mode="min", save_top_k=1)
        trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False,
                             accelerator="cpu", devices=1, max_epochs=epochs, callbacks=[best])
        trainer.fit(model, loaders[0], loaders[1])
        epochs_run = trainer.current_epoch
        model = models.MPNN.load_from_checkpoint(best.best_model_path)
    outputs = []
    for name in predict:
        rows = getattr(split, name)
        loader = cdata.build_dataloader(dataset(rows), batch_size=64, num_workers=0, shuffle=False)
        outputs.append(torch.cat(trainer.predict(model, loader)).numpy().reshape(len(rows), -1))
    return outputs, time.perf_counter() - t0, epochs_run
