"""What a TS/JS file says about itself: the modules it loads, `require.main`, a worker process."""

from __future__ import annotations

from collections.abc import Iterator

from prodlint.extract.typescript import TsModule, collector
from prodlint.extract.typescript.modules import string_value
from prodlint.facts.roles import SourceTraits

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


@collector
def typescript_traits(module: TsModule) -> Iterator[object]:
    main = None
    if b"require.main" in module.source:
        captures = module.captures("(binary_expression) @compare")
        main = next((module.at(n) for n in captures.get("compare", [])
                     if n.text and b"require.main" in n.text and b"module" in n.text.replace(b"require.main", b"")), None)
    yield SourceTraits(module.path, tuple(dict.fromkeys(_references(module))), main, None, _job_app(module))  # type: ignore[arg-type]
