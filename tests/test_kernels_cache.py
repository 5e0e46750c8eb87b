"""Numba's on-disk cache of the kernels goes stale when any kernel source changes, not only the function's own file."""

import os
import subprocess
import sys
import textwrap

from symmol.kernels import config
from symmol.kernels.smiles import reader


def test_kernels_carry_the_stamp_of_every_kernel_source():
    locator = reader._batch._cache._impl.locator
    assert type(locator).__name__.startswith("Kernels")
    assert locator.get_source_stamp() == config.sources_stamp()
    assert len(config.sources_stamp()) == 64


def test_an_edit_in_another_kernel_file_recompiles(tmp_path):
    """A copy of the kernels package: change a helper's file, and the caller's cached code is not reused."""
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        root = Path(sys.argv[1])
        sys.path.insert(0, str(root))
        from pkg import caller
        print(caller.twice(3), sum(caller.twice.stats.cache_hits.values()))
    """)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    config_source = config.__file__
    (pkg / "config.py").write_text(open(config_source).read())
    (pkg / "helper.py").write_text("from pkg.config import jit\n\n@jit\ndef one():\n    return 1\n")
    (pkg / "caller.py").write_text("from pkg.config import jit\nfrom pkg.helper import one\n\n"
                                   "@jit\ndef twice(x):\n    return 2 * x + one()\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    run = [sys.executable, "-c", script, str(tmp_path)]
    first = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.split()
    again = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.split()
    (pkg / "helper.py").write_text("from pkg.config import jit\n\n@jit\ndef one():\n    return 10\n")
    edited = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert first == ["7", "0"] and again == ["7", "1"]  # the second process loads the caller from the cache
    assert edited == ["16", "0"]  # recompiled: Numba's own stamp (caller.py unchanged) would load the stale 7
