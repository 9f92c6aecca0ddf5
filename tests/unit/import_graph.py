"""What a module imports of its package, read from its source (ast): the private names it
reaches in other modules, and the modules it imports at load time. Shared by the host
package's check (test_host_imports.py) and the firmware's (test_firmware_imports.py)."""

import ast


def _is_ours(module, level, package):
    return bool(level) or module == package or (module or "").startswith(package + ".")


def private_reaches(source, where="<test>", package="otpfob"):
    """`where: what` for each use of another module's private name in `source`: by
    `from x import _y`, or `x._y` on a module of `package` bound to a local name."""
    tree = ast.parse(source)
    modules = set()  # local names bound to modules of the package
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _is_ours(node.module, node.level, package):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(
                        "%s:%d: from %s import %s"
                        % (where, node.lineno, "." * node.level + (node.module or ""), alias.name)
                    )
                elif not node.module or node.module == package or alias.name[:1].islower():
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_ours(alias.name, 0, package):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            found.append("%s:%d: %s.%s" % (where, node.lineno, node.value.id, node.attr))
    return found


def load_time_imports(source, package):
    """The modules of `package` (dotted names) that `source` imports when it is loaded: its
    top-level statements, including those under try/if, not those inside functions."""
    tree = ast.parse(source)
    out = set()

    def visit(stmts):
        for node in stmts:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, ast.ClassDef):
                visit(node.body)  # a class body runs at load time; its methods do not
                continue
            if isinstance(node, ast.ImportFrom) and _is_ours(node.module, 0, package):
                if node.module == package:
                    out.update("%s.%s" % (package, a.name) for a in node.names)
                else:
                    out.add(node.module)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if _is_ours(a.name, 0, package))
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    visit(inner)

    visit(tree.body)
    return out


def cycles(graph):
    """Each cycle of a {node: set of nodes} graph once, as a list of nodes."""
    found, seen = [], set()
    state = {}

    def walk(node, path):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycle = path[path.index(nxt) :]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append(cycle + [nxt])
            elif nxt not in state:
                walk(nxt, path)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node, [])
    return found
