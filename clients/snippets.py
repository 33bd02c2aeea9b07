"""docs/api.md shows the code of the quick starts in clients/ exactly as CI runs it.

    python3 clients/snippets.py --check   # exit 1, naming each snippet that differs
    python3 clients/snippets.py --write   # copy the regions into docs/api.md

In docs/api.md every python, typescript or sh code block follows a marker line such as
``<!-- snippet: clients/python/quickstart.py#token -->``; in that file, the snippet is the code
between the line ``# region: token`` (``// region: token`` in TypeScript) and the next
``# endregion``. clients/run.sh runs the files against a live shop, so the snippets in the
guide are run too. tests/test_api_docs.py calls ``problems()``.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "api.md"
CODE_LANGUAGES = {"python", "typescript", "ts", "sh", "bash", "shell"}
BLOCK = re.compile(
    r"(?P<marker><!-- snippet: (?P<path>[^#\s]+)#(?P<region>[\w-]+) -->\n)?"
    r"```(?P<language>[\w-]*)\n(?P<code>.*?)^```",
    re.DOTALL | re.MULTILINE,
)


def region(path: str, name: str) -> str:
    """The code of a region of a file under the repository, without its marker lines."""
    lines = (ROOT / path).read_text().splitlines()
    start = re.compile(rf"^\s*(#|//) region: {re.escape(name)}\s*$")
    end = re.compile(r"^\s*(#|//) endregion\s*$")
    for index, line in enumerate(lines):
        if start.match(line):
            body = []
            for inner in lines[index + 1 :]:
                if end.match(inner):
                    return "\n".join(body) + "\n"
                body.append(inner)
            raise ValueError(f"{path}: region {name} has no endregion")
    raise ValueError(f"{path}: no region {name}")


def problems(text: str | None = None) -> list[str]:
    """What is wrong with the guide's snippets; nothing when each is its file's region."""
    text = DOC.read_text() if text is None else text
    found = []
    snippets = 0
    for block in BLOCK.finditer(text):
        line = text.count("\n", 0, block.start()) + 1
        if not block["marker"]:
            if block["language"] in CODE_LANGUAGES:
                found.append(f"docs/api.md:{line}: a {block['language']} block without a marker")
            continue
        snippets += 1
        try:
            expected = region(block["path"], block["region"])
        except (OSError, ValueError) as error:
            found.append(f"docs/api.md:{line}: {error}")
            continue
        if block["code"] != expected:
            found.append(
                f"docs/api.md:{line}: differs from {block['path']}#{block['region']} "
                "(python3 clients/snippets.py --write)"
            )
    if not snippets:
        found.append("docs/api.md has no snippets")
    return found


def write() -> None:
    def replace(block: re.Match) -> str:
        if not block["marker"]:
            return block[0]
        code = region(block["path"], block["region"])
        return f"{block['marker']}```{block['language']}\n{code}```"

    DOC.write_text(BLOCK.sub(replace, DOC.read_text()))


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        write()
        return 0
    if argv != ["--check"]:
        print(__doc__)
        return 2
    found = problems()
    for problem in found:
        print(problem)
    if not found:
        print("docs/api.md: every snippet is the code clients/run.sh runs")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
