//! The allow-list of symbols an object may leave undefined.
//!
//! File format: one entry per line; `#` starts a comment; blank lines are
//! ignored. An entry ending in `*` matches every name with that prefix
//! (`cw_cb_*`, `__x86_indirect_thunk_*`); any other entry matches exactly.

use std::fmt;

/// Names (or name prefixes) that may stay undefined after the partial link.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

/// A line of an allow-list file that is not a symbol name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowListError {
    /// 1-based line number.
    pub line: usize,
    /// The offending text.
    pub text: String,
}

impl fmt::Display for AllowListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: `{}` is not a symbol name (expected one name per line, `*` only at the end)",
            self.line, self.text
        )
    }
}

impl std::error::Error for AllowListError {}

impl AllowList {
    /// Parses the text of an allow-list file.
    pub fn parse(text: &str) -> Result<Self, AllowListError> {
        let mut list = Self::default();
        for (i, raw) in text.lines().enumerate() {
            let entry = raw.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            list.add(entry).map_err(|()| AllowListError {
                line: i + 1,
                text: entry.to_owned(),
            })?;
        }
        Ok(list)
    }

    /// Adds one entry (`name` or `prefix*`).
    #[allow(clippy::result_unit_err)]
    pub fn add(&mut self, entry: &str) -> Result<(), ()> {
        let (name, is_prefix) = match entry.strip_suffix('*') {
            Some(p) => (p, true),
            None => (entry, false),
        };
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$'));
        if !valid {
            return Err(());
        }
        if is_prefix {
            self.prefixes.push(name.to_owned());
        } else {
            self.exact.push(name.to_owned());
        }
        Ok(())
    }

    /// Adds every entry of `other`.
    pub fn merge(&mut self, other: AllowList) {
        self.exact.extend(other.exact);
        self.prefixes.extend(other.prefixes);
    }

    /// Whether `name` may stay undefined.
    pub fn allows(&self, name: &str) -> bool {
        self.exact.iter().any(|e| e == name) || self.prefixes.iter().any(|p| name.starts_with(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_prefix_entries() {
        let list = AllowList::parse("# callbacks\ncw_cb_*\nmemcpy # copy\n\n").unwrap();
        assert!(list.allows("cw_cb_now"));
        assert!(list.allows("memcpy"));
        assert!(!list.allows("memcpy2"));
        assert!(!list.allows("cw_tick"));
        assert!(!list.allows("memset"));
    }

    #[test]
    fn rejects_junk() {
        let err = AllowList::parse("memcpy\nfoo bar\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(AllowList::parse("*\n").is_err());
        assert!(AllowList::parse("a*b\n").is_err());
    }
}
