"""Evaluation: metrics, data splits, target checks and plots.

Metrics (ROC-AUC, RMSE, EF1%, BEDROC), data splits (random, scaffold, Chemprop files), target
checks and plots.
"""
