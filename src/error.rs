//! Error types: configuration errors (found at startup) apart from runtime ones.

/// A configuration mistake, reported when the configuration is built, never at request time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The secret key is empty. Flask would silently disable sessions; set a key, e.g.
    /// from `flagon keygen`.
    #[error("the secret key is empty: set one (for example from `flagon keygen`)")]
    EmptyKey,
    /// The cookie name is empty or has characters a cookie name cannot hold.
    #[error("invalid cookie name {0:?}: use visible ASCII letters, digits and `!#$%&'*+-.^_`|~`")]
    CookieName(String),
    /// A cookie attribute value has characters that would break the Set-Cookie header.
    #[error("invalid cookie {attribute} {value:?}: use visible ASCII without `;` or `,` (write an internationalised domain in its punycode form)")]
    CookieAttribute {
        /// The attribute (`domain` or `same_site`).
        attribute: &'static str,
        /// The value given.
        value: String,
    },
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
        source: crate::value_serde::ValueError,
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
