//! Error types: configuration errors (found at startup) apart from runtime ones.

/// A configuration mistake, reported when the configuration is built, never at request time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The secret key is empty. Flask would silently disable sessions; set a key, e.g.
    /// from `flagon keygen`.
    #[error("the secret key is empty: set one (for example from `flagon keygen`)")]
    EmptyKey,
    /// [`Key::from_env`](crate::Key::from_env) found no usable key in the environment
    /// variable.
    #[error("environment variable {var} {why}: set it to the app's secret key (`flagon keygen` prints a new one)")]
    KeyEnv {
        /// The variable's name.
        var: String,
        /// What is wrong with it (`is not set`, `is not valid UTF-8`).
        why: &'static str,
    },
    /// The cookie name is empty or has characters a cookie name cannot hold.
    #[error("invalid cookie name {0:?}: use visible ASCII letters, digits and `!#$%&'*+-.^_`|~`")]
    CookieName(String),
    /// A cookie attribute value has characters that would break the Set-Cookie header.
    #[error("invalid cookie {attribute} {value:?}: use visible ASCII without `;` or `,` (write an internationalised domain in its punycode form)")]
    CookieAttribute {
        /// The attribute (`domain`).
        attribute: &'static str,
        /// The value given.
        value: String,
    },
    /// `SameSite=None` without `Secure`: browsers reject such a cookie.
    #[error("SameSite=None needs Secure: browsers reject a SameSite=None cookie without it; keep `.secure(true)` or choose SameSite Lax or Strict")]
    SameSiteNoneWithoutSecure,
    /// A `__Host-` or `__Secure-` cookie name whose attributes break the prefix's rules.
    #[error("cookie name {name:?} requires {requirement}")]
    CookiePrefix {
        /// The cookie name.
        name: String,
        /// What the prefix requires.
        requirement: &'static str,
    },
    /// A lifetime that cannot be used.
    #[error("invalid {what}: {why}")]
    Lifetime {
        /// Which setting.
        what: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// A session operation that failed at request time.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A value could not be converted to or from the session's data model.
    #[error("session value {key:?}: {source}")]
    Value {
        /// The session key.
        key: String,
        /// What went wrong.
        #[source]
        source: crate::value::ValueError,
    },
    /// The encoded session cookie would be over the configured size limit; browsers drop
    /// such cookies silently. Store less in the session, or use a server-side store.
    #[error("session cookie would be {size} bytes, over the {limit}-byte limit: store less in the session or use a server-side store")]
    CookieTooLarge {
        /// Length of the `Set-Cookie` header value.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
}

/// An error and its sources on one line, `outer: cause: root cause`, for printing at
/// startup or in a log.
///
/// A source whose text the line already ends with is left out, so an error that repeats
/// its source in its own message (as many do) does not print it twice.
///
/// ```
/// use flagon::error::Report;
///
/// #[derive(Debug)]
/// struct Outer(std::io::Error);
/// impl std::fmt::Display for Outer {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "could not open the session store: {}", self.0)
///     }
/// }
/// impl std::error::Error for Outer {
///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
///         Some(&self.0)
///     }
/// }
///
/// let error = Outer(std::io::Error::other("broken pipe"));
/// assert_eq!(
///     Report(&error).to_string(),
///     "could not open the session store: broken pipe"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct Report<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut line = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !text.is_empty() && !line.ends_with(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            source = cause.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::Report;

    /// An error that prints `text` and has `source`.
    #[derive(Debug)]
    struct Layer {
        text: String,
        source: Option<Box<Layer>>,
    }

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.text)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.source.as_deref().map(|s| s as _)
        }
    }

    fn chain(texts: &[&str]) -> Layer {
        texts
            .iter()
            .rev()
            .fold(None, |source, text| {
                Some(Layer {
                    text: (*text).to_owned(),
                    source: source.map(Box::new),
                })
            })
            .expect("at least one layer")
    }

    #[test]
    fn repeated_sources_print_once() {
        let error = chain(&[
            "session store failed: broken pipe",
            "broken pipe",
            "broken pipe",
        ]);
        assert_eq!(
            Report(&error).to_string(),
            "session store failed: broken pipe"
        );
    }

    #[test]
    fn distinct_sources_are_joined() {
        let error = chain(&["could not open the session store", "disk full", ""]);
        assert_eq!(
            Report(&error).to_string(),
            "could not open the session store: disk full"
        );
    }
}
