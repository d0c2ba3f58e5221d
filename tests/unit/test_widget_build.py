"""The served widget.js is built from its modules: all of them, in one scope, rebuilt when stale."""

import shutil

import pytest

from bot.web import widget_build


@pytest.fixture
def sources(tmp_path):
    src = tmp_path / "widget"
    shutil.copytree(widget_build.SOURCE_DIR, src)
    return src


def test_every_module_is_in_the_build_once_in_one_scope(sources, tmp_path):
    target = tmp_path / "widget.js"
    assert widget_build.build(sources, target) is True
    text = target.read_text(encoding="utf-8")
    assert text.count("\n(function () {\n") == 1 and text.rstrip().endswith("\n})();")
    for name in widget_build.ORDER:
        body = (sources / name).read_text(encoding="utf-8").strip().splitlines()
        assert text.count(f"// ==== {name} ") == 1
        # Each module's lines appear, indented into the one scope.
        assert all(("  " + line if line.strip() else line) in text for line in body[:5]), name
    # main.js starts the widget, so it comes last.
    assert text.index("// ==== main.js") > max(text.index(f"// ==== {n} ") for n in widget_build.ORDER[:-1])


def test_rebuilt_only_when_stale(sources, tmp_path):
    target = tmp_path / "widget.js"
    assert widget_build.build(sources, target) is True
    assert widget_build.build(sources, target) is False
    (sources / "texts.js").write_text((sources / "texts.js").read_text() + "// changed\n")
    assert widget_build.build(sources, target) is True
    assert "// changed" in target.read_text()
    target.write_text("edited by hand")
    assert widget_build.ensure_built(sources, target) is True
    assert "edited by hand" not in target.read_text()


def test_a_module_missing_from_the_order_is_refused(sources, tmp_path):
    (sources / "extra.js").write_text("var x = 1;\n")
    with pytest.raises(ValueError, match=r"extra\.js"):
        widget_build.build(sources, tmp_path / "widget.js")


def test_the_served_file_is_current():
    widget_build.ensure_built()
    assert widget_build.TARGET.read_text(encoding="utf-8") == widget_build.render()
