"""Layer and import-cycle guard over the first-party import graph, read statically (AST; no app code is imported).

Every ``import`` counts: module-level, inside functions/methods, inside class bodies. Imports under
``if TYPE_CHECKING:`` count for the layer rule (a type dependency on a higher app is still a dependency on it) but not
for cycles (they never run, so they cannot take part in an import cycle; they are the usual way to break one).

Cycles: Python runs ``p/__init__.py`` before any ``p.x``; that implicit parent edge is NOT modelled, otherwise every
re-export façade would form a cycle with its own submodules. That is the whole façade exemption: ``p`` -> ``p.x`` is
never a cycle on its own. Explicit edges, façade edges included, all count, so what is reported is a real loop:
``p.x`` importing names from its own façade ``p`` that imports it (order-dependent; import the sibling directly), or a
loop through a façade (``p`` -> ``p.x`` -> ``q.y`` -> ``p``). Dropping the façade edges instead would hide the latter,
which is exactly the cross-feature cycle this test exists for.
"""

import ast
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Apps by layer, lowest first: an app may import the apps below it, never one above it. Missing apps are skipped.
LAYERS = {"backoffice": 0, "shops": 1, "events": 2, "agents": 3, "chats": 4, "evaluations": 5, "demo": 6}
SKIP_DIRS = {"migrations", "__pycache__", "locale"}

# Entry-point modules: the edges of the system (HTTP API, admin, commands, URLconfs, process bootstrap, settings). They
# may import any app, and no restricted module may import one of a lower app (services must not depend on api code).
# Every other module, apps.py included (its ready() hooks belong to the app's own layer), is restricted. fnmatch
# patterns on the path from the project root; ``*`` also matches ``/``, so ``*/api/*`` is any api package.
ENTRY_POINTS = (
    "*/api/*",
    "*/api.py",
    "*/admin.py",
    "*/admin/*",
    "*/admin_*.py",
    "*/management/commands/*",
    "*/urls.py",
    "backoffice/callers.py",  # resolves which Agent / IntegrationClient a user is; used by api and admin only
    "backoffice/celery.py",
    "backoffice/settings/*",
    "backoffice/asgi.py",
    "backoffice/wsgi.py",
    "backoffice/errorpages.py",
    "backoffice/gunicorn.py",
    "demo/*",  # the top app: demo data across every app
)

MODULE, LOCAL, TYPING = "module-level", "function-local", "type-checking"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    kind: str

    def __str__(self):
        return f"{self.source} -> {self.target} (line {self.line}, {self.kind})"


@dataclass
class Graph:
    modules: dict[str, str] = field(default_factory=dict)  # module -> path from the root
    edges: list[Edge] = field(default_factory=list)
    unresolved: list[Edge] = field(default_factory=list)  # first-party names that are no module on disk: broken imports

    def is_entry_point(self, module: str) -> bool:
        return any(fnmatch(self.modules[module], pattern) for pattern in ENTRY_POINTS)


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING"


def _imports(tree: ast.AST):
    """Every import node with how it runs; iterative so deep nesting cannot hit the recursion limit."""
    stack = [(tree, MODULE)]
    while stack:
        node, kind = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, kind
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and kind == MODULE:
            kind = LOCAL
        guarded = node.body if _is_type_checking(node) else []
        stack.extend((child, TYPING if child in guarded else kind) for child in ast.iter_child_nodes(node))


def _rank(module: str) -> int:
    return LAYERS[module.partition(".")[0]]


def build_graph(root: Path = ROOT) -> Graph:
    graph = Graph()
    for app in LAYERS:
        for path in sorted((root / app).rglob("*.py")) if (root / app).is_dir() else ():
            rel = path.relative_to(root)
            if not SKIP_DIRS & set(rel.parts):
                parts = rel.with_suffix("").parts
                graph.modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = rel.as_posix()
    for module, rel in graph.modules.items():
        package = module if rel.endswith("__init__.py") else module.rpartition(".")[0]
        tree = ast.parse((root / rel).read_text(encoding="utf-8"), filename=rel)
        for node, kind in _imports(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:  # relative imports resolve against the file's own package, never against a same-named app
                base, anchor = node.module or "", package.split(".")
                if node.level > len(anchor):
                    continue  # beyond the top-level package: an ImportError, not an edge
                if node.level:
                    base = ".".join([*anchor[: len(anchor) - node.level + 1], *([base] if base else [])])
                # ``from a.b import c``: the module a.b.c if it exists, else a.b, which defines the name c
                names = [sub if (sub := f"{base}.{alias.name}") in graph.modules else base for alias in node.names]
            for name in dict.fromkeys(names):  # third-party and stdlib names never match an app directory
                if name.partition(".")[0] in LAYERS:
                    found = graph.edges if name in graph.modules else graph.unresolved
                    found.append(Edge(module, name, node.lineno, kind))
    for edges in (graph.edges, graph.unresolved):
        edges.sort(key=lambda e: (_rank(e.source), e.source, e.line, e.target))
    return graph


def layer_violations(graph: Graph) -> list[Edge]:
    found = []
    for edge in graph.edges:
        if graph.is_entry_point(edge.source):
            continue
        source, target = _rank(edge.source), _rank(edge.target)
        if target > source or (target < source and graph.is_entry_point(edge.target)):
            found.append(edge)
    return found


def _successors(graph: Graph) -> defaultdict[str, set[str]]:
    succ = defaultdict(set)
    for edge in graph.edges:
        if edge.kind != TYPING:  # never runs, so it cannot close an import loop
            succ[edge.source].add(edge.target)
    return succ


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module, and self-imports; iterative Tarjan."""
    succ = _successors(graph)
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(succ[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while not component or component[-1] != node:
                        component.append(stack.pop())
                        on_stack.discard(component[-1])
                    if len(component) > 1 or node in succ[node]:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(succ[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(found)


def _loop(graph: Graph, start: str, members: set[str]) -> list[str]:
    """A shortest import loop from start back to itself inside one component (breadth-first)."""
    succ, paths, queue = _successors(graph), {start: [start]}, [start]
    for node in queue:
        for child in sorted(succ[node] & members):
            if child == start:
                return [*paths[node], start]
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    return [start]


def report(graph: Graph) -> str:
    kinds = Counter(edge.kind for edge in graph.edges)
    apps = Counter(module.partition(".")[0] for module in graph.modules)
    lines = [
        f"{len(graph.modules)} modules scanned; {len(graph.edges)} first-party import edges "
        f"({kinds[MODULE]} module-level, {kinds[LOCAL]} function-local, {kinds[TYPING]} type-checking)",
        "modules per app: " + ", ".join(f"{app} {apps[app]}" for app in LAYERS if apps[app]),
    ]
    violations = layer_violations(graph)
    lines.append(f"layer violations ({len(violations)}):")
    lines += [f"  {edge}{' [entry-point]' * graph.is_entry_point(edge.target)}" for edge in violations]
    lines.append(f"unresolved first-party imports, not in the graph ({len(graph.unresolved)}):")
    lines += [f"  {edge}" for edge in graph.unresolved]
    found = cycles(graph)
    lines.append(f"import cycles ({len(found)}):")
    for component in found:
        members = set(component)
        lines.append(f"  {len(component)} modules: {', '.join(component)}")
        lines.append(f"    e.g. {' -> '.join(_loop(graph, component[0], members))}")
        # Edges into another layer's module lower down never need cutting; the same-app and upward ones are the choice.
        inner = [e for e in graph.edges if {e.source, e.target} <= members and e.kind != TYPING]
        lines += [f"    {e}" for e in inner if _rank(e.target) >= _rank(e.source)]
    return "\n".join(lines)


@cache
def _real_tree() -> tuple[Graph, str]:
    graph = build_graph()
    return graph, report(graph)


def test_layers_no_module_imports_an_app_above_it():
    graph, text = _real_tree()
    print(text)
    assert not layer_violations(graph), text


def test_layers_import_graph_has_no_cycles():
    graph, text = _real_tree()
    print(text)
    assert not cycles(graph), text


def _project(root: Path, files: dict[str, str]) -> Graph:
    for rel, source in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(source)
    return build_graph(root)


def test_layers_walker_finds_a_function_local_upward_import(tmp_path):
    files = {
        "shops/models.py": "class M:\n    def f(self):\n        from chats.models import C\n",
        "chats/models.py": "",
        "chats/tasks.py": "def f():\n    from backoffice.api.tenancy import T\n",  # services must not use api code
        "backoffice/api/tenancy.py": "import agents\nfrom chats import models\n",  # entry point: anything goes
        "agents/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from chats import models\n",
    }
    assert [str(e) for e in layer_violations(_project(tmp_path, files))] == [
        "shops.models -> chats.models (line 3, function-local)",
        "agents -> chats.models (line 3, type-checking)",
        "chats.tasks -> backoffice.api.tenancy (line 2, function-local)",
    ]


def test_layers_walker_resolves_relative_imports(tmp_path):
    """A relative import cannot leave its top-level package, so it is never a layer violation by itself; what must hold
    is that ``..x`` resolves against the file's package (a dot-stripping resolver would see the higher app ``events``)
    and that the edge it gives counts like any other."""
    files = {
        "shops/services/orders.py": "from ..events import publish\nfrom . import refunds\nfrom .gone import x\n",
        "shops/services/refunds.py": "def f():\n    from ..tasks import t\n",
        "shops/tasks.py": "from .services.refunds import f\n",
        "shops/events.py": "",
        "events/models.py": "",
        "chats/selectors.py": "from ..agents.api import views\n",  # beyond the top package: an ImportError
        "agents/api/views.py": "",
    }
    graph = _project(tmp_path, files)
    targets = {(e.source, e.target) for e in graph.edges}
    assert targets == {
        ("shops.services.orders", "shops.events"),
        ("shops.services.orders", "shops.services.refunds"),
        ("shops.services.refunds", "shops.tasks"),
        ("shops.tasks", "shops.services.refunds"),
    }
    assert layer_violations(graph) == []
    assert [e.target for e in graph.unresolved] == ["shops.services.gone"]  # a broken import, not a self-loop
    assert cycles(graph) == [["shops.services.refunds", "shops.tasks"]]


def test_layers_walker_finds_a_two_module_cycle_through_a_function_local_import(tmp_path):
    graph = _project(
        tmp_path,
        {"chats/a.py": "from chats.b import g\n", "chats/b.py": "def g():\n    from chats import a\n", "x.py": ""},
    )
    assert cycles(graph) == [["chats.a", "chats.b"]]


def test_layers_walker_lets_a_package_init_re_export_its_submodules(tmp_path):
    files = {
        "chats/services/__init__.py": "from .a import f\nfrom .b import g\n",
        "chats/services/a.py": "from .b import g\n",
        "chats/services/b.py": "",
        "chats/api/views.py": "from chats.services import f\n",
    }
    assert cycles(_project(tmp_path, files)) == []
    # A loop through the façade is still found: chats.services -> .a / .b -> chats.turns -> chats.services.
    files |= {"chats/services/b.py": "from chats.turns import t\n", "chats/turns.py": "from chats.services import f\n"}
    loop = ["chats.services", "chats.services.a", "chats.services.b", "chats.turns"]
    assert cycles(_project(tmp_path, files)) == [loop]
