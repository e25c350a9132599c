//! Resume tests (issue 4) come here.
