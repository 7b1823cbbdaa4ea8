"""gradwatch's own tests (a package, so their module names do not collide with the course's
tests/ when both folders run in one pytest session)."""
