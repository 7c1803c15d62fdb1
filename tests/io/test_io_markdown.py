"""Markdown sections: read one, replace one, append one; the rest is kept byte for byte."""

from ffedit.io.markdown import read_markdown_section, write_markdown_section


def test_missing_file_gets_a_title_and_the_section(tmp_path):
    path = tmp_path / "docs" / "benchmarks.md"
    assert read_markdown_section(path, "Speed") is None
    write_markdown_section(path, "Speed", "fast\n")
    assert path.read_text() == "# Benchmarks\n\n## Speed\n\nfast\n"
    assert read_markdown_section(path, "Speed").strip() == "fast"


def test_replacing_a_middle_section_keeps_the_others_exactly(tmp_path):
    path = tmp_path / "b.md"
    original = "# T\n\nintro\n\n## A\n\nold a\n\n## B\n\nbody b\n### sub\nmore\n\n## C\nc"
    path.write_text(original)
    write_markdown_section(path, "B", "new b")
    text = path.read_text()
    assert text == "# T\n\nintro\n\n## A\n\nold a\n\n## B\n\nnew b\n\n## C\nc\n"
    assert read_markdown_section(path, "A") == "\nold a\n\n"
    write_markdown_section(path, "C", "last")
    assert path.read_text().endswith("## B\n\nnew b\n\n## C\n\nlast\n")
    write_markdown_section(path, "D", "appended")
    assert path.read_text().endswith("## C\n\nlast\n\n## D\n\nappended\n")
    assert read_markdown_section(path, "Bee") is None
