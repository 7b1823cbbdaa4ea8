"""Every test runs with the course's thread count (``helpers.course.choose_threads``: one thread,
fastest for these tiny models, unless ``VG_THREADS`` says otherwise, as ``make portability``'s
two-threads path does)."""

import pytest

from helpers.course import course_threads


@pytest.fixture(autouse=True, scope="session")
def course_thread_count():
    with course_threads():
        yield
