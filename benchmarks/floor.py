"""The parse-only floor: read and parse the same source files, nothing else.

    python benchmarks/floor.py --jobs 2 FILE_LIST

FILE_LIST holds one absolute path a line. Python is parsed with the stdlib `ast.parse`,
TypeScript/JavaScript with tree-sitter and the grammar prodlint picks for the extension
(typescript for .ts/.mts/.cts, tsx for .tsx, javascript otherwise). With --jobs N > 1 the
files are spread over a fork pool of N processes, as prodlint spreads its extraction;
workers return only a count, so the floor pays no pickling of results.
"""

from __future__ import annotations

import argparse
import ast
import multiprocessing
import sys
from functools import cache

import tree_sitter

TS_SUFFIXES = (".ts", ".mts", ".cts")


@cache
def parser(dialect: str) -> tree_sitter.Parser:
    if dialect == "javascript":
        import tree_sitter_javascript as grammar

        return tree_sitter.Parser(tree_sitter.Language(grammar.language()))
    import tree_sitter_typescript as grammar

    language = grammar.language_tsx() if dialect == "tsx" else grammar.language_typescript()
    return tree_sitter.Parser(tree_sitter.Language(language))


def parse(path: str) -> int:
    """1 when the file parsed, 0 when it could not be read or is not valid Python."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        if path.endswith(".py"):
            ast.parse(data.decode("utf-8"), path)  # prodlint decodes, then parses the text
        else:
            dialect = "typescript" if path.endswith(TS_SUFFIXES) else "tsx" if path.endswith(".tsx") else "javascript"
            parser(dialect).parse(data)
    except (OSError, SyntaxError, ValueError):
        return 0
    return 1


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--jobs", type=int, default=1)
    options.add_argument("file_list")
    args = options.parse_args(argv)
    with open(args.file_list, encoding="utf-8") as handle:
        paths = [line.rstrip("\n") for line in handle if line.strip()]
    if args.jobs <= 1 or len(paths) < 2:
        parsed = sum(map(parse, paths))
    else:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            parsed = sum(pool.imap_unordered(parse, paths, chunksize=max(1, len(paths) // (args.jobs * 8))))
    print(f"{parsed} of {len(paths)} files parsed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
