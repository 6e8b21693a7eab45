"""What a command line runs: the programs behind shells and wrappers, and the server options.

`programs(argv)` unwraps `sh -c "a && b"`, `exec`, `env X=1`, `X=1 prog` and launchers
(`poetry run`, `python -m`, `tini --`, `gosu user`, `ddtrace-run`, ...) into the programs
that actually run; `server_commands(argv)` reads each as a `ServerCommand`. A value
prodlint cannot know (`--workers $WEB_CONCURRENCY`, `-w $(nproc)`) is `UNKNOWN`, never a guess.

Used by the server rules and by the capacity model; nothing here reads files.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prodlint.facts.servers import UNKNOWN, ServerCommand
from prodlint import numbers

SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})
_SEPARATORS = frozenset({"&&", "||", ";", "&", "|", ";;", "\n", "(", ")"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
PYTHON = re.compile(r"^python(?:\d+(?:\.\d+)?)?$")
SERVERS = frozenset({"uvicorn", "gunicorn", "hypercorn", "daphne", "granian", "waitress-serve", "fastapi"})
# Programs that, passed to an entrypoint script, are the command it execs.
APPLICATION_PROGRAMS = SERVERS | {
    "flask", "django-admin", "node", "nodemon", "ts-node-dev", "npm", "yarn", "pnpm", "npx", "bun", "next", "celery",
}

# Launchers that run the rest of the command line: name -> options that take a value.
_LAUNCHERS: dict[str, frozenset[str]] = {
    "ddtrace-run": frozenset(),
    "dumb-init": frozenset({"-r", "--rewrite"}),
    "opentelemetry-instrument": frozenset(),  # every option is `--name value`, see _skip_options
    "nice": frozenset({"-n", "--adjustment"}),
    "nohup": frozenset(),
    "time": frozenset(),
    "tini": frozenset({"-p", "-e"}),
    "catatonit": frozenset(),
    "setpriv": frozenset(),
    "chpst": frozenset({"-u", "-U"}),
}
# `tool run ...`: the word after the tool and its options.
_RUNNERS: dict[str, frozenset[str]] = {
    "poetry": frozenset({"-C", "--directory", "-P", "--project"}),
    "pipenv": frozenset(),
    "pdm": frozenset({"-p", "--project"}),
    "hatch": frozenset({"-e", "--env"}),
    "rye": frozenset(),
    "uv": frozenset({
        "--with", "--with-requirements", "--with-editable", "--python", "-p", "--package", "--extra",
        "--group", "--env-file", "--directory", "--project", "--index", "--index-url", "--only-group",
    }),
    "newrelic-admin": frozenset(),
}
_RUNNER_VERB = {"newrelic-admin": "run-program"}
_USER_SWITCHERS = frozenset({"gosu", "su-exec"})
_PYTHON_OPTIONS_WITH_VALUE = frozenset({"-W", "-X", "-Q"})
# The rest of `wait-for-it db:5432 -- gunicorn app` / `doppler run -- uvicorn app` runs after `--`.
_DOUBLE_DASH_RUNNERS = frozenset({"wait-for-it", "wait-for-it.sh", "doppler", "infisical", "dotenv"})


@dataclass(frozen=True, slots=True)
class Invocation:
    """One program run by a command line, wrappers removed, with the variables set for it."""

    argv: tuple[str, ...]
    environment: tuple[tuple[str, str], ...] = ()

    @property
    def program(self) -> str:
        return program_name(self.argv[0]) if self.argv else ""


def split_command(text: str) -> tuple[str, ...] | None:
    """Split a command string into words as compose and shells do; None when it cannot be (an open quote)."""
    try:
        return tuple(shlex.split(text, comments=False, posix=True))
    except ValueError:
        return None


def inside_workdir(path: str, workdir: str | None) -> str | None:
    """`/app/main.py` under WORKDIR /app is `main.py` of the build context; other absolute paths are unknown."""
    if not path.startswith("/"):
        return path
    if workdir and workdir.startswith("/") and path.startswith(workdir.rstrip("/") + "/"):
        return path[len(workdir.rstrip("/")) + 1 :]
    return None


def option_value(argv: Sequence[str], *names: str) -> str | None:
    """The value of the first of `names` the command line sets: `-w 4`, `--workers=4`, `-w4`."""
    for index, word in enumerate(argv):
        for name in names:
            if word == name and index + 1 < len(argv):
                return argv[index + 1]
            if name.startswith("--") and word.startswith(name + "="):
                return word.split("=", 1)[1]
            if not name.startswith("--") and word.startswith(name) and len(word) > len(name):
                return word[len(name):]
    return None


def program_name(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def programs(argv: Sequence[str]) -> tuple[Invocation, ...]:
    """Every program the command line runs, in order."""
    return tuple(_unwrap(tuple(argv), ()))


def server_commands(argv: Sequence[str]) -> tuple[ServerCommand, ...]:
    """Every program the command line runs, read as a server where it is one."""
    return tuple(read_server(invocation) for invocation in programs(argv))


def _unwrap(argv: tuple[str, ...], environment: tuple[tuple[str, str], ...]) -> Iterator[Invocation]:
    # Leading assignments and `exec`/`env` apply to the program they precede.
    while argv:
        head = argv[0]
        if _ASSIGNMENT.match(head):
            name, _, value = head.partition("=")
            environment += ((name, value),)
            argv = argv[1:]
        elif head in ("exec", "command", "builtin"):
            argv = argv[1:]
        elif program_name(head) == "env":
            argv = _skip_options(argv[1:], frozenset({"-u", "--unset", "-C", "--chdir", "-S"}))
        else:
            break
    if not argv:
        return
    name = program_name(argv[0])
    rest = argv[1:]
    if name in SHELLS:
        script = _shell_script(rest)
        if script is not None:
            yield from _script(script, environment)
        else:
            yield Invocation(argv, environment)
    elif name in _LAUNCHERS:
        options = _LAUNCHERS[name]
        if name == "opentelemetry-instrument":
            rest = _skip_long_options_with_values(rest)
        else:
            rest = _skip_options(rest, options)
        yield from _unwrap(rest, environment)
    elif name in _RUNNERS:
        verb = _RUNNER_VERB.get(name, "run")
        rest = _skip_options(rest, _RUNNERS[name])
        if rest[:1] == (verb,):
            yield from _unwrap(_skip_options(rest[1:], _RUNNERS[name]), environment)
        else:
            yield Invocation(argv, environment)
    elif name in _USER_SWITCHERS and len(rest) >= 2:
        yield from _unwrap(rest[1:], environment)
    elif name in _DOUBLE_DASH_RUNNERS and "--" in rest:
        yield from _unwrap(rest[rest.index("--") + 1 :], environment)
    elif name in ("npx", "bunx") or (name in ("pnpm", "yarn", "bun") and rest[:1] in (("exec",), ("dlx",), ("x",))):
        if name not in ("npx", "bunx"):
            rest = rest[1:]
        yield from _unwrap(_skip_options(rest, frozenset({"-p", "--package", "-c", "--call"})), environment)
    elif PYTHON.match(name) and _module_of(rest) in SERVERS | {"flask", "django"}:
        module, module_args = _python_module(rest)
        yield Invocation((module or name, *module_args), environment)
    elif _is_entrypoint_script(name) and rest and _is_application_program(program_name(rest[0])):
        # `docker-entrypoint.sh gunicorn app:app`: the script ends in `exec "$@"`, the convention.
        yield from _unwrap(rest, environment)
    else:
        yield Invocation(argv, environment)


def _script(script: str, environment: tuple[tuple[str, str], ...]) -> Iterator[Invocation]:
    """The programs of a shell script, split at `&&`, `||`, `;`, `|`, `&` and newlines."""
    words = _shell_words(script)
    if words is None:
        return
    exported = environment
    for command in _commands(words):
        if command[0] in ("export", "readonly", "declare") or all(_ASSIGNMENT.match(w) for w in command):
            # `export WEB_CONCURRENCY=4; gunicorn ...` sets it for what follows.
            exported += tuple(tuple(w.split("=", 1)) for w in command if _ASSIGNMENT.match(w))  # type: ignore[misc]
            continue
        if command[0] in ("set", "cd", "echo", "printf", "true", ":", "if", "then", "fi", "else", "do", "done"):
            continue
        yield from _unwrap(command, exported)


def _shell_words(script: str) -> list[str] | None:
    lexer = shlex.shlex(script, posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:
        return None


def _commands(words: list[str]) -> Iterator[tuple[str, ...]]:
    current: list[str] = []
    for word in words:
        if word in _SEPARATORS or (word and set(word) <= set("&|;\n()")):
            if current:
                yield tuple(current)
            current = []
        else:
            current.append(word)
    if current:
        yield tuple(current)


def _shell_script(args: tuple[str, ...]) -> str | None:
    """The script of `sh -c SCRIPT`, `bash -lc SCRIPT`, `sh -ec SCRIPT`; None for `sh file.sh`."""
    for index, arg in enumerate(args):
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            if "c" in arg[1:]:
                return args[index + 1] if index + 1 < len(args) else None
            continue
        if arg.startswith("--"):
            continue
        return None
    return None


def _skip_options(args: tuple[str, ...], with_value: frozenset[str]) -> tuple[str, ...]:
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return args[index + 1 :]
        if not arg.startswith("-") or arg == "-":
            break
        index += 2 if arg in with_value else 1
    return args[index:]


def _skip_long_options_with_values(args: tuple[str, ...]) -> tuple[str, ...]:
    index = 0
    while index < len(args) and args[index].startswith("--"):
        index += 1 if "=" in args[index] else 2
    return args[index:]


def _module_of(args: tuple[str, ...]) -> str | None:
    return _python_module(args)[0]


def _python_module(args: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """`python -u -m uvicorn app:app` -> ("uvicorn", ("app:app",))."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-m":
            return (args[index + 1], args[index + 2 :]) if index + 1 < len(args) else (None, ())
        if arg.startswith("-m") and len(arg) > 2:
            return arg[2:], args[index + 1 :]
        if not arg.startswith("-"):
            return None, ()
        index += 2 if arg in _PYTHON_OPTIONS_WITH_VALUE else 1
    return None, ()


def _is_entrypoint_script(name: str) -> bool:
    return name.endswith(".sh") or "entrypoint" in name


def _is_application_program(name: str) -> bool:
    return name in APPLICATION_PROGRAMS or bool(PYTHON.match(name))


def postgres_settings(argv: Sequence[str]) -> dict[str, str]:
    """`postgres -c max_connections=200 --shared_buffers=1GB` -> {"max_connections": "200", ...}, the last one winning."""
    settings: dict[str, str] = {}
    for invocation in programs(argv):
        if invocation.program not in ("postgres", "postmaster", "docker-entrypoint.sh"):
            continue
        words = invocation.argv[1:]
        for index, word in enumerate(words):
            setting = words[index + 1] if word == "-c" and index + 1 < len(words) else word[2:] if word.startswith("--") else ""
            name, equals, value = setting.partition("=")
            if equals and name:
                settings[name.replace("-", "_")] = value
    return settings


# --- reading a program as a server -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Options:
    """Server options as `{option: value}` (flags map to "") and the positional words."""

    values: dict[str, str]
    positional: tuple[str, ...]

    def get(self, *names: str) -> str | None:
        found = None
        for name in names:
            if name in self.values:
                found = self.values[name]
        return found

    def has(self, *names: str) -> bool:
        return any(name in self.values for name in names)


def _parse_options(args: tuple[str, ...], with_value: frozenset[str], short_with_value: frozenset[str]) -> _Options:
    values: dict[str, str] = {}
    positional: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional.extend(args[index:])
            break
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
            if not equals and name in with_value and index < len(args):
                value = args[index]
                index += 1
            values[name] = value
        elif arg.startswith("-") and len(arg) > 1:
            name = arg[:2]
            if name in short_with_value:
                if len(arg) > 2:
                    values[name] = arg[2:].lstrip("=")
                elif index < len(args):
                    values[name] = args[index]
                    index += 1
            else:
                values[name] = ""
        else:
            positional.append(arg)
    return _Options(values, tuple(positional))


def _count(value: str | None) -> int | str | None:
    """A worker or thread count as written: int, `UNKNOWN` for anything computed, None when absent."""
    if value is None:
        return None
    value = value.strip()
    number = numbers.count(value)
    return number if number is not None else UNKNOWN


_UVICORN_VALUES = frozenset({
    "--workers", "--host", "--port", "--uds", "--fd", "--loop", "--http", "--ws", "--lifespan", "--interface",
    "--env-file", "--log-config", "--log-level", "--root-path", "--limit-concurrency", "--backlog",
    "--limit-max-requests", "--timeout-keep-alive", "--timeout-graceful-shutdown", "--app-dir", "--reload-dir",
    "--reload-include", "--reload-exclude", "--reload-delay", "--forwarded-allow-ips", "--ssl-keyfile",
    "--ssl-certfile", "--ssl-keyfile-password", "--ssl-version", "--ssl-cert-reqs", "--ssl-ca-certs",
    "--ssl-ciphers", "--header", "--h11-max-incomplete-event-size", "--ws-max-size", "--ws-max-queue",
    "--ws-ping-interval", "--ws-ping-timeout", "--ws-per-message-deflate",
})
_GUNICORN_VALUES = frozenset({
    "--workers", "--threads", "--worker-class", "--config", "--bind", "--timeout", "--graceful-timeout",
    "--keep-alive", "--worker-connections", "--max-requests", "--max-requests-jitter", "--log-level",
    "--access-logfile", "--error-logfile", "--log-file", "--access-logformat", "--chdir", "--name", "--user",
    "--group", "--pid", "--env", "--pythonpath", "--paste", "--backlog", "--worker-tmp-dir", "--umask",
    "--forwarded-allow-ips", "--limit-request-line", "--limit-request-fields", "--limit-request-field_size",
    "--certfile", "--keyfile", "--log-config", "--statsd-host", "--statsd-prefix", "--capture-output",
    "--reload-extra-file", "--reload-engine", "--proxy-allow-from", "--logger-class",
})
_GUNICORN_SHORT = frozenset({"-w", "-k", "-c", "-b", "-t", "-e", "-n", "-u", "-g", "-p", "-m"})
_HYPERCORN_VALUES = frozenset({"--workers", "--bind", "--config", "--worker-class", "--log-level", "--root-path"})
_HYPERCORN_SHORT = frozenset({"-w", "-b", "-c", "-k"})
_GRANIAN_VALUES = frozenset({
    "--workers", "--interface", "--host", "--port", "--uds", "--threads", "--blocking-threads", "--runtime-threads",
    "--runtime-mode", "--loop", "--task-impl", "--http", "--backlog", "--backpressure", "--log-level",
    "--log-config", "--access-log-fmt", "--ssl-certificate", "--ssl-keyfile", "--url-path-prefix",
    "--respawn-interval", "--workers-lifetime", "--workers-kill-timeout", "--reload-paths", "--reload-ignore-dirs",
    "--pid-file", "--process-name", "--static-path-route", "--static-path-mount",
})
_NODE_DEV = {"nodemon": "nodemon", "ts-node-dev": "ts-node-dev", "tsnd": "ts-node-dev", "webpack-dev-server": "webpack-dev-server"}
_DEV_SUBCOMMANDS = {
    "next": ("dev",), "nuxt": ("dev",), "nuxi": ("dev",), "astro": ("dev",), "remix": ("dev",),
    "vite": ("dev", "serve"), "ng": ("serve",), "vue-cli-service": ("serve",), "webpack": ("serve",),
    "react-scripts": ("start",), "tsx": ("watch",), "fastapi": ("dev",), "svelte-kit": ("dev",),
}
_DEV_SCRIPTS = frozenset({"dev", "start:dev", "develop"})


def read_server(invocation: Invocation) -> ServerCommand:
    """What this program is, as a server: workers, threads, worker class, development mode."""
    argv, program = invocation.argv, invocation.program
    args = argv[1:]
    env = invocation.environment
    if program == "uvicorn" or (program == "fastapi" and args[:1] == ("run",)):
        options = _parse_options(args[1:] if program == "fastapi" else args, _UVICORN_VALUES, frozenset())
        reload = options.has("--reload")
        name = "uvicorn"
        return ServerCommand(
            name, argv, workers=_count(options.get("--workers")), reload=reload,
            dev=f"{program} --reload" if reload else None, app=next(iter(options.positional), None), environment=env,
        )
    if program == "gunicorn":
        options = _parse_options(args, _GUNICORN_VALUES, _GUNICORN_SHORT)
        reload = options.has("--reload")
        return ServerCommand(
            "gunicorn", argv, workers=_count(options.get("-w", "--workers")),
            threads=_count(options.get("--threads")), worker_class=options.get("-k", "--worker-class"),
            reload=reload, dev="gunicorn --reload" if reload else None, config_file=options.get("-c", "--config"),
            app=next(iter(options.positional), None), environment=env,
        )
    if program == "hypercorn":
        options = _parse_options(args, _HYPERCORN_VALUES, _HYPERCORN_SHORT)
        reload = options.has("--reload")
        return ServerCommand(
            "hypercorn", argv, workers=_count(options.get("-w", "--workers")), reload=reload,
            dev="hypercorn --reload" if reload else None, config_file=options.get("-c", "--config"),
            app=next(iter(options.positional), None), environment=env,
        )
    if program == "granian":
        options = _parse_options(args, _GRANIAN_VALUES, frozenset())
        reload = options.has("--reload")
        return ServerCommand(
            "granian", argv, workers=_count(options.get("--workers")), reload=reload,
            dev="granian --reload" if reload else None, app=next(iter(options.positional), None), environment=env,
        )
    if program == "flask" and "run" in _words(args):
        return ServerCommand("flask", argv, dev="flask run", environment=env)
    django = _django_runserver(program, args)
    if django:
        return ServerCommand("django", argv, dev=django, environment=env)
    if PYTHON.match(program):
        module, _ = _python_module(args)
        script = None if module else next((a for a in args if not a.startswith("-")), None)
        return ServerCommand("python", argv, script=script, module=module, environment=env)
    return ServerCommand(program, argv, dev=_node_dev_server(program, args), environment=env)


def _words(args: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(a for a in args if not a.startswith("-"))


def _django_runserver(program: str, args: tuple[str, ...]) -> str | None:
    words = _words(args)
    if program in ("django-admin", "django") and words[:1] in (("runserver",), ("runserver_plus",)):
        return f"django-admin {words[0]}"
    if PYTHON.match(program) and words and program_name(words[0]) == "manage.py":
        words = words[1:]
        program = "manage.py"
    if program == "manage.py" and words[:1] in (("runserver",), ("runserver_plus",)):
        return f"manage.py {words[0]}"
    return None


def _node_dev_server(program: str, args: tuple[str, ...]) -> str | None:
    if program in _NODE_DEV:
        return _NODE_DEV[program]
    words = _words(args)
    if program in _DEV_SUBCOMMANDS:
        # `vite` alone starts the dev server; `vite build` / `vite preview` do not.
        if program == "vite" and not words:
            return "vite"
        if words[:1] and words[0] in _DEV_SUBCOMMANDS[program]:
            return f"{program} {words[0]}"
        return None
    if program == "node" and any(a == "--watch" or a.startswith("--watch=") for a in args):
        return "node --watch"
    if program in ("npm", "pnpm", "yarn", "bun"):
        script = words[1] if words[:1] == ("run",) and len(words) > 1 else (words[0] if words and program != "npm" else None)
        if script in _DEV_SCRIPTS:
            return f"{program} run {script}" if words[:1] == ("run",) else f"{program} {script}"
    return None
