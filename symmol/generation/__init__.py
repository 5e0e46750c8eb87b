"""De novo design: metrics of generated molecule sets (MOSES's definitions).

Modules
-------
:mod:`symmol.generation.metrics`
    Validity, uniqueness, novelty, internal diversity, filters and the reference-set metrics
    (FCD, SNN, fragment and scaffold similarity, property distances).
:mod:`symmol.generation.moses_filters`
    MOSES's MCF and PAINS SMARTS.
"""

from symmol.generation.metrics import GenerationReference, generation_metrics

__all__ = ["GenerationReference", "generation_metrics"]
