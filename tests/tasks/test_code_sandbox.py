"""HumanEval through the sandbox: a passing, a failing and a looping solution; the sandbox's limits."""

from __future__ import annotations

import socket
import time

import pytest

from cogumi_workloads.tasks.code import CodeSuite, program
from cogumi_workloads.tasks.sandbox import run_python

CORRECT = '''```python
def has_close_elements(numbers, threshold):
    for i, a in enumerate(numbers):
        for b in numbers[i + 1:]:
            if abs(a - b) < threshold:
                return True
    return False
```'''
WRONG = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"
LOOPS = "```python\ndef has_close_elements(numbers, threshold):\n    while True:\n        pass\n```"


@pytest.fixture
def suite(monkeypatch: pytest.MonkeyPatch) -> CodeSuite:
    monkeypatch.setattr(CodeSuite, "timeout_s", 2.0)
    return CodeSuite()


def problem_zero(suite: CodeSuite):  # type: ignore[no-untyped-def]
    return next(i for i in suite._all() if i.id == "HumanEval/0")


def test_humaneval_solutions(suite: CodeSuite) -> None:
    item = problem_zero(suite)
    assert "def has_close_elements" in item.prompt
    assert suite.verify(item, CORRECT)
    assert suite.verify(item, item.answer), "the canonical solution passes"
    assert not suite.verify(item, WRONG)
    assert not suite.verify(item, "I cannot write code.")


def test_body_only_completion_continues_the_prompt(suite: CodeSuite) -> None:
    item = problem_zero(suite)
    body = "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
    assert suite.verify(item, body)


def test_infinite_loop_is_killed_by_the_timeout(suite: CodeSuite) -> None:
    item = problem_zero(suite)
    start = time.monotonic()
    assert not suite.verify(item, LOOPS)
    assert time.monotonic() - start < 6
    data = item.data()
    result = run_python(program(data["prompt"], data["entry_point"], data["test"], LOOPS[10:-3]), timeout_s=1.5)
    assert result.timed_out and result.returncode is None and not result.passed
    assert 1.4 < result.seconds < 5


def test_sandbox_has_no_network_and_bounded_memory() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        reach = run_python(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n")
    assert reach.returncode == 1
    assert "OSError" in reach.stderr or "Network is unreachable" in reach.stderr or "refused" in reach.stderr
    assert reach.network in {"netns", "userns+netns", "guard"}
    memory = run_python("blob = bytearray(3 << 30)\n")
    assert memory.returncode == 1 and "MemoryError" in memory.stderr
    ok = run_python("import os\nprint(os.getcwd() == os.environ['HOME'], sorted(os.environ))\n")
    assert ok.passed
    assert ok.stdout.startswith("True")
    assert "COGUMI_CACHE_DIR" not in ok.stdout and "PYTHONPATH" not in ok.stdout
