"""``show_if`` expressions: a tiny safe language, compiled to closures and never ``eval``-ed.

Grammar (docs/survey-format.md): question keys as names; numbers, strings, ``true``/``false``/
``null``; comparisons ``== != < <= > >=``; ``in`` / ``not in`` against a multiple-choice answer or a
list literal; ``and``, ``or``, ``not``, parentheses; ``answered(key)``.

We reuse Python's parser (``ast.parse(mode="eval")``) because the grammar is a strict subset of
Python expressions, then walk the tree with a whitelist: any node not listed is rejected, so
attribute access, calls, subscripts, lambdas, comprehensions and arithmetic never get through.
Size and depth limits keep hostile input from costing much before it is refused.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

MAX_LENGTH = 1000
MAX_DEPTH = 24
MAX_NODES = 200
MAX_LIST_ITEMS = 100
MAX_STRING = 200
MAX_NUMBER = 10**9

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
LITERAL_NAMES: dict[str, Any] = {"true": True, "false": False, "null": None}
FUNCTIONS = frozenset({"answered"})
# Question keys may not take these names: they mean something else inside an expression.
RESERVED_NAMES = frozenset(LITERAL_NAMES) | FUNCTIONS

Evaluator = Callable[[Mapping[str, Any]], Any]


class ConditionError(ValueError):
    """The expression is not valid ``show_if`` syntax; ``message`` says why, for the editor."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = str(message)


@dataclass(frozen=True)
class Condition:
    """A compiled expression; ``names`` are the question keys it reads."""

    text: str
    names: frozenset[str]
    _evaluate: Evaluator = field(repr=False, compare=False)

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        """True when the condition holds for ``answers`` (never raises on odd answer values)."""
        if not isinstance(answers, Mapping):
            answers = {}
        try:
            return bool(self._evaluate(answers))
        except (TypeError, ValueError, RecursionError):  # pragma: no cover - defensive
            return False


def compile_condition(text: str) -> Condition:
    """Parse and check ``text``; raises ``ConditionError`` for anything outside the language."""
    if not isinstance(text, str):
        raise ConditionError(_("A condition must be text."))
    source = text.strip()
    if not source:
        raise ConditionError(_("The condition is empty."))
    if len(source) > MAX_LENGTH:
        raise ConditionError(
            _("The condition is too long (at most %(max)d characters).") % {"max": MAX_LENGTH}
        )
    tree = _parse(source)
    names: set[str] = set()
    compiler = _Compiler(names)
    evaluator = compiler.boolean(tree.body, depth=0)
    return Condition(text=source, names=frozenset(names), _evaluate=evaluator)


def _parse(source: str) -> ast.Expression:
    try:
        return ast.parse(source, mode="eval")
    except SyntaxError as exc:
        if exc.offset:
            message = _("The condition is not valid syntax (column %(column)d).")
            raise ConditionError(message % {"column": exc.offset}) from None
        raise ConditionError(_("The condition is not valid syntax.")) from None
    except (ValueError, RecursionError, MemoryError, OverflowError):
        raise ConditionError(_("The condition is not valid syntax.")) from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    # Booleans are not numbers here: ``true == 1`` is false, unlike in Python.
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if _is_number(left) and _is_number(right):
        return left == right
    if type(left) is not type(right) and not (left is None or right is None):
        return False
    return left == right


def _ordered(op: type[ast.cmpop], left: Any, right: Any) -> bool:
    # Only number-to-number and text-to-text compare; null and mixed types are simply false.
    if not (
        (_is_number(left) and _is_number(right))
        or (isinstance(left, str) and isinstance(right, str))
    ):
        return False
    if op is ast.Lt:
        return left < right
    if op is ast.LtE:
        return left <= right
    if op is ast.Gt:
        return left > right
    return left >= right


def _member(item: Any, container: Any) -> bool | None:
    """``item in container``; None when the container is null or not a collection."""
    if isinstance(container, list | tuple):
        return any(_equal(item, element) for element in container)
    if isinstance(container, str) and isinstance(item, str):
        return item == container  # a single-choice answer acts as a one-item list
    return None


def _compare(op: type[ast.cmpop], left: Any, right: Any) -> bool:
    if op is ast.Eq:
        return _equal(left, right)
    if op is ast.NotEq:
        return not _equal(left, right)
    if op in (ast.In, ast.NotIn):
        found = _member(left, right)
        if found is None:
            return False  # every comparison with null except == / != is false
        return found if op is ast.In else not found
    return _ordered(op, left, right)


def is_answered(value: Any) -> bool:
    """An answer counts when it is not missing and not empty."""
    return value is not None and value != "" and value != [] and value != {}


_COMPARE_OPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)


class _Compiler:
    """Turns a whitelisted AST into nested closures; every other node is a ConditionError."""

    def __init__(self, names: set[str]):
        self.names = names
        self.nodes = 0

    def _enter(self, depth: int) -> None:
        self.nodes += 1
        if depth > MAX_DEPTH:
            raise ConditionError(_("The condition is nested too deeply."))
        if self.nodes > MAX_NODES:
            raise ConditionError(_("The condition is too complex."))

    def boolean(self, node: ast.AST, depth: int) -> Evaluator:
        """A part that must be true or false: and/or/not, a comparison, answered(), a flag."""
        self._enter(depth)
        if isinstance(node, ast.BoolOp):
            parts = [self.boolean(value, depth + 1) for value in node.values]
            if isinstance(node.op, ast.And):
                return lambda answers: all(part(answers) for part in parts)
            return lambda answers: any(part(answers) for part in parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.boolean(node.operand, depth + 1)
            return lambda answers: not inner(answers)
        if isinstance(node, ast.Compare):
            return self.comparison(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Name) and node.id in ("true", "false"):
            value = LITERAL_NAMES[node.id]
            return lambda answers: value
        if isinstance(node, ast.Name) and node.id not in RESERVED_NAMES and NAME_RE.match(node.id):
            raise ConditionError(
                _("Compare %(name)s with something, e.g. %(name)s <= 6.") % {"name": node.id}
            )
        raise self._unsupported(node)

    def comparison(self, node: ast.Compare, depth: int) -> Evaluator:
        operands = [self.value(item, depth + 1) for item in [node.left, *node.comparators]]
        ops = []
        for op in node.ops:
            if not isinstance(op, _COMPARE_OPS):
                raise ConditionError(_("Use == != < <= > >= in or not in to compare."))
            ops.append(type(op))

        def evaluate(answers: Mapping[str, Any]) -> bool:
            values = [operand(answers) for operand in operands]
            # Chained comparisons (1 <= nps <= 6) hold when every adjacent pair holds.
            return all(_compare(op, values[i], values[i + 1]) for i, op in enumerate(ops))

        return evaluate

    def call(self, node: ast.Call, depth: int) -> Evaluator:
        if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            raise ConditionError(_("The only function allowed is answered(key)."))
        if node.keywords or len(node.args) != 1 or not isinstance(node.args[0], ast.Name):
            raise ConditionError(_("answered() takes one question key, e.g. answered(comment)."))
        key = self._key(node.args[0])
        return lambda answers: is_answered(answers.get(key))

    def value(self, node: ast.AST, depth: int) -> Evaluator:
        """An operand of a comparison: a question key, a literal or a list of literals."""
        self._enter(depth)
        if isinstance(node, ast.Name):
            if node.id in LITERAL_NAMES:
                literal = LITERAL_NAMES[node.id]
                return lambda answers: literal
            key = self._key(node)
            return lambda answers: answers.get(key)
        if isinstance(node, ast.List):
            if len(node.elts) > MAX_LIST_ITEMS:
                raise ConditionError(_("The list is too long."))
            items = [self.literal(element, depth + 1) for element in node.elts]
            return lambda answers: items
        literal = self.literal(node, depth)
        return lambda answers: literal

    def literal(self, node: ast.AST, depth: int) -> Any:
        self._enter(depth)
        if isinstance(node, ast.Name) and node.id in LITERAL_NAMES:
            return LITERAL_NAMES[node.id]
        negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        target = node.operand if negative else node
        if isinstance(target, ast.Constant):
            value = target.value
            if _is_number(value) and abs(value) <= MAX_NUMBER:
                return -value if negative else value
            if isinstance(value, str) and not negative and len(value) <= MAX_STRING:
                return value
            if isinstance(value, bool) or value is None:
                raise ConditionError(_("Write true, false and null in lower case."))
            raise ConditionError(_("Numbers and texts in conditions must be short."))
        raise self._unsupported(node)

    def _key(self, node: ast.Name) -> str:
        if node.id in RESERVED_NAMES or not NAME_RE.match(node.id):
            raise ConditionError(_("%(name)s is not a question key.") % {"name": node.id[:40]})
        self.names.add(node.id)
        return node.id

    def _unsupported(self, node: ast.AST) -> ConditionError:
        if isinstance(node, ast.Call):
            return ConditionError(
                _("Only answered(key) is allowed, on its own, not in a comparison.")
            )
        if isinstance(node, ast.BinOp):
            return ConditionError(_("Arithmetic is not allowed in conditions."))
        if isinstance(node, ast.Name):
            return ConditionError(_("%(name)s is not a question key.") % {"name": node.id[:40]})
        return ConditionError(
            _("This is not allowed in a condition: %(what)s.") % {"what": type(node).__name__}
        )
