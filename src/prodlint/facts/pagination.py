"""Pagination facts: request parameters that set a page size, what bounds them, and which
functions call which (so the model can tell a route handler's direct callees).

Names are as written in one file; `prodlint.model.pagination` resolves helpers and
query models across files.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodlint.facts import Location

FASTAPI = "fastapi"
FLASK = "flask"
EXPRESS = "express"
SCHEMA = "schema"


# Page-size names beyond `pagination.params`: `items_per_page`, `resultsPerPage`, `rows_page_size`.
_PAGE_SIZE_SUFFIXES = ("_per_page", "PerPage", "_page_size", "PageSize")


def is_page_size_name(name: str, params: set[str] | frozenset[str]) -> bool:
    return name in params or name.endswith(_PAGE_SIZE_SUFFIXES)


@dataclass(frozen=True, slots=True)
class PageSizeParam:
    """A request value that sets a page size (`limit: int = 100`, `request.args.get("limit")`, `req.query.limit`).

    `read` is how the code reads it, as shown in a message (`Query(100)`, `req.query.limit`).
    `bound` is the evidence of an upper bound (`le=100`, `min()`, `Math.min`); None when the
    file shows none. `helpers` are calls the value passes through that may clamp it, as
    written; the model resolves them to their bodies. `unknown`: the value flows where the
    file cannot follow (stay silent). For a schema field (`framework == SCHEMA`), `schema`
    is the class it belongs to: it is a request parameter only where a handler uses that
    class as a query model.
    """

    name: str
    framework: str
    read: str
    at: Location
    bound: str | None = None
    helpers: tuple[str, ...] = ()
    unknown: bool = False
    function: str = ""
    schema: str = ""
    # Where the value goes when it reaches no page size here: `(callee as written, argument index)`;
    # the model follows each into the callee's `ParameterUse`. Empty: it reaches one in this function.
    passed_to: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ParameterUse:
    """What a function does with one of its parameters: uses it as a page size (`take: limit`),
    bounds it (`Math.min`, `limit > MAX`), or hands it on (`this.list(page, limit)`)."""

    function: str
    at: Location  # the function, as `Function.at`
    index: int
    name: str
    sink: bool
    bounded: bool
    passed_to: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class QueryModelUse:
    """A handler parameter whose class is a query model: `params: Page = Depends()`."""

    schema: str
    function: str
    at: Location


@dataclass(frozen=True, slots=True)
class Function:
    """A function as defined in a file, the calls its body makes (names as written), and
    whether its body clamps a value from above (`return min(value, MAX)`, `Math.min(...)`)."""

    name: str
    at: Location
    calls: tuple[str, ...] = ()
    clamps: bool = False


@dataclass(frozen=True, slots=True)
class SchemaBound:
    """A validation schema's rule on a request field: zod/joi `.max()`, express-validator
    `query("limit").isInt({ max })`, class-validator `@Max()`."""

    field: str
    library: str
    at: Location
