"""De novo design: metrics of generated molecule sets (MOSES's definitions) and scores to optimise toward.

Modules
-------
:mod:`symmol.generation.metrics`
    Validity, uniqueness, novelty, internal diversity, filters and the reference-set metrics
    (FCD, SNN, fragment and scaffold similarity, property distances).
:mod:`symmol.generation.moses_filters`
    MOSES's MCF and PAINS SMARTS.
:mod:`symmol.generation.language_model`
    A GRU language model over SMILES tokens: teacher-forced training, log-likelihoods, Gumbel-max
    sampling in one compiled scan, save/load without pickle.
:mod:`symmol.generation.registry`
    The generative kinds (``symmol train --task generation --architecture gru``) and loading a saved one.
:mod:`symmol.generation.reinforcement`
    REINVENT's augmented-likelihood policy gradient (experience replay, a scaffold diversity filter)
    toward a score: ``symmol optimize``.
:mod:`symmol.generation.scoring`
    Score functions for goal-directed generation (REINVENT-style components, desirability transforms,
    a weighted geometric mean, SMARTS filters; a TOML spec; oracle calls counted and cached). Imported
    on its own (it loads the estimator for model components).
"""

from symmol.generation.metrics import GenerationReference, generation_metrics

__all__ = ["GenerationReference", "generation_metrics"]
