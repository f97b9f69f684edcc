"""Answer extraction and equivalence for math answers, shared by GSM8K and MATH-500.

Two graders live here, because the two papers grade differently:

* d1 (``eval/parser_helper.py``, ``diffu-grpo/math500_utils.py``) grades MATH with
  the Hendrycks-MATH *string* normalisation ``is_equiv``: both strings are
  normalised (``\\dfrac``->``\\frac``, units and ``\\left`` dropped, ``a/b`` ->
  ``\\frac{a}{b}`` ...) and compared for equality. It is re-implemented here
  (:func:`d1_is_equiv`) with d1's exact failure behaviour, because the reference
  row must reproduce d1's published numbers: whenever a normalisation step
  raises in d1's code (e.g. ``a/b`` with non-integer parts, two ``\\text{ ``
  units, a dangling ``\\sqrt``), d1 falls back to comparing the raw strings.
* JustGRPO (``eval.py``, ``data/math.py``) extracts the answer Qwen-Math style
  (last ``\\boxed{}``, else "the answer is", else the last number) and checks it
  symbolically. JustGRPO uses the Qwen-Math sympy grader ``math_equal``; this
  project uses the ``math-verify`` package instead (:func:`math_verify_equal`),
  a maintained symbolic checker, so the grader is not hand-rolled sympy. Verdicts
  can differ from ``math_equal`` on exotic answers; none of the published numbers
  reproduced here depend on it.
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------- boxed answers


def last_boxed_only_string(text: str) -> str | None:
    """The last ``\\boxed{...}`` (or ``\\fbox{...}``) in ``text``, braces included.

    Behaves exactly as the Hendrycks/d1 helper of the same name, quirks included,
    because d1's eval and reward depend on them:
      * the ``\\boxed x`` form (a space, no braces) wins whenever it occurs
        anywhere, and runs to the next ``$``;
      * with no ``\\boxed``/``\\fbox`` at all the *whole text* is returned;
      * an unclosed brace gives None.
    """
    if "\\boxed " in text:
        return "\\boxed " + text.split("\\boxed ")[-1].split("$")[0]
    start = text.rfind("\\boxed")
    if start < 0:
        start = text.rfind("\\fbox")
        if start < 0:
            return text
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def remove_boxed(s: str) -> str:
    """Strip the ``\\boxed{`` ... ``}`` wrapper; strings without it pass through (as d1)."""
    if "\\boxed " in s:
        return s[len("\\boxed ") :] if s.startswith("\\boxed ") else s
    if s.startswith("\\boxed{") and s.endswith("}"):
        return s[len("\\boxed{") : -1]
    return s


def d1_boxed_content(text: str) -> str | None:
    """``remove_boxed(last_boxed_only_string(text))`` as d1 calls it.

    None where d1's call raises (an unclosed ``\\boxed{``); the whole text where
    there is no box at all (d1's quirk, see :func:`last_boxed_only_string`).
    """
    boxed = last_boxed_only_string(text)
    return None if boxed is None else remove_boxed(boxed)


def last_boxed_content(text: str) -> str | None:
    """Content of the last balanced ``\\boxed{...}``/``\\fbox{...}``; None if there is none.

    The clean extractor (no whole-text fallback), used by the JustGRPO protocol.
    """
    for macro in ("\\boxed", "\\fbox"):
        start = text.rfind(macro + "{")
        if start < 0:
            continue
        depth = 0
        for i in range(start + len(macro), len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                return text[start + len(macro) + 1 : i]
        return None
    return None


# ------------------------------------------------- d1 / Hendrycks string is_equiv


class _Unnormalisable(Exception):
    """Raised where d1's normalisation code raises; callers then compare raw strings."""


def _fix_fracs(s: str) -> str:
    # \frac12 -> \frac{1}{2}, \frac1{72} -> \frac{1}{72}; d1 gives up (returns the
    # input) on a one-character remainder and raises on a trailing "\frac".
    parts = s.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if not part:
            raise _Unnormalisable("\\frac at end")
        if part[0] == "{":
            out += part
        elif len(part) < 2:
            return s
        elif part[1] != "{":
            out += "{" + part[0] + "}{" + part[1] + "}" + part[2:]
        else:
            out += "{" + part[0] + "}" + part[1:]
    return out


def _fix_a_slash_b(s: str) -> str:
    if s.count("/") != 1:
        return s
    a, b = s.split("/")
    try:
        a_int, b_int = int(a), int(b)
    except ValueError as err:  # d1 lets this escape, so is_equiv compares raw strings
        raise _Unnormalisable(s) from err
    if s != f"{a_int}/{b_int}":
        return s
    return "\\frac{" + str(a_int) + "}{" + str(b_int) + "}"


def _fix_sqrt(s: str) -> str:
    parts = s.split("\\sqrt")
    out = parts[0]
    for part in parts[1:]:
        if not part:
            raise _Unnormalisable("\\sqrt at end")
        out += "\\sqrt" + (part if part[0] == "{" else "{" + part[0] + "}" + part[1:])
    return out


def strip_string(s: str) -> str:
    """Hendrycks-MATH answer normalisation, step for step as d1's ``strip_string``."""
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "")
    if "\\text{ " in s:  # units on the right, e.g. "5\text{ cm}"
        head, *rest = s.split("\\text{ ")
        if len(rest) != 1:
            raise _Unnormalisable("several \\text{ units")
        s = head
    s = s.replace("\\%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    lhs_rhs = s.split("=")
    if len(lhs_rhs) == 2 and len(lhs_rhs[0]) <= 2:  # "x = 5" -> "5"
        s = lhs_rhs[1]
    s = _fix_sqrt(s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _fix_a_slash_b(s)


def d1_is_equiv(pred: str | None, gold: str | None) -> bool:
    """d1's ``is_equiv``: normalised string equality, raw equality where normalising fails."""
    if pred is None or gold is None:
        return pred is None and gold is None
    try:
        return strip_string(pred) == strip_string(gold)
    except _Unnormalisable:
        return pred == gold


# ----------------------------------------------- JustGRPO / Qwen-Math extraction

_NUMBER_RE = re.compile(r"-?\d*\.?\d+")


def qwen_extract_answer(text: str) -> str:
    """The final answer as JustGRPO's Qwen-Math parser finds it.

    Order: last ``\\boxed{}``; else the text after the last "he answer is";
    else the last number (commas removed). Returns "" when nothing is found.
    """
    boxed = last_boxed_content(text)
    if boxed is not None:
        return boxed.strip()
    if "he answer is" in text:
        return text.split("he answer is")[-1].strip().rstrip(".").strip()
    numbers = _NUMBER_RE.findall(text.replace(",", ""))
    return numbers[-1] if numbers else ""


def math_verify_equal(gold: str, pred: str) -> bool:
    """Symbolic equivalence of two bare answers (LaTeX or plain), via ``math-verify``.

    Both sides are wrapped in ``\\boxed{}`` so math-verify's LaTeX extractor reads
    the whole answer rather than hunting for a sub-expression.
    """
    from math_verify import parse, verify  # imported lazily: it pulls in sympy

    if not gold.strip() or not pred.strip():
        return False
    gold_parsed = parse("\\boxed{" + gold + "}")
    pred_parsed = parse("\\boxed{" + pred + "}")
    if not gold_parsed or not pred_parsed:
        return gold.strip() == pred.strip()
    return bool(verify(gold_parsed, pred_parsed))
