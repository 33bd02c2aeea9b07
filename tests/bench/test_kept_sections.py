"""make bench rewrites its own report and keeps the sections below its marker line."""

from bench import run_all


def test_a_run_replaces_its_report_and_keeps_the_sections_below_the_marker(tmp_path, monkeypatch):
    output = tmp_path / "BENCHMARKS.md"
    output.write_text(
        f"# Benchmarks\n\nold figures\n\n{run_all.KEPT_MARKER}\n## Lighthouse (mobile)\n\nscores\n"
    )
    monkeypatch.setattr(run_all, "OUTPUT", output)

    text = run_all.with_kept_sections("# Benchmarks\n\nnew figures\n")

    assert "old figures" not in text
    assert text.index("new figures") < text.index(run_all.KEPT_MARKER)
    assert text.endswith(f"{run_all.KEPT_MARKER}\n## Lighthouse (mobile)\n\nscores\n")


def test_a_first_run_writes_the_marker_for_later_sections(tmp_path, monkeypatch):
    monkeypatch.setattr(run_all, "OUTPUT", tmp_path / "BENCHMARKS.md")

    assert run_all.with_kept_sections("# Benchmarks\n").endswith(run_all.KEPT_MARKER + "\n")
