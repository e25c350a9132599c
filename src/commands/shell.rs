//! Shell words for the commands printed to copy and run (`status`'s resume command,
//! `export`'s load command): quoted by `shlex` for a POSIX shell where they need it.

use std::borrow::Cow;

/// `a` as one shell word: as it is when it is safe unquoted, else quoted.
pub fn shell_quote(a: &str) -> String {
    match shlex::try_quote(a) {
        Ok(q) => q.into_owned(),
        // A NUL byte cannot be passed to a program at all (paths and arguments never hold
        // one): the word without it.
        Err(_) => {
            shlex::try_quote(&a.replace('\0', "")).map_or_else(|_| String::new(), Cow::into_owned)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(
            shell_quote("/data/out-1/graph.cypher"),
            "/data/out-1/graph.cypher"
        );
        assert_eq!(
            shell_quote("http://127.0.0.1:8000"),
            "http://127.0.0.1:8000"
        );
        assert_eq!(shell_quote("my corpus"), "'my corpus'");
        assert_eq!(shell_quote("it's"), "\"it's\"");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a\0b"), "ab");
    }
}
