"""The ``symmol`` command line.

:mod:`.main` dispatches to one module per subcommand (``train``, ``predict``, ``screen``, ``calibrate``,
``explain``, ``active``, ``featurize``, ``index``, ``search``, ``bench``...), each with ``add_arguments`` and ``run``;
:mod:`.options` and :mod:`.params` declare the flags shared by several commands.
"""
