"""Node.js connection pools: node-postgres `new Pool({ max })`, knex `pool: { max }`, `new PrismaClient()`.

Sizes are kept as written: a number, `process.env.X` with its `||` / `??` fallback,
or unknown. Prisma's pool size is `connection_limit` in the datasource URL, which
the project model reads from the service's environment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import tree_sitter

from prodlint.extract.typescript import TsModule, collector
from prodlint.facts.capacity import UNKNOWN, Pool, Value

Node = tree_sitter.Node

CONSTRUCTIONS = """
(new_expression constructor: (_) @constructor arguments: (arguments) @arguments) @construction
(call_expression function: (_) @constructor arguments: (arguments) @arguments) @construction
"""
OBJECTS = "(variable_declarator name: (identifier) @name value: (object) @object)"
_PG_IMPORT = re.compile(r"""(?:from\s+|require\(\s*)['"](?:pg|pg-pool)['"]""")
POSTGRES_CLIENTS = ("pg", "postgres", "postgresql", "pg-native")
DEV_ENVIRONMENTS = ("development", "dev", "test", "testing", "local")
NUMBER_PARSERS = ("Number", "parseInt", "parseFloat", "Number.parseInt", "Number.parseFloat")


@collector
def node_pools(module: TsModule) -> Iterator[Pool]:
    objects = {module.text(c["name"][0]): c["object"][0] for _, c in module.matches(OBJECTS)}
    reader = _Values(module)
    uses_pg = bool(_PG_IMPORT.search(module.source.decode("utf-8", "replace")))
    for _, capture in module.matches(CONSTRUCTIONS):
        construction, arguments = capture["construction"][0], capture["arguments"][0]
        name = module.text(capture["constructor"][0])
        first = arguments.named_children[0] if arguments.named_children else None
        options = objects.get(module.text(first)) if first is not None and first.type == "identifier" else first
        if options is not None and options.type != "object":
            options = None
        at = module.at(construction)
        if construction.type == "new_expression" and name in ("Pool", "pg.Pool") and uses_pg:
            if first is not None and options is None:
                yield Pool("node-postgres", at, module.path, size=UNKNOWN)  # options built elsewhere
            else:
                props = _properties(options)
                yield Pool("node-postgres", at, module.path, size=reader.value(props.get("max")) if "max" in props else None,
                           url=reader.value(props["connectionString"]) if "connectionString" in props else None)
        elif construction.type == "new_expression" and name == "PrismaClient":
            props = _properties(options)
            url = props.get("datasourceUrl") or _properties(_properties(props.get("datasources")).get("db")).get("url")
            yield Pool("prisma", at, module.path, url=reader.value(url) if url is not None else Value("env", "DATABASE_URL"))
        elif construction.type == "call_expression" and name in ("knex", "Knex", "require('knex')", 'require("knex")'):
            yield from _knex(reader, options, module.path)
    yield from _knexfile(module, reader)


def _knex(reader: _Values, config: Node | None, module: str) -> Iterator[Pool]:
    props = _properties(config)
    client = reader.value(props.get("client"))
    if client.kind != "literal" or client.text not in POSTGRES_CLIENTS:
        return
    pool = props.get("pool")
    size = _properties(pool).get("max") if pool is not None and pool.type == "object" else None
    at = reader.module.at(pool if pool is not None else config)
    yield Pool("knex", at, module, size=reader.value(size) if size is not None else (UNKNOWN if pool is not None else None))


def _knexfile(module: TsModule, reader: _Values) -> Iterator[Pool]:
    """`knexfile.js`: one configuration per environment; development and test ones do not serve traffic."""
    if not module.path.rsplit("/", 1)[-1].startswith("knexfile."):
        return
    exported = module.captures("(assignment_expression left: (member_expression) @left right: (object) @config)")
    exported_objects = [n for n in exported.get("config", ()) if module.text(n.prev_named_sibling) == "module.exports"]
    exported_objects += module.captures("(export_statement (object) @config)").get("config", [])
    exported_objects += module.captures("(export_statement value: (object) @config)").get("config", [])
    for config in dict.fromkeys(exported_objects):
        props = _properties(config)
        if "client" in props:
            yield from _knex(reader, config, module.path)
            continue
        for environment, nested in sorted(props.items()):
            if environment.lower() not in DEV_ENVIRONMENTS and nested.type == "object":
                yield from _knex(reader, nested, module.path)


def _properties(node: Node | None) -> dict[str, Node]:
    if node is None or node.type != "object":
        return {}
    found = {}
    for pair in node.named_children:
        if pair.type == "pair":
            key, value = pair.child_by_field_name("key"), pair.child_by_field_name("value")
            if key is not None and value is not None:
                found[key.text.decode("utf-8", "replace").strip("'\"")] = value
    return found


class _Values:
    def __init__(self, module: TsModule) -> None:
        self.module = module

    def value(self, node: Node | None) -> Value:
        if node is None:
            return UNKNOWN
        at, text = self.module.at(node), self.module.text(node)
        if node.type in ("parenthesized_expression", "as_expression", "non_null_expression", "satisfies_expression"):
            return self.value(node.named_children[0] if node.named_children else None)
        if node.type == "number":
            return Value("literal", text.replace("_", ""), at=at)
        if node.type == "string" or (node.type == "template_string" and "${" not in text):
            return Value("literal", text[1:-1], at=at)
        env = re.fullmatch(r"""process\.env(?:\.(\w+)|\[\s*['"](\w+)['"]\s*\])""", text)
        if env:
            return Value("env", env[1] or env[2], at=at)
        if node.type == "call_expression":
            function, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
            if self.module.text(function) in NUMBER_PARSERS and arguments is not None and arguments.named_children:
                return self.value(arguments.named_children[0])
        if node.type == "unary_expression" and text.startswith("+"):
            return self.value(node.named_children[0])
        if node.type == "binary_expression" and self.module.text(node.child_by_field_name("operator")) in ("||", "??"):
            return self._with_default(node.child_by_field_name("left"), node.child_by_field_name("right"))
        if node.type == "ternary_expression":
            condition = self.value(node.child_by_field_name("condition"))
            consequence = self.value(node.child_by_field_name("consequence"))
            if condition.kind == "env" and consequence.kind == "env" and condition.text == consequence.text:
                return self._with_default(node.child_by_field_name("consequence"), node.child_by_field_name("alternative"))
        return UNKNOWN

    def _with_default(self, left: Node | None, right: Node | None) -> Value:
        first = self.value(left)
        if first.kind == "env" and first.default is None:
            return Value("env", first.text, self.value(right), at=first.at)
        return UNKNOWN
