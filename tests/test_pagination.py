"""Pagination (PG001, PG002) on a FastAPI, a Flask and an Express app, near misses beside the findings."""

from __future__ import annotations

import textwrap

from prodlint.config import Config
from prodlint.extract import Source
from prodlint.extract.typescript import extract_typescript
from prodlint.facts.pagination import SchemaBound

# Silent in fastapi_app: Annotated[int, Query(le=100)], a Depends() model whose Field has le=,
# a response schema with a `limit` field, a child lookup by order_id, the bounded Country
# model, a limited select, a full read in a function no route handler calls, and a limit the
# handler caps with min(), a limit that only slices a list in memory, a project paginate() whose
# body rejects large pages, and a service object's method that clamps. A lower-bound check
# (`per_page > 0`) is no cap; `items_per_page` is a page size by its name, `Query(ge=1)` without
# `le` bounds nothing, compute_offset() only computes the offset, and order_service.list_page()
# passes the limit on unclamped.
FASTAPI_FINDINGS = [
    "app/api/orders.py:19:17 PG001 page size limit (FastAPI query parameter) has no upper bound, so one request can ask for every row; declare a maximum, e.g. Query(20, ge=1, le=100)",
    "app/api/orders.py:24:19 PG001 page size size (Query(50)) has no upper bound, so one request can ask for every row; declare a maximum, e.g. Query(20, ge=1, le=100)",
    "app/api/orders.py:45:23 PG002 select on Order in route handler all_orders returns every row with no limit; paginate it with .limit() (or list Order in pagination.bounded-models if the table stays small)",
    "app/api/orders.py:64:12 PG002 query on Order in load_everything (called by route handler export_orders) returns every row with no limit; paginate it with .limit() (or list Order in pagination.bounded-models if the table stays small)",
    "app/api/orders.py:79:21 PG001 page size per_page (FastAPI query parameter) has no upper bound, so one request can ask for every row; declare a maximum, e.g. Query(20, ge=1, le=100)",
    "app/api/orders.py:87:36 PG001 page size items_per_page (FastAPI query parameter) has no upper bound, so one request can ask for every row; declare a maximum, e.g. Query(20, ge=1, le=100)",
    "app/api/orders.py:93:20 PG001 page size limit (FastAPI query parameter) has no upper bound, so one request can ask for every row; declare a maximum, e.g. Query(20, ge=1, le=100)",
    "app/api/orders.py:110:20 PG001 page size limit (FastAPI query parameter) has no upper bound, so one request can ask for every row; declare a maximum, e.g. Query(20, ge=1, le=100)",
    "app/schemas.py:6:5 PG001 page size page_size (field PageQuery.page_size) has no upper bound, so one request can ask for every row; declare a maximum, e.g. Field(20, ge=1, le=100)",
]

# Silent in flask_app: min(int(...), 100), a helper in another module whose body clamps,
# an `if limit > 100` cap, a filter_by on the parent id, and paginate(max_per_page=100).
# parse_int() does not clamp, nor does paginate() without max_per_page.
FLASK_FINDINGS = [
    'app/views.py:11:13 PG001 page size limit (request.args.get("limit")) has no upper bound, so one request can ask for every row; clamp it, e.g. min(value, MAX_PAGE_SIZE)',
    'app/views.py:29:22 PG001 page size size (request.args["size"]) has no upper bound, so one request can ask for every row; clamp it, e.g. min(value, MAX_PAGE_SIZE)',
    "app/views.py:43:37 PG002 query on Product in route handler every_product returns every row with no limit; paginate it with .limit() (or list Product in pagination.bounded-models if the table stays small)",
    'app/views.py:60:16 PG001 page size per_page (request.args.get("per_page")) has no upper bound, so one request can ask for every row; clamp it, e.g. min(value, MAX_PAGE_SIZE)',
]

# Silent in express_app: Math.min, clampLimit() (its body clamps), a pageSize capped by an
# imported zod schema's .max(100), a size that never reaches a query, findMany with take,
# a child lookup by customerId, the bounded Currency model, a maintenance function that no
# route calls, lookup tables by their schema (TaxRate, the Category tree, hand-ordered Sections, one tenant's
# Settings) and a groupBy. Every tenant's Settings, the Account table (unique email) and the
# Tenant table (its tenants' rows need it) are lists. A ternary limit handed to a service that
# hands it to a method using it as take is unbounded (CustomerService.capped clamps); a `take`
# assigned from the limit inside an if is the limit.
EXPRESS_FINDINGS = [
    "src/routes/customers.ts:10:24 PG001 page size limit (req.query.limit) has no upper bound, so one request can ask for every row; clamp it with Math.min(value, MAX_PAGE_SIZE) or validate it with a schema .max()",
    "src/routes/customers.ts:15:11 PG001 page size perPage (req.query.perPage) has no upper bound, so one request can ask for every row; clamp it with Math.min(value, MAX_PAGE_SIZE) or validate it with a schema .max()",
    "src/routes/customers.ts:55:18 PG002 findMany on Customer in route handler at line 54 returns every row with no limit; paginate it with take (or list Customer in pagination.bounded-models if the table stays small)",
    "src/routes/customers.ts:71:18 PG002 findMany on Setting in route handler at line 70 returns every row with no limit; paginate it with take (or list Setting in pagination.bounded-models if the table stays small)",
    "src/routes/customers.ts:75:18 PG002 findMany on Account in route handler at line 74 returns every row with no limit; paginate it with take (or list Account in pagination.bounded-models if the table stays small)",
    "src/routes/customers.ts:83:18 PG002 findMany on Tenant in route handler at line 82 returns every row with no limit; paginate it with take (or list Tenant in pagination.bounded-models if the table stays small)",
    "src/routes/customers.ts:87:51 PG001 page size limit (req.query.limit) has no upper bound, and CustomerService.list -> CustomerService.page uses it as the page size, so one request can ask for every row; clamp it with Math.min(value, MAX_PAGE_SIZE) or validate it with a schema .max()",
    "src/routes/customers.ts:97:11 PG001 page size limit (req.query.limit) has no upper bound, so one request can ask for every row; clamp it with Math.min(value, MAX_PAGE_SIZE) or validate it with a schema .max()",
    "src/services/customers.ts:4:10 PG002 findMany on Customer in listAllCustomers (called by route handler at line 37) returns every row with no limit; paginate it with take (or list Customer in pagination.bounded-models if the table stays small)",
]


def test_fastapi_app(run):
    assert run("pagination/fastapi_app", select="PG") == FASTAPI_FINDINGS


def test_flask_app(run):
    assert run("pagination/flask_app", select="PG") == FLASK_FINDINGS


def test_express_app(run):
    assert run("pagination/express_app", select="PG") == EXPRESS_FINDINGS


def test_callee_query_points_back_to_its_handler(lint):
    analysis = lint("pagination/express_app", select="PG002")
    related = [(r.at.path, [(x.at.line, x.message) for x in r.finding.related]) for r in analysis.reported]
    assert related == [
        ("src/routes/customers.ts", []),
        ("src/routes/customers.ts", []),
        ("src/routes/customers.ts", []),
        ("src/routes/customers.ts", []),
        ("src/services/customers.ts", [(37, "route handler at line 37")]),
    ]


def test_bounded_models_config_is_what_exempts(run):
    findings = run("pagination/express_app", select="PG002", bounded_models=())
    assert [f.split(" PG002")[0] for f in findings] == [
        "src/routes/customers.ts:46:18",
        "src/routes/customers.ts:55:18",
        "src/routes/customers.ts:71:18",
        "src/routes/customers.ts:75:18",
        "src/routes/customers.ts:83:18",
        "src/services/customers.ts:4:10",
    ]


def test_schema_maxima_from_each_validation_library():
    source = textwrap.dedent(
        """
        const a = Joi.object({ limit: Joi.number().integer().max(50) });
        const b = z.object({ take: z.number().min(1) });
        router.get("/", query("perPage").isInt({ min: 1, max: 100 }), list);
        router.get("/x", query("size").isInt({ min: 1 }), list);
        class ListDto { @IsInt() @Max(100) pageSize: number; }
        """
    )
    facts = [f for f in extract_typescript(Source("src/a.ts", source), Config()) if isinstance(f, SchemaBound)]
    assert [(f.field, f.library, f.at.line) for f in facts] == [
        ("limit", "joi", 2),
        ("pageSize", "class-validator", 6),
        ("perPage", "express-validator", 4),
    ]


def test_lookup_tables_carry_their_evidence(lint):
    from prodlint.model.data import data_model
    from prodlint.model.pagination import lookup_tables

    project = lint("pagination/express_app", select="PG002").project
    lookups = project.view(lookup_tables)
    why = {m.name: lookups.why_small(m) for m in project.view(data_model).models}
    assert why == {
        "Customer": None,  # invoices need one
        "Invoice": None,  # belongs to a customer
        "Currency": None,  # invoices need one: only the configuration exempts it
        "TaxRate": "TaxRate references no other table and no table's row needs one of its rows",
        "Category": "Category references no other table and no table's row needs one of its rows",
        "Section": "Section belongs to nothing and its rows are ordered by hand (displayOrder)",
        "Product": None,
        "Setting": "Setting references no other table and no table's row needs one of its rows",
        "Tenant": None,  # its settings need one
        "Account": None,  # a unique email
    }


# express_filters: filters built from conditional spreads pin only what every branch pins, and a
# soft-delete flag (isDeleted: false, deletedAt: null) picks no parent: the invoices admins list
# and the optional-filter tickets are lists; one client's invoices are not. A take set only in one
# branch (`...(take ? { take } : {})`, `take: limit ? ... : undefined`) leaves the other unbounded;
# a spread prodlint cannot see may set it. Lists are followed three calls deep, through a
# module-level service instance (route -> controller -> employeeService.list -> readAll); a `let`
# nothing reassigns is read like a const, one that is reassigned is not. Department and
# SecurityQuestion are narrow global lookup tables; Company has eight columns of its own, and
# nothing points to Notification, which points to a user.
FILTERS_FINDINGS = [
    "src/repositories/employees.ts:9:12 PG002 findMany on Employee in readAll (called by route handler listEmployees) returns every row with no limit; paginate it with take (or list Employee in pagination.bounded-models if the table stays small)",
    "src/routes/index.ts:11:26 PG002 findMany on Invoice in route handler at line 8 returns every row with no limit; paginate it with take (or list Invoice in pagination.bounded-models if the table stays small)",
    "src/routes/index.ts:30:41 PG001 page size limit (req.query.limit) has no upper bound, so one request can ask for every row; clamp it with Math.min(value, MAX_PAGE_SIZE) or validate it with a schema .max()",
    "src/routes/index.ts:32:25 PG002 findMany on Ticket in route handler at line 29 returns every row with no limit; paginate it with take (or list Ticket in pagination.bounded-models if the table stays small)",
    "src/routes/index.ts:46:18 PG002 findMany on Ticket in route handler at line 44 returns every row with no limit; paginate it with take (or list Ticket in pagination.bounded-models if the table stays small)",
    "src/routes/index.ts:60:18 PG002 findMany on Company in route handler at line 59 returns every row with no limit; paginate it with take (or list Company in pagination.bounded-models if the table stays small)",
    "src/routes/index.ts:67:18 PG002 findMany on Notification in route handler at line 66 returns every row with no limit; paginate it with take (or list Notification in pagination.bounded-models if the table stays small)",
]


def test_filters_from_spreads_optional_takes_and_service_layers(run):
    assert run("pagination/express_filters", select="PG") == FILTERS_FINDINGS


def test_narrow_global_tables_are_lookups(lint):
    from prodlint.model.data import data_model
    from prodlint.model.pagination import lookup_tables

    project = lint("pagination/express_filters", select="PG002").project
    lookups = project.view(lookup_tables)
    why = {m.name: lookups.why_small(m) for m in project.view(data_model).models}
    assert why == {
        "User": None,  # a unique email
        "Notification": None,  # a leaf with a reference: a record
        "Client": None,  # narrow, but invoices need one and belong to nothing bigger: it owns them
        "Invoice": None,  # belongs to a client
        "Ticket": None,
        "Department": "Department is a narrow global table (3 columns of its own besides keys and timestamps) that Ticket rows need one",
        "SecurityQuestion": "SecurityQuestion is a narrow global table (1 column of its own besides keys and timestamps) that ClientAnswer rows need one",
        "ClientAnswer": None,
        "Company": None,  # eight columns of its own
        "Employee": None,
    }
