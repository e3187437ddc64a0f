"""calculator: a broad table of accepted and refused expressions."""

from __future__ import annotations

import pytest

from bot.llm.tools import ToolContext, ToolError
from bot.tools.calculator import calculate, format_number, make_calculator_tool

ACCEPTED = [
    ("1 + 2", "3"),
    ("2 * (3 + 4)", "14"),
    ("7 - 10", "-3"),
    ("-(-3)", "3"),
    ("+5", "5"),
    ("--5", "5"),
    ("10 / 4", "2.5"),
    ("6 / 3", "2"),
    ("10 // 3", "3"),
    ("-7 // 2", "-4"),
    ("10 % 3", "1"),
    ("5.5 % 2", "1.5"),
    ("2 ** 10", "1024"),
    ("2 ** -1", "0.5"),
    ("2 ** 0.5", "1.41421356237"),
    ("(-2) ** 3", "-8"),
    ("-2 ** 2", "-4"),
    ("0.1 + 0.2", "0.3"),
    ("1 / 3", "0.333333333333"),
    ("2 / 3", "0.666666666667"),
    ("1e3", "1000"),
    ("1_000 * 3", "3000"),
    ("1.5e-7", "1.5e-07"),
    ("1e20", "1e+20"),
    ("10 ** 20", "100000000000000000000"),
    ("10 ** 30 / 10", "1" + "0" * 29),
    ("2 ** 64", "18446744073709551616"),
    ("123456789 * 987654321", "121932631112635269"),
    ("sqrt(16)", "4"),
    ("sqrt(2)", "1.41421356237"),
    ("sin(0)", "0"),
    ("cos(pi)", "-1"),
    ("tan(pi / 4)", "1"),
    ("log(e)", "1"),
    ("log(8, 2)", "3"),
    ("log10(1000)", "3"),
    ("exp(0)", "1"),
    ("abs(-3.5)", "3.5"),
    ("round(2.567, 2)", "2.57"),
    ("round(2.5)", "2"),
    ("floor(-2.5)", "-3"),
    ("ceil(2.1)", "3"),
    ("min(3, 1, 2)", "1"),
    ("max(3, 1.5)", "3"),
    ("pi", "3.14159265359"),
    ("e", "2.71828182846"),
    ("factorial(10)", "3628800"),
    ("hypot(3, 4)", "5"),
    ("3 \u00d7 4 \u00f7 2", "6"),  # multiplication and division signs
    ("5 \u2212 2", "3"),  # minus sign
    ("  ( 1 + 2 )  ", "3"),
    ("0.1 * 3", "0.3"),
    ("-0.0", "0"),
    ("floor(1e300)", "1e+300"),
    ("2 ** 3000 // 2 ** 2999", "2"),
]

REFUSED = [
    ("9 ** 9 ** 9", "more than 1000 digits"),
    ("10 ** 100000", "more than 1000 digits"),
    ("2 ** 2 ** 2 ** 2 ** 2", "more than 1000 digits"),
    ("(10 ** 999) ** 2", "more than 1000 digits"),
    ("10 ** 999 * 10 ** 999", "more than 1000 digits"),
    ("factorial(100000)", "too large"),
    ("factorial(-1)", "≥ 0"),
    ("factorial(2.5)", "whole number"),
    ("1 / 0", "division by zero"),
    ("1 // 0", "division by zero"),
    ("5 % 0", "division by zero"),
    ("0 ** -1", "division by zero"),
    ("1e308 * 10", "too large"),
    ("exp(1000)", "too large"),
    ("10.0 ** 400", "too large"),
    ("10 ** 999 * 1.5", "too large"),
    ("sqrt(-1)", "undefined"),
    ("log(0)", "undefined"),
    ("(-8) ** (1 / 3)", "not a real number"),
    ("1j", "not allowed"),
    ("'abc'", "text is not allowed"),
    ("b'abc'", "text is not allowed"),
    ("True", "not allowed"),
    ("None", "not allowed"),
    ("x + 1", "unknown name 'x'"),
    ("__import__('os')", "unknown function '__import__'"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("().__class__", "attributes"),
    ("pi.real", "attributes"),
    ("(1).__class__.__bases__", "attributes"),
    ("sqrt", "is a function"),
    ("sqrt(x=4)", "no keywords"),
    ("max(*[1, 2])", "no keywords or \\*args"),
    ("sqrt(1, 2)", "takes 1 argument"),
    ("max()", "takes 1 to 50"),
    ("round(1.5, 1000)", "between"),
    ("round(1.5, 0.5)", "whole number"),
    ("2 ^ 3", "use \\*\\* for powers"),
    ("1 << 10000", "<<"),
    ("~1", "~"),
    ("not 1", "not"),
    ("1, 000", "commas"),
    ("1 < 2", "comparisons"),
    ("1 and 2", "comparisons"),
    ("[1, 2]", "List is not allowed"),
    ("{1: 2}", "Dict is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("1 if 1 else 2", "IfExp is not allowed"),
    ("(x := 5)", "NamedExpr is not allowed"),
    ("[x for x in range(10)]", "not allowed"),
    ("'a' * 10 ** 9", "text is not allowed"),
    ("2 +", "could not parse"),
    ("import os", "could not parse"),
    ("1; 2", "could not parse"),
    ("", "empty"),
    ("   ", "empty"),
    ("1 + " * 300 + "1", "too long"),
    ("-" * 200 + "1", "nested too deeply"),
    ("(" * 300 + "1" + ")" * 300, "could not parse|too complex"),
]


@pytest.mark.parametrize(("expression", "expected"), ACCEPTED)
def test_calculator_accepts(expression: str, expected: str) -> None:
    assert format_number(calculate(expression)) == expected


@pytest.mark.parametrize(("expression", "message"), REFUSED)
def test_calculator_refuses(expression: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        calculate(expression)


def test_calculator_power_tower_fails_fast_without_computing() -> None:
    # If the size estimate were missing this would run for hours; the test would hang.
    with pytest.raises(ToolError, match="more than 1000 digits"):
        calculate("9**9**9**9")


def test_calculator_refuses_non_text_expression() -> None:
    with pytest.raises(ToolError, match="must be text"):
        calculate(42)  # type: ignore[arg-type]


def test_calculator_largest_allowed_integer_is_exact() -> None:
    assert format_number(calculate("2 ** 3000")) == str(2**3000)


async def test_calculator_tool_handler_and_summary() -> None:
    tool = make_calculator_tool()
    assert await tool.handler(ToolContext(), expression="6 * 7") == "42"
    assert tool.summarize is not None
    assert tool.summarize({"expression": "6  *\n7"}) == "6 * 7"
    assert tool.spec.parameters["required"] == ["expression"]
