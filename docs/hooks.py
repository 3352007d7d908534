"""MkDocs hooks: pages generated at build time from the code, so they cannot drift from it.

``rules.md`` holds the marker ``<!-- rules-catalogue -->``; it is replaced by the
catalogue of :data:`pcrs.vector.rules.RULES` (id, severity, what is checked, the
message with its placeholders, what to do, the section of the standard).
"""

from __future__ import annotations

from collections import Counter

MARKER = "<!-- rules-catalogue -->"


def _cell(text: str) -> str:
    """Markdown table cell: pipes escaped, tags shown as text, placeholders as code."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", " ").replace("{", "`{").replace("}", "}`")


def rules_catalogue() -> str:
    """The rules catalogue as Markdown, one table per family of rules."""
    from pcrs.vector.rules import RULES

    counts = Counter(r.severity for r in RULES.values())
    out = [
        f"{len(RULES)} rules: {counts['error']} errors, {counts['warning']} warnings, "
        f"{counts['info']} infos. `{{name}}` stands for the value filled in at run time.",
        "",
    ]
    families: dict[str, list] = {}
    for rule in RULES.values():
        families.setdefault(rule.id.split("-")[1], []).append(rule)
    for family, rules in families.items():
        out += [
            f"### {family}",
            "",
            "| id | severity | rule / règle | message | what to do | section |",
            "|---|---|---|---|---|---|",
        ]
        for r in rules:
            out.append(
                f"| `{r.id}` | {r.severity} | {_cell(r.title_en)} / *{_cell(r.title_fr)}* "
                f"| {_cell(r.message_en)} | {_cell(r.fix_en)} | {_cell(r.section)} |"
            )
        out.append("")
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, rules_catalogue())
    return markdown
