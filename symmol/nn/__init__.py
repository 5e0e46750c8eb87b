"""Neural-network building blocks on PyTensor, in the style of Lasagne.

Modules: :mod:`.layers` (layers that build symbolic expressions), :mod:`.init` (parameter
initialisers), :mod:`.nonlinearities` (activations), :mod:`.objectives` (losses with missing
labels masked), :mod:`.updates` (optimizers as update rules) and :mod:`.schedules` (learning-rate
schedules in a shared variable).
"""
