"""The readable summary written beside the normalized table: Markdown plus JSON with the same numbers.

Contents: rows, usable rows (``error`` null), error rows, rows per split, missing rate per tag (over
usable rows), out-of-range counts per numeric tag (parsed but outside its physical range, set to
null), and class counts per categorical tag (kept classes, ``other`` and missing; the training counts
the vocabulary was built from beside the counts over all usable rows). The JSON holds every class;
the Markdown lists the largest ``MARKDOWN_TOP`` classes of each tag and says how many it left out.
"""

from __future__ import annotations

import json
from pathlib import Path

from sdaie.tags.categorical import CATEGORICAL_TAGS
from sdaie.tags.ranges import NUMERIC_TAGS
from sdaie.tags.split import SPLITS
from sdaie.tags.vocab import OTHER, Vocabulary

MARKDOWN_TOP = 20


def build_summary(
    vocab: Vocabulary,
    *,
    rows: int,
    usable_rows: int,
    splits: dict[str, dict[str, int]],
    missing: dict[str, int],
    out_of_range: dict[str, int],
    class_counts: dict[str, dict[int | None, int]],
    extra: dict | None = None,
) -> dict:
    """The summary dict.

    ``splits``: split -> {"rows", "usable_rows"}; ``missing``: tag -> usable rows without a value
    (for numeric tags, out-of-range values included); ``out_of_range``: numeric tag -> usable rows
    whose parsed value fell outside the range; ``class_counts``: tag -> {class index, or None for
    missing: usable rows}.
    """
    split_rows = {name: {"rows": 0, "usable_rows": 0} for name in SPLITS}
    for name, entry in splits.items():
        split_rows[name] = {"rows": int(entry["rows"]), "usable_rows": int(entry["usable_rows"])}
    tags = [*CATEGORICAL_TAGS, *NUMERIC_TAGS]
    missing = {tag: int(missing.get(tag, 0)) for tag in tags}
    summary: dict = {
        "rows": rows,
        "usable_rows": usable_rows,
        "error_rows": rows - usable_rows,
        "splits": split_rows,
        "missing": missing,
        "missing_rate": {tag: (missing[tag] / usable_rows if usable_rows else None) for tag in tags},
        "out_of_range": {tag: int(out_of_range.get(tag, 0)) for tag in NUMERIC_TAGS},
        "ranges": {
            tag: {"low": spec.low, "high": spec.high, "scale": "log2" if spec.log else "linear", "unit": spec.unit}
            for tag, spec in NUMERIC_TAGS.items()
        },
        "vocabulary": {"hash": vocab.hash, "min_count": vocab.min_count, "built_on": vocab.built_on},
        "classes": {},
    }
    for tag, tag_vocab in vocab.tags.items():
        by_index = class_counts.get(tag, {})
        entries = [
            {"index": i, "value": value, "train_count": tag_vocab.counts[i] if i < len(tag_vocab.counts) else None,
             "rows": by_index.get(i, 0)}
            for i, value in enumerate(tag_vocab.values)
        ]
        entries.append(
            {"index": tag_vocab.other_index, "value": OTHER, "train_count": tag_vocab.other_count,
             "rows": by_index.get(tag_vocab.other_index, 0)}
        )
        summary["classes"][tag] = {
            "n_classes": tag_vocab.n_classes,
            "classes": entries,
            "missing": by_index.get(None, 0),
            "missing_train": tag_vocab.missing_count,
        }
    summary.update(extra or {})
    return summary


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def render_markdown(summary: dict) -> str:
    """Readable Markdown of a summary dict."""
    out: list[str] = ["# Tag normalization summary", ""]
    rows, usable, errors = summary["rows"], summary["usable_rows"], summary["error_rows"]
    out += [
        f"- rows: {rows}",
        f"- usable rows (no read error): {usable}",
        f"- error rows (unreadable files, kept and marked `usable = false`): {errors}",
    ]
    if "inputs" in summary:
        out.append(f"- inputs: {', '.join(f'`{p}`' for p in summary['inputs'])}")
    vocab = summary["vocabulary"]
    reused = summary.get("vocabulary_reused")
    how = "reused from a saved file" if reused else "built here on usable `pretext_train` rows"
    out += [
        f"- vocabulary: `{vocab['hash'][:16]}…` ({how}; min count {vocab['min_count']})",
        "",
        "## Rows per split",
        "",
        "| split | rows | usable rows | share of rows |",
        "|---|---:|---:|---:|",
    ]
    for name, entry in summary["splits"].items():
        share = entry["rows"] / rows if rows else None
        out.append(f"| {name} | {entry['rows']} | {entry['usable_rows']} | {_rate(share)} |")
    if "split_fractions" in summary:
        fractions = ", ".join(f"{k} {v:g}" for k, v in summary["split_fractions"].items())
        out += ["", f"Target fractions: {fractions} (seed {summary.get('split_seed')})."]
    out += [
        "",
        "## Numeric tags",
        "",
        (
            "Over usable rows. Missing = no value in the output (absent, unparsable or out of range);"
            " out of range = parsed but outside the physical range, hence set to null."
        ),
        "",
        "| tag | unit | range | scale | missing | missing rate | out of range |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for tag, spec in summary["ranges"].items():
        out.append(
            f"| {tag} | {spec['unit']} | {spec['low']:g} .. {spec['high']:g} | {spec['scale']} | "
            f"{summary['missing'][tag]} | {_rate(summary['missing_rate'][tag])} | {summary['out_of_range'][tag]} |"
        )
    out += [
        "",
        "## Categorical tags",
        "",
        "| tag | classes (incl. other) | missing | missing rate |",
        "|---|---:|---:|---:|",
    ]
    for tag, entry in summary["classes"].items():
        out.append(
            f"| {tag} | {entry['n_classes']} | {summary['missing'].get(tag, entry['missing'])} | "
            f"{_rate(summary['missing_rate'].get(tag))} |"
        )
    for tag, entry in summary["classes"].items():
        out += [
            "",
            f"### {tag}",
            "",
            "| index | class | train count (vocabulary) | usable rows |",
            "|---:|---|---:|---:|",
        ]
        kept, other = entry["classes"][:-1], entry["classes"][-1]
        shown = sorted(kept, key=lambda e: (-e["rows"], e["index"]))[:MARKDOWN_TOP]
        for e in sorted(shown, key=lambda e: e["index"]):
            value = str(e["value"]).replace("|", "\\|")
            out.append(f"| {e['index']} | {value} | {e['train_count']} | {e['rows']} |")
        if len(kept) > len(shown):
            out.append(f"| … | {len(kept) - len(shown)} more classes (see the JSON) | | |")
        out.append(f"| {other['index']} | *{OTHER}* | {other['train_count']} | {other['rows']} |")
        out.append(f"| – | *missing* | {entry['missing_train']} | {entry['missing']} |")
    return "\n".join(out) + "\n"


def json_path_for(markdown_path: Path) -> Path:
    """The JSON summary's path: beside the Markdown, same stem."""
    return Path(markdown_path).with_suffix(".json")


def write_summary(summary: dict, markdown_path: Path) -> Path:
    """Write ``summary.md`` and the JSON beside it; returns the JSON path."""
    markdown_path = Path(markdown_path)
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    json_path = json_path_for(markdown_path)
    markdown_path.write_text(render_markdown(summary), encoding="utf-8")
    json_path.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return json_path
