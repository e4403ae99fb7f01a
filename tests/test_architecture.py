"""The package's layers, read from its import statements: pure-PyTorch adapter layers at the
bottom, tuning specs that know no backbone family above them, backbones above those, and no
import circle anywhere."""
import ast
from pathlib import Path
from typing import Dict, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'mona_mm'
#: rank of each subpackage: a module may import only from its own rank or below
RANKS = {'layers': 0, 'tuning': 1, 'models': 2}
HOSTS = ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmrotate')


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imports_of(path: Path) -> Set[str]:
    """Absolute names of every module ``path`` imports (anywhere in the file)."""
    name = module_name(path)
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition('.')[0]
            mod = node.module or ''
            full = f'{base}.{mod}'.strip('.') if node.level else mod
            found.add(full)
            found |= {f'{full}.{a.name}' for a in node.names}  # ``from pkg import submodule``
    return found


@pytest.fixture(scope='module')
def graph() -> Dict[str, Set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob('*.py')}
    # a module's own imports, restricted to modules of this package
    return {m: {i for i in imports_of(p) if i in modules and i != m} for m, p in modules.items()}


def test_layers_import_no_openmmlab_library():
    for path in (PACKAGE / 'layers').glob('*.py'):
        bad = {i for i in imports_of(path) if i.split('.')[0] in HOSTS}
        assert not bad, f'{path.name} imports {sorted(bad)}: adapter layers are pure PyTorch'


def test_lower_layers_do_not_import_higher_ones(graph):
    for module, deps in graph.items():
        rank = RANKS.get(module.split('.')[1] if '.' in module else '', None)
        if rank is None:
            continue
        for dep in deps:
            dep_rank = RANKS.get(dep.split('.')[1] if '.' in dep else '', 3)
            assert dep_rank <= rank, f'{module} (layer {rank}) imports {dep} (layer {dep_rank})'


def test_no_import_circle(graph):
    done: Set[str] = set()

    def visit(node: str, path: list) -> None:
        if node in path:
            circle = path[path.index(node):] + [node]
            raise AssertionError('import circle: ' + ' -> '.join(circle))
        if node in done:
            return
        for dep in sorted(graph[node]):
            visit(dep, path + [node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])


def _protocol(name: str) -> Set[str]:
    """Attribute and method names of a protocol class of tuning/base.py."""
    tree = ast.parse((PACKAGE / 'tuning' / 'base.py').read_text())
    cls = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == name)
    return {n.name for n in cls.body if isinstance(n, ast.FunctionDef)} | {
        n.target.id for n in cls.body if isinstance(n, ast.AnnAssign)}


def _strings(tree: ast.AST) -> Set[str]:
    """String constants of the code, docstrings left out."""
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef)) and n.body and
                  isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and
            isinstance(n.value, str) and id(n) not in docstrings}


def test_tuning_specs_use_only_the_protocol():
    """A method reaches a backbone and its blocks only through the protocol of
    ``mona_mm.tuning.base``, never through one family's structure or key names."""
    allowed = {'backbone': _protocol('TunableBackbone'), 'block': _protocol('TunableBlock')}
    key_words = ('w_msa', 'relative_position', 'stages.', 'blocks.', 'layers.', 'norm0')
    for path in (PACKAGE / 'tuning').glob('*.py'):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    node.value.id in allowed:
                assert node.attr in allowed[node.value.id], (
                    f'tuning/{path.name} uses {node.value.id}.{node.attr}, which is not in the '
                    f'protocol {sorted(allowed[node.value.id])}')
        bad = sorted(t for t in _strings(tree) for w in key_words if t.startswith(w) or
                     f'.{w}' in t or (w == 'relative_position' and w in t))
        assert not bad, f'tuning/{path.name} names keys of a backbone family: {bad}'
