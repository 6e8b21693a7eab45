"""What a TS/JS file says about itself: the modules it loads, `require.main`, a worker process."""

from __future__ import annotations

from collections.abc import Iterator

from prodlint.extract.typescript import TsModule, collector
from prodlint.extract.typescript.modules import string_value
from prodlint.facts.roles import PrismaConfig, SourceTraits

_SPECIFIERS = """
(import_statement source: (string) @specifier)
(export_statement source: (string) @specifier)
(call_expression function: [(identifier) (import)] @function arguments: (arguments . [(string) (template_string)] @specifier))
"""
# `new Worker(queue, processor)` from bullmq, `cron.schedule(...)`, `new CronJob(...)`, `agenda.start()`.
_JOB_LIBRARIES = (b"bullmq", b"bull", b"node-cron", b"cron", b"agenda", b"node-schedule", b"bree")
_JOB_CALLS = """
(new_expression constructor: (identifier) @constructor) @call
(call_expression function: (member_expression object: (identifier) @object property: (property_identifier) @property)) @call
"""
_JOB_CONSTRUCTORS = {b"Worker", b"CronJob", b"Agenda", b"Bree", b"QueueScheduler"}
_JOB_METHODS = {(b"cron", b"schedule"), (b"schedule", b"scheduleJob"), (b"nodeCron", b"schedule")}


def _references(module: TsModule) -> Iterator[str]:
    for _, captures in module.matches(_SPECIFIERS):
        function = captures.get("function")
        if function and function[0].text not in (b"require", b"import"):
            continue
        value = string_value(captures["specifier"][0], {})
        if value:
            yield value


def _job_app(module: TsModule) -> tuple[str, object] | None:
    if not any(b"'" + lib + b"'" in module.source or b'"' + lib + b'"' in module.source for lib in _JOB_LIBRARIES):
        return None
    for _, captures in module.matches(_JOB_CALLS):
        if "constructor" in captures and captures["constructor"][0].text in _JOB_CONSTRUCTORS:
            return f"new {captures['constructor'][0].text.decode()}(...)", module.at(captures["call"][0])
        if "object" in captures and (captures["object"][0].text, captures["property"][0].text) in _JOB_METHODS:
            call = captures["call"][0]
            return f"{module.text(call.child_by_field_name('function'))}(...)", module.at(call)
    return None


def _top_level_functions(module: TsModule) -> set[bytes]:
    """Names of the file's own top-level functions: `function main()`, `const run = async () => ...`."""
    names: set[bytes] = set()
    for statement in module.tree.root_node.named_children:
        if statement.type == "export_statement" and statement.named_children:
            statement = statement.named_children[0]
        if statement.type in ("function_declaration", "generator_function_declaration"):
            name = statement.child_by_field_name("name")
            if name is not None and name.text:
                names.add(name.text)
        elif statement.type in ("lexical_declaration", "variable_declaration"):
            for declarator in statement.named_children:
                value = declarator.child_by_field_name("value")
                name = declarator.child_by_field_name("name")
                if value is not None and name is not None and name.text and value.type in ("arrow_function", "function_expression", "function"):
                    names.add(name.text)
    return names


def _program_call(module: TsModule) -> object | None:
    """A top-level call that does the file's work when it runs: `main()`, `main().catch(...)`,
    `(async () => { ... })()`. A file that starts a server (`.listen(`) is not a one-off."""
    if b".listen(" in module.source:
        return None
    defined = _top_level_functions(module)
    for statement in module.tree.root_node.named_children:
        call = statement.named_children[0] if statement.type == "expression_statement" and statement.named_children else None
        if call is not None and call.type == "await_expression" and call.named_children:
            call = call.named_children[0]
        while call is not None and call.type == "call_expression":
            callee = call.child_by_field_name("function")
            if callee is not None and callee.type == "identifier" and callee.text in defined:
                return module.at(statement)
            if callee is not None and callee.type == "parenthesized_expression" and callee.named_children and \
                    callee.named_children[0].type in ("arrow_function", "function_expression", "function"):
                return module.at(statement)
            # `main().catch(...).finally(...)`: the call the chain starts from
            inner = callee.child_by_field_name("object") if callee is not None and callee.type == "member_expression" else None
            call = inner
    return None


_SCHEMA_KEY = """
(pair key: [(property_identifier) (string)] @key value: (_) @value)
"""


def _prisma_config(module: TsModule) -> Iterator[PrismaConfig]:
    """`defineConfig({ schema: "prisma/schema.prisma" })` of a `prisma.config.ts`."""
    for _, captures in module.matches(_SCHEMA_KEY):
        key = captures["key"][0]
        if (string_value(key, {}) if key.type == "string" else key.text.decode()) == "schema":
            yield PrismaConfig(module.path, string_value(captures["value"][0], {}), module.at(key))
            return
    yield PrismaConfig(module.path, None, module.at(module.tree.root_node))


@collector
def typescript_traits(module: TsModule) -> Iterator[object]:
    if module.path.rsplit("/", 1)[-1].startswith("prisma.config."):
        yield from _prisma_config(module)
    main = None
    if b"require.main" in module.source:
        captures = module.captures("(binary_expression) @compare")
        main = next((module.at(n) for n in captures.get("compare", [])
                     if n.text and b"require.main" in n.text and b"module" in n.text.replace(b"require.main", b"")), None)
    yield SourceTraits(module.path, tuple(dict.fromkeys(_references(module))), main, _program_call(module),  # type: ignore[arg-type]
                       _job_app(module))
