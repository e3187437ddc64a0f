"""The `calculator` tool: arithmetic by walking a whitelisted Python AST, never eval/exec.

Allowed: numbers (ints, floats, `1e3`, `1_000`), + - * / // % **, unary +/-, parentheses,
the functions in `_FUNCTIONS` and the constants `pi`, `e`, `tau`. Anything else (names,
attributes, strings, comparisons, bit operations, keyword arguments…) is refused with a
plain reason. Work is bounded before it is done: powers whose result would exceed
`MAX_INT_DIGITS` digits are refused from an estimate (so `9**9**9` fails at once), every
intermediate integer is size-checked, and input length and nesting depth are capped.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from typing import Any

from bot.llm.tools import Tool, ToolContext, ToolError

Number = int | float

MAX_EXPRESSION_CHARS = 1000
MAX_DEPTH = 60
MAX_INT_DIGITS = 1000
_MAX_INT_BITS = int(MAX_INT_DIGITS * math.log2(10)) + 1
MAX_FACTORIAL = 400  # 400! has 869 digits
MAX_ROUND_DIGITS = 100
SIGNIFICANT_DIGITS = 12
_FLOAT_EXACT = 2.0**53  # every float from here up is a whole number

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _factorial(n: Number) -> int:
    if isinstance(n, float):
        if not n.is_integer():
            raise ToolError("factorial needs a whole number")
        n = int(n)
    if n < 0:
        raise ToolError("factorial needs a number ≥ 0")
    if n > MAX_FACTORIAL:
        raise ToolError(f"factorial({n}) is too large (the limit is {MAX_FACTORIAL})")
    return math.factorial(n)


def _whole(function: Callable[[float], int]) -> Callable[[Number], Number]:
    """floor/ceil for floats past 2**53 stay floats: they are whole already, and their
    exact int would print float noise as if it were precise digits."""

    def call(x: Number) -> Number:
        return x if isinstance(x, float) and abs(x) >= _FLOAT_EXACT else function(x)

    return call


def _round(x: Number, ndigits: Number | None = None) -> Number:
    if ndigits is None:
        return x if isinstance(x, float) and abs(x) >= _FLOAT_EXACT else round(x)
    if not isinstance(ndigits, int):
        raise ToolError("round's second argument must be a whole number")
    if abs(ndigits) > MAX_ROUND_DIGITS:
        raise ToolError(f"round's second argument must be between ±{MAX_ROUND_DIGITS}")
    return round(x, ndigits)


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


def _minmax(pick: Callable[..., Number]) -> Callable[..., Number]:
    def call(*args: Number) -> Number:
        return pick(args)

    return call


# name → (function, min args, max args)
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "sqrt": (math.sqrt, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "asin": (math.asin, 1, 1),
    "acos": (math.acos, 1, 1),
    "atan": (math.atan, 1, 1),
    "atan2": (math.atan2, 2, 2),
    "hypot": (math.hypot, 1, 10),
    "log": (_log, 1, 2),
    "log10": (math.log10, 1, 1),
    "log2": (math.log2, 1, 1),
    "exp": (math.exp, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "floor": (_whole(math.floor), 1, 1),
    "ceil": (_whole(math.ceil), 1, 1),
    "min": (_minmax(min), 1, 50),
    "max": (_minmax(max), 1, 50),
    "factorial": (_factorial, 1, 1),
    "degrees": (math.degrees, 1, 1),
    "radians": (math.radians, 1, 1),
}

_OPERATOR_NAMES: dict[type[ast.AST], str] = {
    ast.BitXor: "^ (use ** for powers)",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Not: "not",
}

# Characters people (and models) paste that Python spells differently.
# (Escapes, not the characters themselves: they look like x and - in an editor.)
_TRANSLATE = str.maketrans(
    {"\u00d7": "*", "\u00f7": "/", "\u2212": "-", "\u2013": "-", "\u00b7": "*"}
)


def _check_size(value: Number) -> Number:
    if isinstance(value, bool):  # pragma: no cover - bools never reach here
        raise ToolError("true/false values are not numbers here")
    if isinstance(value, int):
        if value.bit_length() > _MAX_INT_BITS:
            raise ToolError(f"the result has more than {MAX_INT_DIGITS} digits")
        return value
    if isinstance(value, float):
        if math.isnan(value):
            raise ToolError("the result is not a number (NaN)")
        if math.isinf(value):
            raise ToolError("the result is too large (overflow)")
        return value
    raise ToolError("the result is not a real number")


def _power(base: Number, exponent: Number) -> Number:
    # Estimate the size first: computing 9**387420489 just to reject it would burn CPU.
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and abs(base) > 1
        and exponent * math.log10(abs(base)) > MAX_INT_DIGITS
    ):
        raise ToolError(f"the result would have more than {MAX_INT_DIGITS} digits")
    result = base**exponent
    if isinstance(result, complex):
        raise ToolError("the result is not a real number (a negative number to a fractional power)")
    return result


def _divide(a: Number, b: Number) -> Number:
    if isinstance(a, int) and isinstance(b, int) and b != 0 and a % b == 0:
        return a // b  # exact, even past float precision
    return a / b


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Number]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: _divide,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: _power,
}


def _evaluate(node: ast.AST, depth: int = 0) -> Number:
    if depth > MAX_DEPTH:
        raise ToolError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, depth + 1)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            kind = "text" if isinstance(node.value, str | bytes) else repr(node.value)
            raise ToolError(f"{kind} is not allowed: only numbers")
        return _check_size(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _evaluate(node.operand, depth + 1)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _evaluate(node.left, depth + 1)
        right = _evaluate(node.right, depth + 1)
        return _check_size(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id in _FUNCTIONS:
            raise ToolError(f"{node.id} is a function: call it like {node.id}(x)")
        raise ToolError(f"unknown name {node.id!r} (constants: {', '.join(_CONSTANTS)})")
    if isinstance(node, ast.Call):
        return _call(node, depth)
    raise ToolError(_describe_unsupported(node))


def _call(node: ast.Call, depth: int) -> Number:
    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
        shown = node.func.id if isinstance(node.func, ast.Name) else "that"
        raise ToolError(f"unknown function {shown!r}; available: {', '.join(sorted(_FUNCTIONS))}")
    name = node.func.id
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise ToolError(f"{name}() takes plain numbers only (no keywords or *args)")
    function, least, most = _FUNCTIONS[name]
    if not least <= len(node.args) <= most:
        wanted = str(least) if least == most else f"{least} to {most}"
        raise ToolError(f"{name}() takes {wanted} argument(s), got {len(node.args)}")
    args = [_evaluate(arg, depth + 1) for arg in node.args]
    try:
        return _check_size(function(*args))
    except ValueError as exc:
        raise ToolError(f"{name}() of that value is undefined ({exc})") from None


def _describe_unsupported(node: ast.AST) -> str:
    op = getattr(node, "op", None)
    if op is not None and type(op) in _OPERATOR_NAMES:
        return f"the operator {_OPERATOR_NAMES[type(op)]} is not supported"
    if isinstance(node, ast.Attribute):
        return "attributes (like x.y) are not allowed"
    if isinstance(node, ast.Tuple):
        return "commas only separate function arguments; write 1000 or 1_000, not 1,000"
    if isinstance(node, ast.Compare | ast.BoolOp):
        return "comparisons and logic are not supported, only arithmetic"
    return f"{type(node).__name__} is not allowed in a calculation"


def calculate(expression: str) -> Number:
    """The value of `expression`; raises ToolError with a plain reason when refused."""
    if not isinstance(expression, str):
        raise ToolError("expression must be text, e.g. '2 * (3 + 4)'")
    text = expression.translate(_TRANSLATE).strip()
    if not text:
        raise ToolError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is too long (over {MAX_EXPRESSION_CHARS} characters)")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"could not parse the expression: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ToolError("the expression is too complex to parse") from None
    try:
        return _evaluate(tree)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except OverflowError:
        raise ToolError("the result is too large (overflow)") from None
    except RecursionError:
        raise ToolError("the expression is nested too deeply") from None


def format_number(value: Number) -> str:
    """Ints exactly; floats at 12 significant digits, so 0.1 + 0.2 reads as 0.3."""
    if isinstance(value, int):
        return str(value)
    rounded = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if rounded.is_integer() and abs(rounded) < 1e15:
        return str(int(rounded))
    return repr(rounded)


def summarize_calculator(arguments: Mapping[str, Any]) -> str:
    shown = " ".join(str(arguments.get("expression", "")).split())
    return shown if len(shown) <= 80 else shown[:79] + "…"


async def calculator(ctx: ToolContext, expression: str) -> str:
    return format_number(calculate(expression))


def make_calculator_tool(*, timeout_s: float = 20.0) -> Tool:
    return Tool(
        name="calculator",
        description=(
            "Evaluate an arithmetic expression exactly and safely. Supports + - * / // % ** "
            "and parentheses, numbers like 1e3 or 1_000, constants pi, e, tau and functions "
            f"{', '.join(sorted(_FUNCTIONS))}. Use it for any arithmetic instead of guessing."
        ),
        parameters={
            "type": "object",
            "properties": {
                "expression": {
                    "type": "string",
                    "description": "The expression, e.g. '(17.5 * 3) / sqrt(2)'.",
                }
            },
            "required": ["expression"],
            "additionalProperties": False,
        },
        handler=calculator,
        timeout_s=timeout_s,
        summarize=summarize_calculator,
    )
