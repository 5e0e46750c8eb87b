"""The package's structure: layers import only downward, no import cycles, the contract sees symmol.kernels.

The check runs on the package as a wheel lays it out (``.ci/check_layers.py`` stages it: an editable
install hides ``symmol.kernels`` from import-linter's graph builder).
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_layers", REPO / ".ci" / "check_layers.py")
check_layers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_layers)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    root = tmp_path_factory.mktemp("staged")
    check_layers.stage(root)
    return root


def _graph(root: Path):
    code = ("import json, grimp; g = grimp.build_graph('symmol'); "
            "print(json.dumps({m: sorted(g.find_modules_directly_imported_by(m)) for m in g.modules}))")
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(root)}, cwd=root,
                            capture_output=True, text=True, check=True)

    return json.loads(result.stdout)


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(edges.get(start, ())))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_layer_contract_holds_and_sees_the_kernels(staged):
    edges = _graph(staged)
    assert "symmol.kernels.morgan" in edges and "symmol.kernels.morgan" in edges["symmol.featurizers.morgan"]
    result = check_layers.lint(staged)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout and "BROKEN" not in result.stdout


def test_the_package_has_no_import_cycles(staged):
    assert _cycles(_graph(staged)) == []


def test_an_upward_import_breaks_the_contract(tmp_path):
    check_layers.stage(tmp_path)
    (tmp_path / "symmol" / "kernels" / "upward.py").write_text("from symmol.cli import main\n")
    result = check_layers.lint(tmp_path)
    assert result.returncode != 0
    assert "symmol.kernels.upward -> symmol.cli" in result.stdout


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
