"""TypeScript/JavaScript imports, exports and aliases: ES modules, CommonJS and `import x = require()`.

Also the small readers other TS collectors share: dotted names, scopes and
literal strings.
"""

from __future__ import annotations

from collections.abc import Iterator

import tree_sitter

from prodlint.extract.typescript import TsModule, collector
from prodlint.facts.modules import Alias, DynamicImport, Export, Import

Node = tree_sitter.Node
FUNCTIONS = ("function_declaration", "function_expression", "arrow_function", "method_definition", "generator_function_declaration", "function")
WRAPPERS = ("parenthesized_expression", "non_null_expression", "as_expression", "satisfies_expression", "type_assertion", "await_expression")


def unwrap(node: Node | None) -> Node | None:
    while node is not None and node.type in WRAPPERS:
        node = node.named_children[0] if node.named_children else None
    return node


def enclosing_class(node: Node) -> str | None:
    current = node.parent
    while current is not None:
        if current.type in ("class_declaration", "class", "abstract_class_declaration"):
            name = current.child_by_field_name("name")
            return name.text.decode() if name is not None and name.text else None
        current = current.parent
    return None


def dotted(node: Node | None) -> str | None:
    """`a.b.c` for identifiers and member chains; `this.x` inside class C is `C.x`; else None."""
    node = unwrap(node)
    if node is None:
        return None
    if node.type in ("identifier", "shorthand_property_identifier", "property_identifier", "type_identifier"):
        return node.text.decode() if node.text else None
    if node.type == "this":
        return enclosing_class(node)
    if node.type == "new_expression":  # `new OrderRoutes().router` reads the class field
        return dotted(node.child_by_field_name("constructor"))
    if node.type == "member_expression":
        base = dotted(node.child_by_field_name("object"))
        prop = node.child_by_field_name("property")
        if base is None or prop is None or prop.type not in ("property_identifier", "private_property_identifier"):
            return None
        return f"{base}.{prop.text.decode()}"  # type: ignore[union-attr]
    return None


def _function_name(node: Node) -> str:
    name = node.child_by_field_name("name")
    if name is not None and name.text:
        if node.type == "method_definition":
            owner = enclosing_class(node)
            return f"{owner}.{name.text.decode()}" if owner else name.text.decode()
        return name.text.decode()
    parent = node.parent
    if parent is not None and parent.type == "variable_declarator":
        bound = parent.child_by_field_name("name")
        if bound is not None and bound.type == "identifier" and bound.text:
            return bound.text.decode()
    return f"<function@{node.start_point[0] + 1}>"  # anonymous: its locals never clash with the module's


def scope_of(node: Node) -> str:
    """Dotted names of the enclosing functions, outermost first ("" at module level)."""
    names = []
    current = node.parent
    while current is not None:
        if current.type in FUNCTIONS:
            names.append(_function_name(current))
        current = current.parent
    return ".".join(reversed(names))


def string_value(node: Node | None, constants: dict[str, str]) -> str | None:
    """A string literal, a template of literals and module constants, or a module constant; else None."""
    node = unwrap(node)
    if node is None:
        return None
    if node.type == "string":
        return "".join(child.text.decode() for child in node.named_children if child.text)
    if node.type == "template_string":
        parts = []
        for child in node.named_children:
            if child.type == "template_substitution":
                value = string_value(child.named_children[0] if child.named_children else None, constants)
                if value is None:
                    return None
                parts.append(value)
            elif child.type in ("string_fragment", "escape_sequence") and child.text:
                parts.append(child.text.decode())
        return "".join(parts)
    if node.type == "identifier" and node.text:
        return constants.get(node.text.decode())
    if node.type == "property_identifier" and node.text:  # an object key, as `Object.entries` yields it
        return node.text.decode()
    if node.type == "binary_expression" and node.child_by_field_name("operator") is not None:
        if node.child_by_field_name("operator").type == "+":  # type: ignore[union-attr]
            left = string_value(node.child_by_field_name("left"), constants)
            right = string_value(node.child_by_field_name("right"), constants)
            return left + right if left is not None and right is not None else None
    return None


def module_constants(module: TsModule) -> dict[str, str]:
    """`const API = '/api'` at module level: prefixes are often written that way."""
    constants: dict[str, str] = {}
    for declaration in module.tree.root_node.named_children:
        if declaration.type == "export_statement":
            declaration = declaration.child_by_field_name("declaration") or declaration
        if declaration.type != "lexical_declaration" or not declaration.text or not declaration.text.startswith(b"const"):
            continue
        for declarator in declaration.named_children:
            name = declarator.child_by_field_name("name")
            if declarator.type == "variable_declarator" and name is not None and name.type == "identifier":
                value = string_value(declarator.child_by_field_name("value"), constants)
                if value is not None:
                    constants[name.text.decode()] = value  # type: ignore[union-attr]
    return constants


def required(node: Node | None) -> str | None:
    """The specifier of `require('x')`, else None."""
    node = unwrap(node)
    if node is None or node.type != "call_expression":
        return None
    function = node.child_by_field_name("function")
    arguments = node.child_by_field_name("arguments")
    if function is None or function.text != b"require" or arguments is None or len(arguments.named_children) != 1:
        return None
    return string_value(arguments.named_children[0], {})


def _source(statement: Node) -> str | None:
    source = statement.child_by_field_name("source")
    return string_value(source, {}) if source is not None else None


def _has_token(node: Node, token: str) -> bool:
    return any(child.type == token for child in node.children)


def read_imports(module: TsModule) -> Iterator[Import]:
    for statement in module.tree.root_node.named_children:
        if statement.type != "import_statement":
            continue
        type_only = _has_token(statement, "type")
        require_clause = next((c for c in statement.named_children if c.type == "import_require_clause"), None)
        if require_clause is not None:
            name = next((c for c in require_clause.named_children if c.type == "identifier"), None)
            specifier = _source(require_clause)
            if name is not None and specifier is not None:
                yield Import(name.text.decode(), specifier, "*", module.at(statement), kind="require")  # type: ignore[union-attr]
            continue
        specifier = _source(statement)
        clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
        if specifier is None or clause is None:
            continue
        for part in clause.named_children:
            if part.type == "identifier":
                yield Import(part.text.decode(), specifier, "default", module.at(statement), type_only=type_only)  # type: ignore[union-attr]
            elif part.type == "namespace_import" and part.named_children:
                yield Import(part.named_children[0].text.decode(), specifier, "*", module.at(statement), type_only=type_only)  # type: ignore[union-attr]
            elif part.type == "named_imports":
                for specifier_node in part.named_children:
                    name = specifier_node.child_by_field_name("name")
                    alias = specifier_node.child_by_field_name("alias") or name
                    if name is not None and alias is not None:
                        yield Import(alias.text.decode(), specifier, name.text.decode(), module.at(statement),  # type: ignore[union-attr]
                                     type_only=type_only or _has_token(specifier_node, "type"))
    for capture in module.captures("(variable_declarator) @declarator").get("declarator", []):
        yield from _required_names(module, capture)


def _required_names(module: TsModule, declarator: Node) -> Iterator[Import]:
    """`const x = require('m')`, `const { a, b: c } = require('m')`, `const r = require('m').router`."""
    value = unwrap(declarator.child_by_field_name("value"))
    imported = "*"
    if value is not None and value.type == "member_expression":
        prop = value.child_by_field_name("property")
        imported = prop.text.decode() if prop is not None and prop.text else "*"
        value = value.child_by_field_name("object")
    specifier = required(value)
    if specifier is None:
        return
    name = declarator.child_by_field_name("name")
    scope = scope_of(declarator)
    if name is not None and name.type == "identifier":
        yield Import(name.text.decode(), specifier, imported, module.at(declarator), scope, kind="require")  # type: ignore[union-attr]
    elif name is not None and name.type == "object_pattern" and imported == "*":
        for part in name.named_children:
            if part.type == "shorthand_property_identifier_pattern" and part.text:
                yield Import(part.text.decode(), specifier, part.text.decode(), module.at(declarator), scope, kind="require")
            elif part.type == "pair_pattern":
                key, bound = part.child_by_field_name("key"), part.child_by_field_name("value")
                if key is not None and bound is not None and bound.type == "identifier":
                    yield Import(bound.text.decode(), specifier, key.text.decode(), module.at(declarator), scope, kind="require")  # type: ignore[union-attr]


def read_exports(module: TsModule) -> Iterator[Export]:
    for statement in module.tree.root_node.named_children:
        if statement.type == "export_statement":
            yield from _es_exports(module, statement)
        elif statement.type == "expression_statement":
            yield from _commonjs_exports(module, statement)


def _es_exports(module: TsModule, statement: Node) -> Iterator[Export]:
    at = module.at(statement)
    source = _source(statement)
    declaration = statement.child_by_field_name("declaration")
    value = statement.child_by_field_name("value")
    if _has_token(statement, "=") and value is None:  # TypeScript `export = router`
        value = next((c for c in statement.named_children if c.type != "comment"), None)
        yield Export("default", dotted(value), at, commonjs=True)
        return
    if declaration is not None:
        default = _has_token(statement, "default")
        if declaration.type == "lexical_declaration" or declaration.type == "variable_declaration":
            for declarator in declaration.named_children:
                name = declarator.child_by_field_name("name")
                if declarator.type == "variable_declarator" and name is not None and name.type == "identifier":
                    yield Export(name.text.decode(), name.text.decode(), at)  # type: ignore[union-attr]
        else:
            name = declaration.child_by_field_name("name")
            if name is not None and name.text:
                yield Export("default" if default else name.text.decode(), name.text.decode(), at)
        return
    if value is not None:
        # `export default Router().use(...)`: the routes collector names such a router "default".
        yield Export("default", dotted(value) or "default", at)
        return
    namespace = next((c for c in statement.named_children if c.type == "namespace_export"), None)
    clause = next((c for c in statement.named_children if c.type == "export_clause"), None)
    if namespace is not None and source is not None:
        alias = namespace.named_children[-1].text.decode() if namespace.named_children else "*"  # type: ignore[union-attr]
        yield Export(alias, None, at, source=source, imported="*")
    elif clause is not None:
        for part in clause.named_children:
            name = part.child_by_field_name("name")
            alias = part.child_by_field_name("alias") or name
            if name is None or alias is None:
                continue
            if source is None:
                yield Export(alias.text.decode(), name.text.decode(), at)  # type: ignore[union-attr]
            else:
                yield Export(alias.text.decode(), None, at, source=source, imported=name.text.decode())  # type: ignore[union-attr]
    elif source is not None:
        yield Export("*", None, at, source=source, imported="*")


def _commonjs_exports(module: TsModule, statement: Node) -> Iterator[Export]:
    assignment = statement.named_children[0] if statement.named_children else None
    if assignment is None or assignment.type != "assignment_expression":
        return
    target = dotted(assignment.child_by_field_name("left"))
    value = unwrap(assignment.child_by_field_name("right"))
    at = module.at(statement)
    if target is None or value is None:
        return
    if target == "module.exports":
        specifier = required(value)
        if specifier is not None:
            yield Export("default", None, at, source=specifier, imported="*", commonjs=True)
        elif value.type == "object":
            for part in value.named_children:
                if part.type == "shorthand_property_identifier" and part.text:
                    yield Export(part.text.decode(), part.text.decode(), at, commonjs=True)
                elif part.type == "pair":
                    key = part.child_by_field_name("key")
                    if key is not None and key.text:
                        yield Export(key.text.decode().strip("'\""), dotted(part.child_by_field_name("value")), at, commonjs=True)
        else:
            # `module.exports = Router().get(...)`: the routes collector names such a router `module.exports`.
            yield Export("default", dotted(value) or "module.exports", at, commonjs=True)
    elif target.startswith(("module.exports.", "exports.")) and target.count(".") == target.startswith("module.") + 1:
        yield Export(target.rsplit(".", 1)[1], dotted(value), at, commonjs=True)


def top_level_names(module: TsModule) -> set[str]:
    """Names declared at module level: classes, functions and variables."""
    names = set()
    for statement in module.tree.root_node.named_children:
        declaration = statement.child_by_field_name("declaration") if statement.type == "export_statement" else statement
        if declaration is None:
            continue
        name = declaration.child_by_field_name("name")
        if name is not None and name.text:
            names.add(name.text.decode())
        for declarator in declaration.named_children:
            bound = declarator.child_by_field_name("name") if declarator.type == "variable_declarator" else None
            if bound is not None and bound.type == "identifier" and bound.text:
                names.add(bound.text.decode())
    return names


def read_aliases(module: TsModule, roots: set[str]) -> Iterator[Alias]:
    """`const routes = new OrderRoutes()`, `const api = routes.api`, `const r = makeRouter()` for known roots."""
    for declarator in module.captures("(variable_declarator) @declarator").get("declarator", []):
        name = declarator.child_by_field_name("name")
        value = unwrap(declarator.child_by_field_name("value"))
        if name is None or name.type != "identifier" or value is None:
            continue
        instance = value.type == "new_expression"
        called = value.type == "call_expression"
        if instance:
            value = value.child_by_field_name("constructor")
        elif called:
            value = value.child_by_field_name("function")
        target = dotted(value)
        if target is None or target.split(".")[0] not in roots or target == name.text.decode():  # type: ignore[union-attr]
            continue
        yield Alias(name.text.decode(), target, module.at(declarator), scope_of(declarator), instance, called)  # type: ignore[union-attr]


@collector
def typescript_modules(module: TsModule) -> Iterator[object]:
    imports = list(read_imports(module))
    yield from imports
    yield from read_exports(module)
    roots = top_level_names(module) | {i.local for i in imports}
    yield from read_aliases(module, roots)
    yield from dynamic_imports(module)


def dynamic_imports(module: TsModule) -> Iterator[DynamicImport]:
    if b"require(" not in module.source and b"import(" not in module.source:
        return
    query_text = "(call_expression function: [(identifier) (import)] @function arguments: (arguments . (_) @argument)) @call"
    for _, captures in module.matches(query_text):
        function, argument = captures["function"][0], captures["argument"][0]
        if function.text in (b"require", b"import") and argument.type not in ("string",) and string_value(argument, {}) is None:
            yield DynamicImport(module.at(captures["call"][0]), specifier_pattern(argument))


def specifier_pattern(node: Node | None) -> str | None:
    """`./${name}.json` -> "./*.json", `'./plugins/' + name` -> "./plugins/*"; None when nothing is literal."""
    node = unwrap(node)
    if node is None:
        return None
    if node.type == "string":
        return "".join(child.text.decode() for child in node.named_children if child.text)
    if node.type == "template_string":
        parts = []
        for child in node.named_children:
            if child.type == "template_substitution":
                parts.append("*")
            elif child.type in ("string_fragment", "escape_sequence") and child.text:
                parts.append(child.text.decode())
        pattern = "".join(parts)
        return pattern if pattern.strip("*") else None
    if node.type == "binary_expression" and node.child_by_field_name("operator") is not None:
        if node.child_by_field_name("operator").type == "+":  # type: ignore[union-attr]
            left = specifier_pattern(node.child_by_field_name("left")) or "*"
            right = specifier_pattern(node.child_by_field_name("right")) or "*"
            pattern = left + right
            return pattern if pattern.strip("*") else None
    return None
