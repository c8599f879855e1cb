//! The grammar of a fal.ai endpoint id, in one place.
//!
//! An endpoint id names what a request goes to: `fal-ai/flux/dev`,
//! `workflows/acme/my-flow`. The client puts it into URL paths, the code
//! generator turns it into module paths, and `#[fal_endpoint]` checks it at
//! compile time. All three use this crate, so an id one of them accepts is an id
//! every one of them accepts: a macro-declared endpoint that compiles can be
//! called, and a generated binding's id is one the client will send.
//!
//! ```
//! use fal_id::EndpointId;
//!
//! let id = EndpointId::parse("fal-ai/flux/dev")?;
//! assert_eq!((id.owner(), id.alias(), id.path()), ("fal-ai", "flux", Some("dev")));
//! assert_eq!(id.base(), "fal-ai/flux"); // what the queue's status URLs use
//!
//! // An id that a URL library or a server would read as path syntax is refused.
//! for hostile in ["acme/../x", "%2e%2e/%2e%2e/admin", r"x\..\..\admin/y", "a/b?c"] {
//!     assert!(EndpointId::parse(hostile).is_err(), "{hostile}");
//! }
//! # Ok::<(), fal_id::InvalidEndpointId>(())
//! ```
//!
//! # The grammar
//!
//! ```text
//! id        = *"/" body *"/"              ; slashes around the id are ignored
//! body      = legacy / [namespace "/"] owner "/" alias *("/" segment)
//! namespace = "workflows" / "comfy"       ; only as the first segment
//! owner     = segment
//! alias     = segment
//! segment   = 1*( ALPHA / DIGIT / "-" / "_" / "." ), but not "." or ".."
//! legacy    = 1*DIGIT "-" 1*( ALPHA / DIGIT / "-" )   ; no "/": "12345-my-app"
//! ```
//!
//! The namespaces and the legacy rewrite (`12345-my-app` is `12345/my-app`)
//! follow fal's own clients. The character set is ours, and it is what makes the
//! id safe to put into a URL: fal's clients split on `/` and accept anything in
//! a segment, but a URL library resolves `.` and `..` segments (and their
//! escaped forms `%2e`, `.%2E`, `%2e%2e`), treats `\` as `/` in `http` URLs, drops
//! tabs and newlines, and a server decodes `%2F` into `/`. Any of those lets an id
//! climb out of the path prefix of the host it is sent to. Checking the decoded
//! form of an id would mean reproducing every such rule; refusing `%`, `\`,
//! whitespace and every other character outside the set makes the decoded form
//! equal to the written one, so there is nothing left to decode. Every endpoint
//! in fal's public catalogue fits the set.
//!
//! The crate has no dependencies, so the proc-macro and the client that use it
//! compile nothing else for it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::str::FromStr;

/// Leading segments that are a namespace rather than an owner.
pub const NAMESPACES: [&str; 2] = ["workflows", "comfy"];

/// A parsed endpoint id: `[namespace/]owner/alias[/path...]`.
///
/// The queue serves status, result and cancel under the *base* app
/// (`[namespace/]owner/alias`, [`EndpointId::base`]) only, while submit, run and
/// stream use the full id; keeping the parts apart makes that rule hard to get
/// wrong. `Display` writes the canonical form (no surrounding slashes, legacy
/// ids rewritten).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId {
    namespace: Option<String>,
    owner: String,
    alias: String,
    path: Option<String>,
}

impl EndpointId {
    /// Parses `id` against the grammar in the [crate docs](crate).
    pub fn parse(id: &str) -> Result<Self, InvalidEndpointId> {
        let invalid = |problem| InvalidEndpointId {
            id: id.to_owned(),
            problem,
        };
        let trimmed = id.trim_matches('/');
        if trimmed.is_empty() {
            return Err(invalid(IdProblem::Empty));
        }
        if let Some(bad) = trimmed.chars().find(|&c| c != '/' && !is_segment_char(c)) {
            return Err(invalid(if bad == '%' {
                IdProblem::PercentEscape
            } else {
                IdProblem::Character(bad)
            }));
        }
        let legacy;
        let normalized = if trimmed.contains('/') {
            trimmed
        } else {
            legacy = legacy_numeric(trimmed).ok_or_else(|| invalid(IdProblem::NoSeparator))?;
            legacy.as_str()
        };
        let mut checked = Vec::new();
        for segment in normalized.split('/') {
            match segment {
                "" => return Err(invalid(IdProblem::EmptySegment)),
                "." | ".." => return Err(invalid(IdProblem::DotSegment)),
                _ => checked.push(segment),
            }
        }
        let mut parts = checked.into_iter();
        let namespace = match parts.as_slice().first() {
            Some(first) if NAMESPACES.contains(first) => parts.next().map(str::to_owned),
            _ => None,
        };
        let (Some(owner), Some(alias)) = (parts.next(), parts.next()) else {
            return Err(invalid(IdProblem::MissingAlias));
        };
        let rest: Vec<&str> = parts.collect();
        Ok(Self {
            namespace,
            owner: owner.to_owned(),
            alias: alias.to_owned(),
            path: (!rest.is_empty()).then(|| rest.join("/")),
        })
    }

    /// `workflows` or `comfy`, when the id starts with one.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The app owner, e.g. `fal-ai`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The app alias, e.g. `flux`.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The sub-path after the alias, e.g. `dev` (segments joined by `/`).
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// `[namespace/]owner/alias`: the part the queue's status, result and cancel
    /// URLs use.
    pub fn base(&self) -> String {
        self.base_segments().collect::<Vec<_>>().join("/")
    }

    /// The segments of [`Self::base`], in order.
    pub fn base_segments(&self) -> impl Iterator<Item = &str> {
        self.namespace
            .as_deref()
            .into_iter()
            .chain([self.owner.as_str(), self.alias.as_str()])
    }

    /// Every segment in order (namespace, owner, alias, path...). Each one is
    /// non-empty, is not `.` or `..`, and holds only `[A-Za-z0-9._-]`, so it can
    /// be a URL path segment as it is.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.base_segments()
            .chain(self.path.as_deref().into_iter().flat_map(|p| p.split('/')))
    }
}

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(segment)?;
        }
        Ok(())
    }
}

impl FromStr for EndpointId {
    type Err = InvalidEndpointId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for EndpointId {
    type Error = InvalidEndpointId;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

/// Why a string is not an endpoint id: the string and the first problem found.
///
/// Its `Display` is a sentence naming both, suitable for a compile error, a
/// generator message or a CLI line; the id is shown escaped and, when very long,
/// shortened, so a hostile id cannot flood or drive a terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidEndpointId {
    id: String,
    problem: IdProblem,
}

impl InvalidEndpointId {
    /// The rejected input, as given.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What is wrong with it.
    pub fn problem(&self) -> IdProblem {
        self.problem
    }
}

/// Ids longer than this are shortened in messages.
const SHOWN_CHARS: usize = 120;

impl fmt::Display for InvalidEndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.id.chars();
        let shown: String = chars.by_ref().take(SHOWN_CHARS).collect();
        let more = if chars.next().is_some() { "…" } else { "" };
        write!(
            f,
            "invalid endpoint id {shown:?}{more}: {} (expected [namespace/]owner/alias[/path], e.g. fal-ai/flux/dev)",
            self.problem
        )
    }
}

impl std::error::Error for InvalidEndpointId {}

/// The first thing wrong with an id, in the order the grammar is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdProblem {
    /// Nothing but slashes, or nothing at all.
    Empty,
    /// A `%`: ids are never percent-encoded.
    PercentEscape,
    /// A character outside `[A-Za-z0-9._-]` and `/` (whitespace, `\`, `?`, `#`,
    /// non-ASCII…).
    Character(char),
    /// No `/`, and not the legacy `12345-my-app` form.
    NoSeparator,
    /// Two slashes in a row.
    EmptySegment,
    /// A `.` or `..` segment.
    DotSegment,
    /// Only an owner (or a namespace and an owner).
    MissingAlias,
}

impl fmt::Display for IdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdProblem::Empty => f.write_str("it is empty"),
            IdProblem::PercentEscape => f.write_str(
                "it contains '%': ids are written unescaped, and a server decodes escapes \
                 such as %2e%2e and %2F into path steps",
            ),
            IdProblem::Character(c) => write!(
                f,
                "it contains {c:?}: segments hold only ASCII letters, digits, '-', '_' and '.'"
            ),
            IdProblem::NoSeparator => f.write_str("it has no '/' between owner and alias"),
            IdProblem::EmptySegment => f.write_str("it has an empty segment"),
            IdProblem::DotSegment => f.write_str(
                "it has a '.' or '..' segment, which a URL resolves as a step out of the path",
            ),
            IdProblem::MissingAlias => f.write_str("it needs both an owner and an alias"),
        }
    }
}

/// Test support for the crates that share this grammar; not part of the API.
#[doc(hidden)]
pub mod testing {
    /// Fragments that matter to the grammar and to URL parsers, for property
    /// tests to build ids (and URL paths) from: separators, dot segments,
    /// escapes of `.`, `/`, `\` and `%`, backslashes, parameters, namespaces and
    /// the legacy form's parts.
    pub const PIECES: &[&str] = &[
        "/",
        ".",
        "..",
        "%2e",
        "%2E%2e",
        "%2F",
        "%5C",
        "%25",
        "\\",
        ";",
        "?q",
        "#f",
        "-",
        "_",
        "workflows",
        "comfy",
        "12345",
        "12345-",
    ];
}

fn is_segment_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// `12345-my-app` → `12345/my-app` (digits, then `-`, then `[A-Za-z0-9-]+`).
fn legacy_numeric(id: &str) -> Option<String> {
    let (digits, rest) = id.split_once('-')?;
    let digits_ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let rest_ok = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (digits_ok && rest_ok).then(|| format!("{digits}/{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// id, namespace, owner, alias, path.
    type Case = (
        &'static str,
        Option<&'static str>,
        &'static str,
        &'static str,
        Option<&'static str>,
    );

    #[test]
    fn parses_the_spec_examples() {
        let cases: [Case; 8] = [
            ("fal-ai/fast-sdxl", None, "fal-ai", "fast-sdxl", None),
            ("fal-ai/flux/dev", None, "fal-ai", "flux", Some("dev")),
            (
                "fal-ai/flux-pro/v1.1-ultra",
                None,
                "fal-ai",
                "flux-pro",
                Some("v1.1-ultra"),
            ),
            (
                "workflows/acme/my-flow",
                Some("workflows"),
                "acme",
                "my-flow",
                None,
            ),
            (
                "comfy/acme/wf/extra/more",
                Some("comfy"),
                "acme",
                "wf",
                Some("extra/more"),
            ),
            ("12345-my-app", None, "12345", "my-app", None),
            ("/fal-ai/flux/", None, "fal-ai", "flux", None),
            (
                "bria/fibo-edit/erase_by_text",
                None,
                "bria",
                "fibo-edit",
                Some("erase_by_text"),
            ),
        ];
        for (id, namespace, owner, alias, path) in cases {
            let parsed = EndpointId::parse(id).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.namespace(), namespace, "{id}");
            assert_eq!(parsed.owner(), owner, "{id}");
            assert_eq!(parsed.alias(), alias, "{id}");
            assert_eq!(parsed.path(), path, "{id}");
        }
        let id = EndpointId::parse("comfy/acme/wf/extra/more").unwrap();
        assert_eq!(id.base(), "comfy/acme/wf");
        assert_eq!(id.to_string(), "comfy/acme/wf/extra/more");
        assert_eq!(
            id.segments().collect::<Vec<_>>(),
            ["comfy", "acme", "wf", "extra", "more"]
        );
        assert_eq!(
            EndpointId::parse("12345-my-app").unwrap().to_string(),
            "12345/my-app"
        );
    }

    #[test]
    fn names_the_first_problem() {
        let cases = [
            ("", IdProblem::Empty),
            ("/", IdProblem::Empty),
            ("flux", IdProblem::NoSeparator),
            ("abc-def", IdProblem::NoSeparator),
            ("workflows/acme", IdProblem::MissingAlias),
            ("comfy", IdProblem::NoSeparator),
            ("fal-ai//dev", IdProblem::EmptySegment),
            ("fal-ai/../admin", IdProblem::DotSegment),
            ("fal-ai/flux/./dev", IdProblem::DotSegment),
            ("acme/../x", IdProblem::DotSegment),
            ("%2e%2e/%2e%2e/admin", IdProblem::PercentEscape),
            (".%2E/x/y", IdProblem::PercentEscape),
            ("fal-ai/flux%2Fdev", IdProblem::PercentEscape),
            (r"x\..\..\admin/y", IdProblem::Character('\\')),
            ("fal ai/flux", IdProblem::Character(' ')),
            ("a/.\t./x", IdProblem::Character('\t')),
            ("a/b?x=1", IdProblem::Character('?')),
            ("a/b#c", IdProblem::Character('#')),
            ("a/b;c", IdProblem::Character(';')),
            ("fal-ai/flüx", IdProblem::Character('ü')),
        ];
        for (id, problem) in cases {
            let err = EndpointId::parse(id).expect_err(id);
            assert_eq!(err.problem(), problem, "{id:?}");
            assert_eq!(err.id(), id);
            assert!(err.to_string().starts_with("invalid endpoint id"), "{err}");
        }
    }

    #[test]
    fn messages_escape_and_shorten_the_id() {
        let err = EndpointId::parse("a/\u{1b}[2J").unwrap_err();
        assert!(!err.to_string().contains('\u{1b}'), "{err}");
        let long = format!("a/{}", "%".repeat(10_000));
        let shown = EndpointId::parse(&long).unwrap_err().to_string();
        assert!(shown.len() < 400, "{}", shown.len());
        assert!(shown.contains('…'));
    }
}
