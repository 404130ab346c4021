"""Flatten nested metadata (dicts, lists, structured text inside tags) into dotted keys.

`{"Beam": {"HV": 5000}}` -> `{"Beam.HV": 5000}`; lists give `key[0]`; text that is JSON, XML
(JEOL's TemReporter), INI-like `key = value` blocks or ImageJ `key=value` lines is parsed too.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np

MAX_SEQUENCE = 256  # longer numeric sequences (strip offsets, colour maps) are summarised
MAX_TEXT = 65_536  # longer texts are cut; the source file keeps the full text

_INI_LINE = re.compile(r"^\s*([A-Za-z_][\w. \-\[\]/]*?)\s*=\s*(.*?)\s*$")


def scalar(value: Any) -> Any:
    """A JSON-friendly scalar (numpy numbers become Python numbers, bytes become text)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes | bytearray):
        stripped = bytes(value).rstrip(b"\x00")
        try:
            text = stripped.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(value)} bytes>"
        return text if text.isprintable() or not text else f"<{len(value)} bytes>"
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if hasattr(value, "name") and hasattr(value, "value") and not isinstance(value, str):
        return value.name  # enums such as tifffile.COMPRESSION.NONE
    return value


def parse_text(text: str) -> Any:
    """Structured content of a text tag, or the text itself when it has none."""
    stripped = text.strip().lstrip("\ufeff")
    if not stripped:
        return text
    if stripped[0] in "{[":
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    if stripped.startswith("<"):
        try:
            return _xml_to_dict(ET.fromstring(stripped.encode("utf-8")))
        except ET.ParseError:
            pass
    lines = [line for line in stripped.splitlines() if line.strip()]
    pairs = [_INI_LINE.match(line) for line in lines]
    if len(lines) >= 2 and sum(p is not None for p in pairs) >= 0.8 * len(lines):
        result: dict[str, Any] = {}
        section = ""
        for line, match in zip(lines, pairs, strict=True):
            header = re.match(r"^\s*\[(.+)\]\s*$", line)
            if header:
                section = header.group(1).strip()
                continue
            if match:
                key = f"{section}.{match.group(1).strip()}" if section else match.group(1).strip()
                result[key] = _number_or_text(match.group(2))
        return result
    return text[:MAX_TEXT]


def _number_or_text(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_to_dict(element: ET.Element) -> dict[str, Any]:
    children = list(element)
    if not children:
        return {_local(element.tag): _number_or_text((element.text or "").strip())}
    grouped: dict[str, list[Any]] = {}
    for child in children:
        value = _xml_to_dict(child)[_local(child.tag)]
        grouped.setdefault(_local(child.tag), []).append(value)
    body = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
    return {_local(element.tag): body}


def flatten(value: Any, prefix: str, out: dict[str, Any], *, parse_strings: bool = True) -> None:
    """Add `value` under `prefix` to `out`, recursing into containers."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            child = f"{prefix}.{name}" if prefix and name else (prefix or name)
            flatten(item, child, out, parse_strings=parse_strings)
        return
    if isinstance(value, np.ndarray):
        if value.size > MAX_SEQUENCE:
            out[prefix] = f"<array {value.dtype} {list(value.shape)}>"
            return
        value = value.tolist()
    if isinstance(value, list | tuple):
        if len(value) > MAX_SEQUENCE and all(isinstance(v, int | float) for v in value[:16]):
            out[prefix] = f"<{len(value)} values>"
            return
        for index, item in enumerate(value):
            flatten(item, f"{prefix}[{index}]", out, parse_strings=parse_strings)
        return
    if isinstance(value, str):
        if parse_strings and ("\n" in value or value.lstrip()[:1] in "{[<"):
            parsed = parse_text(value)
            if not isinstance(parsed, str):
                flatten(parsed, prefix, out, parse_strings=False)
                return
        out[prefix] = value[:MAX_TEXT]
        return
    out[prefix] = scalar(value)
