import pytest

# Helper modules with asserts of their own get pytest's detailed failure messages too.
pytest.register_assert_rewrite("tests.daemon.identity")
