"""De novo design on MOSES: symmol's SMILES language model trained on this machine, its MOSES metrics, its speed.

Two parts, both in one run:

* **quality** (``--max-time`` > 0): ``symmol train MOSES_TRAIN --task generation --architecture gru
  --max-time S`` (the training time includes reading, checking and compiling), then ``symmol generate
  --n 30000`` at temperature 1, then MOSES's metrics (``symmol.generation.metrics``, equal to molsets
  0.3.1's: ``generation_metrics.md``) against ``moses_test.csv.gz`` with novelty against the full MOSES
  train set, next to MOSES's published CharRNN and VAE rows (quoted from the MOSES README, not rerun);
* **speed** (``--speed-steps`` > 0): training tokens/s and sampling molecules/s of the same network
  (the model's own sizes) in symmol and written by hand in PyTorch (``torch.nn.GRU``, the same
  minibatches, the same thread count), each after a warm-up step.

    python bench/generation.py --data-dir ../shared/data --max-time 7200 --out bench/results/generation.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the hand-written PyTorch twin the tests check the model against

from symmol.compile.heap import retained_heap  # noqa: E402
from symmol.generation.language_model import BEGIN, END, PAD, LanguageModelSpec, SmilesLanguageModel  # noqa: E402
from symmol.generation.metrics import GenerationReference, generation_metrics  # noqa: E402

#: MOSES README (molecularsets/moses, current master), mean of three runs; quoted, not rerun.
MOSES_PUBLISHED = {
    "CharRNN (MOSES)": {"valid": 0.9748, "unique@1000": 1.0, "unique@10000": 0.9994, "FCD/Test": 0.0732,
                        "SNN/Test": 0.6015, "Frag/Test": 0.9998, "Scaf/Test": 0.9242, "IntDiv": 0.8562,
                        "IntDiv2": 0.8503, "Filters": 0.9943, "novelty": 0.8419},
    "VAE (MOSES)": {"valid": 0.9767, "unique@1000": 1.0, "unique@10000": 0.9984, "FCD/Test": 0.099,
                    "SNN/Test": 0.6257, "Frag/Test": 0.9994, "Scaf/Test": 0.9386, "IntDiv": 0.8558,
                    "IntDiv2": 0.8498, "Filters": 0.997, "novelty": 0.6949},
}
SHOWN = ("valid", "unique@1000", "unique@10000", "FCD/Test", "SNN/Test", "Frag/Test", "Scaf/Test", "IntDiv",
         "IntDiv2", "Filters", "novelty")


def quality(args: argparse.Namespace, work: Path) -> tuple[dict, dict]:
    """Train within ``--max-time``, sample, score; return (metrics, the training's own metrics.json)."""
    train = args.data_dir / "generation" / "moses_train.csv.gz"
    model = work / "lm"
    sizes = ["--embedding", str(args.embedding), "--rnn-units", str(args.units), "--rnn-layers", str(args.layers)]
    subprocess.run([sys.executable, "-m", "symmol", "train", str(train), "--smiles-column", "SMILES", "--task",
                    "generation", "--architecture", "gru", "--max-time", str(args.max_time), "--seed", "0",
                    "--batch-size", str(args.batch_size), "--split-sizes", "0.99,0.005,0.005", *sizes,
                    "--out", str(model), "--no-progress"], check=True)
    samples = work / "samples.csv"
    subprocess.run([sys.executable, "-m", "symmol", "generate", str(model), "--n", str(args.samples), "--seed", "0",
                    "--out", str(samples)], check=True)
    generated = pd.read_csv(samples, keep_default_na=False)["smiles"].tolist()
    test = pd.read_csv(args.data_dir / "screening_libraries" / "moses_test.csv.gz")["SMILES"].tolist()
    training = pd.read_csv(train)["SMILES"].tolist()  # MOSES stores its splits canonical
    metrics = generation_metrics(generated, GenerationReference.from_smiles(test), training=training)
    return metrics, json.loads((model / "metrics.json").read_text())


def speed(args: argparse.Namespace) -> dict[str, float]:
    """Training tokens/s and sampling molecules/s, symmol against torch.nn.GRU, same batches and threads."""
    import torch

    torch.set_num_threads(args.threads)
    smiles = pd.read_csv(args.data_dir / "generation" / "moses_train.csv.gz", nrows=200_000)["SMILES"].tolist()
    spec = LanguageModelSpec(SmilesLanguageModel.build_vocabulary(smiles), embedding=args.embedding,
                             units=args.units, layers=args.layers, seed=0)
    ours = SmilesLanguageModel(spec)
    from torch_language_model import torch_twin

    embedding, gru, head = torch_twin(ours)
    rng = np.random.default_rng(0)
    batches = [rng.choice(len(smiles), args.batch_size, replace=False) for _ in range(args.speed_steps + 1)]
    tokens = [ours.encode([smiles[i] for i in rows])[0] for rows in batches]
    tokens = [t[np.argsort(-(t != PAD).sum(axis=1), kind="stable")] for t in tokens]  # as fit() orders a batch
    predicted = sum(int((t[:, 1:] != PAD).sum()) for t in tokens[1:])
    # PyTorch first, in a process symmol has not run in yet: symmol's loop raises glibc's malloc
    # thresholds for the process (symmol.compile.heap), which would change PyTorch's allocations.
    parameters = [p for module in (embedding, gru, head) for p in module.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    mask = torch.zeros(spec.n_tokens)
    mask[[PAD, BEGIN]] = -1e9

    def torch_step(batch: np.ndarray) -> None:
        ids = torch.from_numpy(batch.astype(np.int64))
        states, _ = gru(embedding(ids[:, :-1]))
        log_p = torch.log_softmax(head(states) + mask, dim=2)
        picked = log_p.gather(2, ids[:, 1:, None])[..., 0] * (ids[:, 1:] != PAD)
        loss = -picked.sum() / (ids[:, 1:] != PAD).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    torch_step(tokens[0])
    start = time.perf_counter()
    for batch in tokens[1:]:
        torch_step(batch)
    torch_train = predicted / (time.perf_counter() - start)

    @torch.no_grad()
    def torch_sample(n: int) -> None:
        for first in range(0, n, args.batch_size):
            count = min(args.batch_size, n - first)
            token = torch.full((count,), BEGIN, dtype=torch.long)
            state = None
            done = torch.zeros(count, dtype=torch.bool)
            for _ in range(spec.max_length + 1):
                output, state = gru(embedding(token)[:, None, :], state)
                token = torch.multinomial(torch.softmax(head(output[:, 0]) + mask, dim=1), 1)[:, 0]
                done |= token == END
                if bool(done.all()):
                    break

    torch_sample(args.batch_size)
    start = time.perf_counter()
    torch_sample(args.sample_count)
    torch_sample_rate = args.sample_count / (time.perf_counter() - start)
    ours.fit([smiles[i] for i in batches[0]], epochs=1, batch_size=args.batch_size)  # compiles
    with retained_heap():  # as fit() runs its steps
        start = time.perf_counter()
        for batch in tokens[1:]:
            ours.train_step(batch)  # the compiled step of fit(), on the same minibatches as torch
        symmol_train = predicted / (time.perf_counter() - start)
    ours.sample(args.batch_size, seed=0)  # compiles
    start = time.perf_counter()
    ours.sample(args.sample_count, seed=1, batch_size=args.batch_size)
    symmol_sample = args.sample_count / (time.perf_counter() - start)

    return {"symmol tokens/s": symmol_train, "torch tokens/s": torch_train,
            "symmol molecules/s": symmol_sample, "torch molecules/s": torch_sample_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--max-time", type=float, default=7200.0, help="training seconds (0: skip the quality part)")
    parser.add_argument("--samples", type=int, default=30_000)
    parser.add_argument("--embedding", type=int, default=256)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--speed-steps", type=int, default=20, help="timed training steps (0: skip the speed part)")
    parser.add_argument("--sample-count", type=int, default=512, help="molecules sampled for the timing")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=REPO / "bench" / ".cache" / "generation")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    command = (f"python bench/generation.py --max-time {args.max_time:.0f} --samples {args.samples} --embedding "
               f"{args.embedding} --units {args.units} --layers {args.layers} --batch-size {args.batch_size} "
               f"--speed-steps {args.speed_steps} --threads {args.threads}")
    lines = ["# De novo design on MOSES: symmol's SMILES language model", "",
             f"Command: `{command}`; {time.strftime('%Y-%m-%d')}, {os.cpu_count()}-core machine, load average "
             f"{os.getloadavg()[0]:.1f} at the start.", ""]
    if args.speed_steps:
        rates = speed(args)
        lines += [f"Speed ({args.layers} GRUs of {args.units}, embedding {args.embedding}, batches of "
                  f"{args.batch_size} MOSES SMILES, {args.threads} threads; {args.speed_steps} timed steps and "
                  f"{args.sample_count} sampled molecules after a warm-up):", "",
                  "| | symmol | PyTorch (torch.nn.GRU) | ratio |", "|---|---:|---:|---:|",
                  f"| training tokens/s | {rates['symmol tokens/s']:,.0f} | {rates['torch tokens/s']:,.0f} | "
                  f"{rates['symmol tokens/s'] / rates['torch tokens/s']:.2f} |",
                  f"| sampling molecules/s | {rates['symmol molecules/s']:,.1f} | {rates['torch molecules/s']:,.1f} | "
                  f"{rates['symmol molecules/s'] / rates['torch molecules/s']:.2f} |", ""]
    if args.max_time:
        metrics, trained = quality(args, args.work)
        rows = {"symmol gru": metrics, **MOSES_PUBLISHED}
        table = pd.DataFrame({name: {k: values.get(k) for k in SHOWN} for name, values in rows.items()}).T
        lines += [f"Quality: trained {trained['training']['seconds']:.0f} s ({trained['training']['epochs']} "
                  f"epoch(s), {trained['training']['tokens_per_s']:,.0f} tokens/s in the last), "
                  f"{args.samples:,} samples at temperature 1; metrics against MOSES test, novelty against "
                  "MOSES train. MOSES's rows are quoted from its README (GPU-trained, not rerun).", "",
                  table.to_markdown(floatfmt=".4f"), ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
