"""`--where`: a small Python-like expression over a build's columns, compiled to a pyarrow compute
expression. Parsed with `ast` and checked node by node: only comparisons, and/or/not, arithmetic,
constants, column names and a few functions are accepted, so nothing the user types is run.

    quality.gopher.mean_word_length < 3
    length.words > 1000 and lang == "en"
    reason in ["too_short", "too_long"] or duplicate_of is not None
    contains(url, "wikipedia") and len(text) < 500
    contains(sensitive.badwords.words, "sex")   # on a list column: an item equal to it
    col("my-odd name") >= 0.5          # a column whose name is not dotted words

A dotted name is one column ("quality.gopher.mean_word_length"), as the stages write them.
"""
from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from corpusmill.common.config import ConfigError

FUNCTIONS = ("len", "contains", "startswith", "lower", "is_null", "col")
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge}
_SEP = "\x1f"  # joins a list column's items for contains(); never inside a word
_ARITH = {ast.Add: pc.add, ast.Sub: pc.subtract, ast.Mult: pc.multiply, ast.Div: pc.divide}


class WhereError(ConfigError):
    """An expression that cannot be parsed or names a column no file has."""


@dataclass
class Where:
    text: str
    tree: ast.Expression
    columns: set[str]  # every column it reads

    def compile(self, schema: pa.Schema) -> pc.Expression:
        """The expression for files of this schema (it must hold every column in `columns`)."""
        return _Compiler(self.text, schema).visit(self.tree.body)


def parse(text: str) -> Where:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise WhereError(f"--where {text!r}: not an expression ({e.msg} at character {e.offset or 0}); "
                         'e.g. --where "quality.gopher.mean_word_length < 3 and lang == \'en\'"') from None
    columns: set[str] = set()
    _Checker(text, columns).visit(tree.body)
    return Where(text, tree, columns)


def _column_name(node: ast.AST) -> str | None:
    """'a.b.c' for Name/Attribute chains; col("x") for any name; else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    if (not parts and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "col"
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value
    return None


class _Checker(ast.NodeVisitor):
    """Refuses any node outside the small language, and gathers the columns read."""

    def __init__(self, text: str, columns: set[str]):
        self.text, self.columns = text, columns

    def fail(self, node: ast.AST, why: str):
        raise WhereError(f"--where {self.text!r}: {why} (at character {getattr(node, 'col_offset', 0) + 1}); "
                         f"allowed: column names, numbers, strings, == != < <= > >=, in [..], is None, and/or/not, "
                         f"+ - * /, and the functions {', '.join(FUNCTIONS)}")

    def generic_visit(self, node: ast.AST):
        self.fail(node, f"{type(node).__name__} is not allowed")

    def visit_BoolOp(self, node):
        for v in node.values:
            self.visit(v)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return
        if not isinstance(node.op, ast.Not):
            self.fail(node, "only `not` and a minus before a number are allowed")
        self.visit(node.operand)

    def visit_BinOp(self, node):
        if type(node.op) not in _ARITH:
            self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        self.visit(node.left)
        self.visit(node.right)

    def visit_Compare(self, node):
        self.visit(node.left)
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.List, ast.Tuple)) or not all(
                        isinstance(e, ast.Constant) for e in right.elts):
                    self.fail(right, "`in` takes a list of constants, e.g. lang in ['en', 'de']")
            elif isinstance(op, (ast.Is, ast.IsNot)):
                if not (isinstance(right, ast.Constant) and right.value is None):
                    self.fail(right, "`is` only compares with None (is None / is not None)")
            elif type(op) in _COMPARE:
                self.visit(right)
            else:
                self.fail(node, f"comparison {type(op).__name__} is not allowed")

    def visit_Constant(self, node):
        if not isinstance(node.value, (int, float, str, bool, type(None))):
            self.fail(node, f"constant {node.value!r} is not allowed")

    def visit_Name(self, node):
        self.columns.add(node.id)

    def visit_Attribute(self, node):
        name = _column_name(node)
        if name is None:
            self.fail(node, "an attribute of something other than a column name")
        self.columns.add(name)

    def visit_Call(self, node):
        name = _column_name(node)
        if name is not None:  # col("...")
            self.columns.add(name)
            return
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            self.fail(node, "unknown function")
        arity = {"len": 1, "lower": 1, "is_null": 1, "contains": 2, "startswith": 2}[node.func.id]
        if len(node.args) != arity:
            self.fail(node, f"{node.func.id}() takes {arity} argument(s)")
        if arity == 2 and not (isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            self.fail(node, f"{node.func.id}()'s second argument must be a string")
        self.visit(node.args[0])


class _Compiler(ast.NodeVisitor):
    """Turns a checked tree into a pyarrow expression."""

    def __init__(self, text: str, schema: pa.Schema):
        self.text, self.schema = text, schema

    def visit_BoolOp(self, node):
        parts = [self.visit(v) for v in node.values]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node.op, ast.And) else (out | p)
        return out

    def visit_UnaryOp(self, node):
        if isinstance(node.op, ast.USub):
            return pc.scalar(-node.operand.value)
        return ~self.visit(node.operand)

    def visit_BinOp(self, node):
        return _ARITH[type(node.op)](self.visit(node.left), self.visit(node.right))

    def visit_Compare(self, node):
        out, left = None, self.visit(node.left)
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                test = left.isin([e.value for e in right.elts])
                test = ~test if isinstance(op, ast.NotIn) else test
            elif isinstance(op, ast.Is):
                test = left.is_null()
            elif isinstance(op, ast.IsNot):
                test = left.is_valid()
            else:
                nxt = self.visit(right)
                test, left = _COMPARE[type(op)](left, nxt), nxt
            out = test if out is None else out & test
        return out

    def visit_Constant(self, node):
        return pc.scalar(node.value)

    def _field(self, node) -> pc.Expression:
        return pc.field(_column_name(node))

    visit_Name = visit_Attribute = _field

    def visit_Call(self, node):
        if _column_name(node) is not None:
            return self._field(node)
        fn, arg = node.func.id, self.visit(node.args[0])
        name = _column_name(node.args[0])
        typ = self.schema.field(name).type if name in self.schema.names else pa.string()
        is_list = pa.types.is_list(typ) or pa.types.is_large_list(typ)
        if fn == "len":
            return pc.list_value_length(arg) if is_list else pc.utf8_length(arg)
        if fn == "contains" and is_list:  # an item equal to the string: items joined between separators
            joined = pc.Expression._call("binary_join", [arg, pc.scalar(_SEP)])
            framed = pc.Expression._call("binary_join_element_wise", [pc.scalar(""), joined, pc.scalar(""),
                                                                      pc.scalar(_SEP)])
            return pc.match_substring(framed, f"{_SEP}{node.args[1].value}{_SEP}")
        if fn == "lower":
            return pc.utf8_lower(arg)
        if fn == "is_null":
            return arg.is_null()
        pattern = node.args[1].value
        return pc.match_substring(arg, pattern) if fn == "contains" else pc.starts_with(arg, pattern)
