"""The pytest plugin as a user meets it: the README's example, run in a separate pytest."""

from pathlib import Path

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "test_signup_flow.py"


def test_the_readme_example_passes_with_the_installed_plugin(pytester):
    pytester.makepyfile(test_signup_flow=EXAMPLE.read_text(encoding="utf-8"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)


def test_the_example_is_what_the_readme_shows():
    readme = (EXAMPLE.parents[2] / "README.md").read_text(encoding="utf-8")
    assert EXAMPLE.read_text(encoding="utf-8").split('"""', 2)[2].strip() in readme
