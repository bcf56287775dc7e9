//! Recipient-policy address templates (reference §2.5-§2.8): parsing `TYPE:format@domain`,
//! expanding the format for one recipient, validating the local part, and the uniqueness
//! retries of §2.6.
//!
//! # Language
//!
//! | Token | Meaning |
//! |---|---|
//! | `%g` `%s` `%i` `%d` `%m` | given name, surname, initials, display name, alias |
//! | `%<n>g` … | the first *n* characters of the field (n ≥ 1, decimal) |
//! | `%%` | a literal `%` |
//! | `%rXY` | later substitutions replace *X* with *Y*; *X* = *Y* deletes *X* |
//!
//! An empty format means `%m`. Literal characters must be legal local-part characters
//! ([`translit::is_local_char`]). The first literal `@` ends the format; the rest is the domain,
//! which is required for `SMTP` and optional for other types. `X400` templates are not in this
//! language: their text after `X400:` is parsed as an [`X400Site`].
//!
//! # Substitution order
//!
//! For each substituted character, the `%r` replacements in force are applied to the **raw**
//! field first; characters they do not replace then go through the transliteration table of
//! the [`Profile`]. So `%r _%d` on `Doug M. Dosdall` gives `Doug_M._Dosdall` (the spaces become
//! `_` before the table would delete them), and `%r..%d` gives `DougMDosdall`. A later `%r`
//! for the same *X* overrides an earlier one (the SDK rewrites one table entry); replacements
//! never chain. `%r` never changes literal template characters.

use std::fmt;
use std::str::FromStr;

use super::translit::{self, is_local_char, Profile};
use super::x400::{self, X400Fields, X400Settings, X400Site};

/// Maximum length of an SMTP local part (RFC 5321).
pub const MAX_LOCAL_PART: usize = 64;

/// A recipient attribute that a template can substitute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `%g`: `givenName`.
    Given,
    /// `%s`: `sn`.
    Surname,
    /// `%i`: `initials`.
    Initials,
    /// `%d`: `displayName`.
    Display,
    /// `%m`: `mailNickname`.
    Alias,
}

/// One element of a parsed format.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(char),
    Field { field: Field, count: Option<usize> },
    Replace { from: char, to: Option<char> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Body {
    Local {
        format: String,
        parts: Vec<Part>,
        domain: Option<&'static str>,
    },
    X400 {
        raw: String,
        site: X400Site,
    },
}

/// A parsed address template, e.g. `SMTP:%g.%s@contoso.com` or `X400:c=US;a= ;p=Contoso;o=Exchange;`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The address type as written (`SMTP`, `smtp`, `X400`, `EDK`, …); interned, and copied
    /// into the claims made from the template.
    pub kind: &'static str,
    /// True when the type is written in upper case: the template gives the primary address of
    /// its type.
    pub primary: bool,
    /// Things that parsed but are ignored, e.g. a `%r` whose replacement character is illegal
    /// (KB 822447). Meant for the log.
    pub notes: Vec<String>,
    text: String,
    body: Body,
}

/// What is wrong with a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateErrorKind {
    /// The template is empty or blank.
    Empty,
    /// There is no `TYPE:` before the address.
    MissingType,
    /// The type contains a character other than ASCII letters, digits, `-` and `_`.
    BadTypeChar(char),
    /// `%` followed by a letter that is not a token.
    UnknownToken(char),
    /// `%` (or `%<n>`) at the end of the format.
    PercentAtEnd,
    /// `%0g` and the like: the count must be at least 1.
    ZeroCount,
    /// A count before `%` or `r`, which take none.
    CountNotAllowed(char),
    /// `%r` is not followed by two characters.
    ReplaceMissingChars,
    /// A literal character that is illegal in a local part.
    IllegalLiteral(char),
    /// An `SMTP` template without `@domain`.
    MissingDomain,
    /// `@` with nothing after it.
    EmptyDomain,
    /// A blank or a second `@` in the domain.
    BadDomainChar(char),
    /// The X.400 site part is invalid.
    X400(String),
}

/// A template error and the 1-based character column (in the text given to
/// [`Template::parse`], leading blanks included) where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// 1-based character column.
    pub column: usize,
    /// What is wrong.
    pub kind: TemplateErrorKind,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: ", self.column)?;
        match &self.kind {
            TemplateErrorKind::Empty => f.write_str("empty address template"),
            TemplateErrorKind::MissingType => {
                f.write_str("missing address type (expected `TYPE:format@domain`)")
            }
            TemplateErrorKind::BadTypeChar(c) => {
                write!(f, "character {c:?} is not allowed in an address type")
            }
            TemplateErrorKind::UnknownToken(c) => write!(
                f,
                "unknown token `%{c}` (expected %g, %s, %i, %d, %m, %%, %<n>g… or %rXY)"
            ),
            TemplateErrorKind::PercentAtEnd => {
                f.write_str("`%` at the end of the format, token letter missing")
            }
            TemplateErrorKind::ZeroCount => f.write_str("character count must be at least 1"),
            TemplateErrorKind::CountNotAllowed(c) => {
                write!(f, "`%{c}` does not take a character count")
            }
            TemplateErrorKind::ReplaceMissingChars => {
                f.write_str("`%r` must be followed by two characters (`%rXY`)")
            }
            TemplateErrorKind::IllegalLiteral(c) => {
                write!(f, "literal character {c:?} is illegal in a local part")
            }
            TemplateErrorKind::MissingDomain => {
                f.write_str("missing `@domain` in an SMTP template")
            }
            TemplateErrorKind::EmptyDomain => f.write_str("empty domain after `@`"),
            TemplateErrorKind::BadDomainChar(c) => {
                write!(f, "character {c:?} is not allowed in the domain")
            }
            TemplateErrorKind::X400(m) => write!(f, "invalid X.400 template: {m}"),
        }
    }
}

impl std::error::Error for TemplateError {}

/// The recipient's attributes a template can substitute. Missing attributes are `""`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecipientFields<'a> {
    /// `givenName` (`%g`).
    pub given: &'a str,
    /// `sn` (`%s`).
    pub surname: &'a str,
    /// `initials` (`%i`).
    pub initials: &'a str,
    /// `displayName` (`%d`).
    pub display: &'a str,
    /// `mailNickname` (`%m`).
    pub alias: &'a str,
}

impl RecipientFields<'_> {
    fn get(&self, field: Field) -> &str {
        match field {
            Field::Given => self.given,
            Field::Surname => self.surname,
            Field::Initials => self.initials,
            Field::Display => self.display,
            Field::Alias => self.alias,
        }
    }
}

/// Expansion settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExpandSettings {
    /// \[UNV\] `%<n>g` counts *n* characters of the mapped value (after `%r` replacements,
    /// deletions and expansions) when `true` (the default), or of the raw attribute, which is
    /// then mapped, when `false`.
    pub count_after_mapping: bool,
}

impl Default for ExpandSettings {
    fn default() -> Self {
        ExpandSettings {
            count_after_mapping: true,
        }
    }
}

/// What the retry number is appended to from the second retry on (§2.6, \[UNV\],
/// `[addresses] duplicate_base = alias|template`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DuplicateBase {
    /// The alias: `jsmith2`, `jsmith3`, … (the default; SDK `proxygen.c`).
    #[default]
    Alias,
    /// The template output: `John.Smith2`, `John.Smith3`, ….
    Template,
}

impl DuplicateBase {
    /// The configuration name: `alias` or `template`.
    pub fn as_str(self) -> &'static str {
        match self {
            DuplicateBase::Alias => "alias",
            DuplicateBase::Template => "template",
        }
    }
}

impl FromStr for DuplicateBase {
    type Err = String;

    /// Parses `alias` or `template` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("alias") {
            Ok(DuplicateBase::Alias)
        } else if t.eq_ignore_ascii_case("template") {
            Ok(DuplicateBase::Template)
        } else {
            Err(format!(
                "unknown duplicate base `{s}` (expected `alias` or `template`)"
            ))
        }
    }
}

/// Why a local part is not an RFC 5321 dot-atom of 1-64 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalPartError {
    /// Nothing was generated.
    Empty,
    /// Longer than [`MAX_LOCAL_PART`] characters.
    TooLong(usize),
    /// Starts with a dot.
    LeadingDot,
    /// Ends with a dot.
    TrailingDot,
    /// Two dots in a row.
    ConsecutiveDots,
    /// A character that is neither `atext` nor a dot.
    IllegalChar(char),
}

impl fmt::Display for LocalPartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalPartError::Empty => f.write_str("empty local part"),
            LocalPartError::TooLong(n) => {
                write!(
                    f,
                    "local part has {n} characters (at most {MAX_LOCAL_PART})"
                )
            }
            LocalPartError::LeadingDot => f.write_str("local part starts with a dot"),
            LocalPartError::TrailingDot => f.write_str("local part ends with a dot"),
            LocalPartError::ConsecutiveDots => f.write_str("local part has two dots in a row"),
            LocalPartError::IllegalChar(c) => write!(f, "character {c:?} in local part"),
        }
    }
}

/// Checks that `local` is an RFC 5321 dot-atom of 1-64 characters.
pub fn validate_local_part(local: &str) -> Result<(), LocalPartError> {
    if local.is_empty() {
        return Err(LocalPartError::Empty);
    }
    if let Some(c) = local.chars().find(|&c| !is_local_char(c)) {
        return Err(LocalPartError::IllegalChar(c));
    }
    if local.starts_with('.') {
        return Err(LocalPartError::LeadingDot);
    }
    if local.ends_with('.') {
        return Err(LocalPartError::TrailingDot);
    }
    if local.contains("..") {
        return Err(LocalPartError::ConsecutiveDots);
    }
    let n = local.chars().count();
    if n > MAX_LOCAL_PART {
        return Err(LocalPartError::TooLong(n));
    }
    Ok(())
}

/// A template output that was rejected, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// What the template produced.
    pub output: String,
    /// Why it is not a valid local part.
    pub reason: LocalPartError,
}

/// The result of expanding a template for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expansion {
    /// The local part to use.
    pub local: String,
    /// Set (a warning for the log) when the format's output was not a valid local part and the
    /// alias was used instead.
    pub fallback: Option<Rejected>,
    /// False when not even the alias gave a valid local part (or the template is `X400`): the
    /// caller must not generate this address.
    pub valid: bool,
}

impl Expansion {
    /// True when the result should be logged as a warning (alias fallback or no result).
    pub fn warned(&self) -> bool {
        self.fallback.is_some() || !self.valid
    }

    fn not_applicable() -> Expansion {
        Expansion {
            local: String::new(),
            fallback: None,
            valid: false,
        }
    }
}

/// The alias as a fallback local part: mapped, dots squashed and stripped at both ends,
/// truncated to 64 characters.
fn alias_fallback(alias: &str, profile: Profile) -> String {
    let mapped = translit::map_local(profile, alias);
    let mut out = String::with_capacity(mapped.len());
    let mut count = 0usize;
    for c in mapped.chars() {
        if c == '.' && (out.is_empty() || out.ends_with('.')) {
            continue;
        }
        if count == MAX_LOCAL_PART {
            break;
        }
        out.push(c);
        count += 1;
    }
    while out.ends_with('.') {
        out.pop();
    }
    out
}

/// Validates `output`; when invalid, falls back to the alias.
fn finish(output: String, fields: &RecipientFields<'_>, profile: Profile) -> Expansion {
    match validate_local_part(&output) {
        Ok(()) => Expansion {
            local: output,
            fallback: None,
            valid: true,
        },
        Err(reason) => {
            let local = alias_fallback(fields.alias, profile);
            let valid = validate_local_part(&local).is_ok();
            Expansion {
                local,
                fallback: Some(Rejected { output, reason }),
                valid,
            }
        }
    }
}

/// Maps one character with the replacements in force, then the profile's table.
fn map_char(c: char, replace: &[(char, Option<char>)], profile: Profile, out: &mut String) {
    match replace.iter().rev().find(|(from, _)| *from == c) {
        Some((_, Some(to))) => out.push(*to),
        Some((_, None)) => {}
        None => translit::smtp_local_char(profile, c, out),
    }
}

fn render(
    parts: &[Part],
    fields: &RecipientFields<'_>,
    profile: Profile,
    settings: &ExpandSettings,
) -> String {
    // Room for the usual local part: the fields substituted, a few literal characters.
    let mut out = String::with_capacity(32);
    let mut replace: Vec<(char, Option<char>)> = Vec::new();
    for part in parts {
        match part {
            Part::Literal(c) => out.push(*c),
            Part::Replace { from, to } => replace.push((*from, *to)),
            Part::Field { field, count } => {
                let raw = fields.get(*field);
                match count {
                    None => raw
                        .chars()
                        .for_each(|c| map_char(c, &replace, profile, &mut out)),
                    Some(n) if settings.count_after_mapping => {
                        let mut mapped = String::new();
                        raw.chars()
                            .for_each(|c| map_char(c, &replace, profile, &mut mapped));
                        out.extend(mapped.chars().take(*n));
                    }
                    Some(n) => raw
                        .chars()
                        .take(*n)
                        .for_each(|c| map_char(c, &replace, profile, &mut out)),
                }
            }
        }
    }
    out
}

const ALIAS_ONLY: [Part; 1] = [Part::Field {
    field: Field::Alias,
    count: None,
}];

impl Template {
    /// Parses a template as stored in a recipient policy (`gatewayProxy`). Leading and trailing
    /// blanks are trimmed. See the module documentation for the language.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let lead = text.chars().take_while(|c| c.is_whitespace()).count();
        let trimmed = text.trim();
        let chars: Vec<char> = trimmed.chars().collect();
        let col = |i: usize| lead + i + 1;
        let err = |i: usize, kind: TemplateErrorKind| TemplateError {
            column: col(i),
            kind,
        };
        if chars.is_empty() {
            return Err(err(0, TemplateErrorKind::Empty));
        }
        let colon = match chars.iter().position(|&c| c == ':') {
            Some(0) | None => return Err(err(0, TemplateErrorKind::MissingType)),
            Some(p) => p,
        };
        if let Some(i) = chars[..colon]
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            return Err(err(i, TemplateErrorKind::BadTypeChar(chars[i])));
        }
        let kind: String = chars[..colon].iter().collect();
        let primary = kind.chars().any(|c| c.is_ascii_alphabetic())
            && !kind.chars().any(|c| c.is_ascii_lowercase());
        let rest: String = chars[colon + 1..].iter().collect();
        let mut notes = Vec::new();
        let body = if kind.eq_ignore_ascii_case("X400") {
            let site = X400Site::parse(&rest).map_err(|e| TemplateError {
                column: col(colon + e.column),
                kind: TemplateErrorKind::X400(e.message),
            })?;
            Body::X400 { raw: rest, site }
        } else {
            let is_smtp = kind.eq_ignore_ascii_case("SMTP");
            Self::parse_format(&chars, colon + 1, is_smtp, &mut notes)
                .map_err(|(i, k)| err(i, k))?
        };
        Ok(Template {
            kind: crate::model::intern(&kind),
            primary,
            notes,
            text: trimmed.to_string(),
            body,
        })
    }

    /// Parses `format[@domain]` starting at `start`; errors carry the index into `chars`.
    fn parse_format(
        chars: &[char],
        start: usize,
        is_smtp: bool,
        notes: &mut Vec<String>,
    ) -> Result<Body, (usize, TemplateErrorKind)> {
        let n = chars.len();
        let mut parts = Vec::new();
        let mut at = None;
        let mut i = start;
        while i < n {
            let c = chars[i];
            if c == '@' {
                at = Some(i);
                break;
            }
            if c != '%' {
                if !is_local_char(c) {
                    return Err((i, TemplateErrorKind::IllegalLiteral(c)));
                }
                parts.push(Part::Literal(c));
                i += 1;
                continue;
            }
            let mut j = i + 1;
            let mut count: Option<usize> = None;
            while j < n {
                let Some(d) = chars[j].to_digit(10) else {
                    break;
                };
                let so_far = count.unwrap_or(0);
                count = Some(so_far.saturating_mul(10).saturating_add(d as usize));
                j += 1;
            }
            if j >= n {
                return Err((i, TemplateErrorKind::PercentAtEnd));
            }
            let token = chars[j];
            let field = match token {
                'g' => Some(Field::Given),
                's' => Some(Field::Surname),
                'i' => Some(Field::Initials),
                'd' => Some(Field::Display),
                'm' => Some(Field::Alias),
                _ => None,
            };
            if let Some(field) = field {
                if count == Some(0) {
                    return Err((i, TemplateErrorKind::ZeroCount));
                }
                parts.push(Part::Field { field, count });
                i = j + 1;
                continue;
            }
            if (token == '%' || token == 'r') && count.is_some() {
                return Err((i, TemplateErrorKind::CountNotAllowed(token)));
            }
            match token {
                '%' => {
                    parts.push(Part::Literal('%'));
                    i = j + 1;
                }
                'r' => {
                    if j + 2 >= n {
                        return Err((i, TemplateErrorKind::ReplaceMissingChars));
                    }
                    let (from, to) = (chars[j + 1], chars[j + 2]);
                    if from == to {
                        parts.push(Part::Replace { from, to: None });
                    } else if is_local_char(to) {
                        parts.push(Part::Replace { from, to: Some(to) });
                    } else {
                        notes.push(format!(
                            "`%r{from}{to}` ignored: {to:?} is illegal in a local part (KB 822447)"
                        ));
                    }
                    i = j + 3;
                }
                other => return Err((i, TemplateErrorKind::UnknownToken(other))),
            }
        }
        let format_end = at.unwrap_or(n);
        let format: String = chars[start..format_end].iter().collect();
        if format.is_empty() {
            parts = ALIAS_ONLY.to_vec();
        }
        let domain = match at {
            None if is_smtp => return Err((n, TemplateErrorKind::MissingDomain)),
            None => None,
            Some(a) => {
                if a + 1 >= n {
                    return Err((a, TemplateErrorKind::EmptyDomain));
                }
                if let Some(k) = (a + 1..n).find(|&k| chars[k] == '@' || chars[k].is_whitespace()) {
                    return Err((k, TemplateErrorKind::BadDomainChar(chars[k])));
                }
                Some(crate::model::intern(
                    &chars[a + 1..].iter().collect::<String>(),
                ))
            }
        };
        Ok(Body::Local {
            format,
            parts,
            domain,
        })
    }

    /// The template as given, without its surrounding blanks.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True for an `X400` template (any case).
    pub fn is_x400(&self) -> bool {
        matches!(self.body, Body::X400 { .. })
    }

    /// True for an `SMTP` template (any case).
    pub fn is_smtp(&self) -> bool {
        self.kind.eq_ignore_ascii_case("SMTP")
    }

    /// The domain after `@`, if any (never for `X400`).
    pub fn domain(&self) -> Option<&'static str> {
        match &self.body {
            Body::Local { domain, .. } => *domain,
            Body::X400 { .. } => None,
        }
    }

    /// The format between `TYPE:` and `@` as written (`""` means `%m`); `None` for `X400`.
    pub fn format(&self) -> Option<&str> {
        match &self.body {
            Body::Local { format, .. } => Some(format),
            Body::X400 { .. } => None,
        }
    }

    /// For `X400` templates: the text after `X400:` as written.
    pub fn raw_site(&self) -> Option<&str> {
        match &self.body {
            Body::X400 { raw, .. } => Some(raw),
            Body::Local { .. } => None,
        }
    }

    /// For `X400` templates: the parsed site part.
    pub fn x400_site(&self) -> Option<&X400Site> {
        match &self.body {
            Body::X400 { site, .. } => Some(site),
            Body::Local { .. } => None,
        }
    }

    /// Expands the format for one recipient (retry 0).
    ///
    /// Substituted values go through the `%r` replacements in force and then
    /// [`translit::smtp_local_char`]. The output must be an RFC 5321 dot-atom of 1-64 characters
    /// ([`validate_local_part`]); otherwise (\[UNV\] tool rule) the alias is used instead —
    /// mapped, with leading, trailing and doubled dots removed, truncated to 64 — and
    /// [`Expansion::fallback`] records the rejected output. For `X400` templates the result is
    /// empty and invalid; use [`Template::expand_x400`].
    pub fn expand_local(
        &self,
        fields: &RecipientFields<'_>,
        profile: Profile,
        settings: &ExpandSettings,
    ) -> Expansion {
        match &self.body {
            Body::Local { parts, .. } => {
                finish(render(parts, fields, profile, settings), fields, profile)
            }
            Body::X400 { .. } => Expansion::not_applicable(),
        }
    }

    /// Expands retry number `n` (§2.6): 0 is the template; 1 is the alias (`%m`); from 2 on
    /// the decimal `n` is appended to the alias ([`DuplicateBase::Alias`]) or to the template
    /// output ([`DuplicateBase::Template`]), truncating the base first so the local part stays
    /// ≤ 64 characters. An invalid base gives an invalid result.
    pub fn expand_retry(
        &self,
        fields: &RecipientFields<'_>,
        profile: Profile,
        settings: &ExpandSettings,
        n: u32,
        base: DuplicateBase,
    ) -> Expansion {
        if self.is_x400() {
            return Expansion::not_applicable();
        }
        let alias = || {
            finish(
                render(&ALIAS_ONLY, fields, profile, settings),
                fields,
                profile,
            )
        };
        let b = match (n, base) {
            (0, _) => return self.expand_local(fields, profile, settings),
            (1, _) => return alias(),
            (_, DuplicateBase::Alias) => alias(),
            (_, DuplicateBase::Template) => self.expand_local(fields, profile, settings),
        };
        if !b.valid {
            return b;
        }
        let suffix = n.to_string();
        let keep = MAX_LOCAL_PART.saturating_sub(suffix.len());
        let mut local: String = b.local.chars().take(keep).collect();
        local.push_str(&suffix);
        let valid = validate_local_part(&local).is_ok();
        Expansion {
            local,
            fallback: b.fallback,
            valid,
        }
    }

    /// The full proxy address for a local part: `TYPE:local@domain` with the type's case as
    /// written (`TYPE:local` when the template has no domain). For `X400` templates pass the
    /// output of [`x400::generate`] as `local`, or use [`Template::expand_x400`].
    pub fn address(&self, local: &str) -> String {
        match self.domain() {
            Some(domain) => format!("{}:{}@{}", self.kind, local, domain),
            None => format!("{}:{}", self.kind, local),
        }
    }

    /// For `X400` templates: the full proxy address (`X400:c=…;s=…;`) for one recipient.
    pub fn expand_x400(&self, fields: &X400Fields<'_>, settings: &X400Settings) -> Option<String> {
        let site = self.x400_site()?;
        Some([self.kind, ":", &x400::generate(site, fields, settings)].concat())
    }
}

impl FromStr for Template {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Template::parse(s)
    }
}

impl fmt::Display for Template {
    /// Writes the template as given (trimmed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// True when `local` is an RFC 5321 dot-atom of 1-64 characters.
pub fn is_valid_local_part(local: &str) -> bool {
    validate_local_part(local).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> Template {
        match Template::parse(s) {
            Ok(t) => t,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn err(s: &str) -> TemplateError {
        match Template::parse(s) {
            Ok(t) => panic!("{s} parsed: {t:?}"),
            Err(e) => e,
        }
    }

    const DOUG: RecipientFields<'static> = RecipientFields {
        given: "Doug",
        surname: "Dosdall",
        initials: "M",
        display: "Doug M. Dosdall",
        alias: "dougdo",
    };

    const JOSE: RecipientFields<'static> = RecipientFields {
        given: "José",
        surname: "Müller Lüdenscheidt",
        initials: "K",
        display: "José K. Müller Lüdenscheidt",
        alias: "jmueller",
    };

    fn local(tpl: &str, f: &RecipientFields<'_>) -> String {
        t(tpl)
            .expand_local(f, Profile::E2007, &ExpandSettings::default())
            .local
    }

    fn full(tpl: &str, f: &RecipientFields<'_>) -> String {
        let tp = t(tpl);
        tp.address(
            &tp.expand_local(f, Profile::E2007, &ExpandSettings::default())
                .local,
        )
    }

    #[test]
    fn sdk_replace_space_with_underscore_in_display_name() {
        assert_eq!(
            full("SMTP:%r _%d@wspu.microsoft.com", &DOUG),
            "SMTP:Doug_M._Dosdall@wspu.microsoft.com"
        );
    }

    #[test]
    fn sdk_replace_dot_with_itself_deletes_dots() {
        assert_eq!(
            full("SAMPLE:%r..%d@wspu.microsoft.com", &DOUG),
            "SAMPLE:DougMDosdall@wspu.microsoft.com"
        );
        assert_eq!(local("SAMPLE:%r..%d", &DOUG), "DougMDosdall");
    }

    #[test]
    fn sdk_given_dot_surname_for_other_type() {
        assert_eq!(local("EDK:%g.%s", &DOUG), "Doug.Dosdall");
        assert_eq!(
            full("EDK:%g.%s@wspu.microsoft.com", &DOUG),
            "EDK:Doug.Dosdall@wspu.microsoft.com"
        );
        assert_eq!(full("EDK:%g.%s", &DOUG), "EDK:Doug.Dosdall");
    }

    #[test]
    fn empty_format_means_alias() {
        assert_eq!(
            full("SMTP:@wspu.microsoft.com", &DOUG),
            "SMTP:dougdo@wspu.microsoft.com"
        );
        assert_eq!(t("SMTP:@wspu.microsoft.com").format(), Some(""));
    }

    #[test]
    fn retry_two_appends_number_to_alias() {
        let tp = t("SMTP:@wspu.microsoft.com");
        let e = tp.expand_retry(
            &DOUG,
            Profile::E2007,
            &ExpandSettings::default(),
            2,
            DuplicateBase::default(),
        );
        assert_eq!(tp.address(&e.local), "SMTP:dougdo2@wspu.microsoft.com");
        assert!(e.valid && !e.warned());
    }

    #[test]
    fn worked_example_template_then_alias_retry() {
        let tp = t("SMTP:%g.%s@contoso.com");
        let s = ExpandSettings::default();
        let try0 = tp.expand_retry(&JOSE, Profile::E2007, &s, 0, DuplicateBase::Alias);
        assert_eq!(
            tp.address(&try0.local),
            "SMTP:Jose.MuellerLuedenscheidt@contoso.com"
        );
        let try1 = tp.expand_retry(&JOSE, Profile::E2007, &s, 1, DuplicateBase::Alias);
        assert_eq!(try1.local, "jmueller");
        assert_eq!(tp.address(&try1.local), "SMTP:jmueller@contoso.com");
        assert!(tp.primary);
    }

    #[test]
    fn worked_example_secondary_alias_template() {
        let tp = t("smtp:@contoso.net");
        assert!(!tp.primary);
        assert_eq!(
            full("smtp:@contoso.net", &JOSE),
            "smtp:jmueller@contoso.net"
        );
    }

    #[test]
    fn worked_example_x400_template() {
        let tp = t("X400:c=US;a= ;p=Contoso;o=Exchange;");
        assert!(tp.is_x400() && tp.primary);
        assert_eq!(tp.raw_site(), Some("c=US;a= ;p=Contoso;o=Exchange;"));
        let f = X400Fields {
            surname: JOSE.surname,
            given: JOSE.given,
            initials: JOSE.initials,
            display: JOSE.display,
            alias: JOSE.alias,
        };
        assert_eq!(
            tp.expand_x400(&f, &X400Settings::default()).as_deref(),
            Some("X400:c=US;a= ;p=Contoso;o=Exchange;s=Mueller Luedenscheidt;g=Jose;i=K;")
        );
        assert!(
            !tp.expand_local(&JOSE, Profile::E2007, &ExpandSettings::default())
                .valid
        );
    }

    #[test]
    fn first_initial_and_surname() {
        let f = RecipientFields {
            given: "John",
            surname: "Smith",
            alias: "js",
            ..Default::default()
        };
        assert_eq!(local("SMTP:%1g%s@x", &f), "JSmith");
        let lower = RecipientFields {
            given: "john",
            surname: "smith",
            ..f
        };
        assert_eq!(local("SMTP:%1g%s@x", &lower), "jsmith");
    }

    #[test]
    fn counts_keep_apostrophe() {
        let f = RecipientFields {
            given: "Ian",
            surname: "O'Connell",
            alias: "ioc",
            ..Default::default()
        };
        assert_eq!(local("SMTP:%3g%5s@x", &f), "IanO'Con");
    }

    #[test]
    fn count_after_mapping_is_a_setting() {
        let f = RecipientFields {
            given: "Ärni",
            surname: "Mo Ser",
            alias: "am",
            ..Default::default()
        };
        let tp = t("SMTP:%2g%4s@x");
        let after = tp.expand_local(&f, Profile::E2007, &ExpandSettings::default());
        assert_eq!(after.local, "AeMoSe");
        let before = tp.expand_local(
            &f,
            Profile::E2007,
            &ExpandSettings {
                count_after_mapping: false,
            },
        );
        assert_eq!(before.local, "AerMoS");
    }

    #[test]
    fn replace_apostrophe_affects_only_later_placeholders() {
        let f = RecipientFields {
            given: "D'Arcy",
            surname: "O'Connell",
            alias: "doc",
            ..Default::default()
        };
        assert_eq!(local("SMTP:%g.%r''%s@x", &f), "D'Arcy.OConnell");
    }

    #[test]
    fn replace_does_not_touch_literals() {
        let f = RecipientFields {
            given: "Anne.Marie",
            surname: "Smith",
            alias: "ams",
            ..Default::default()
        };
        assert_eq!(local("SMTP:%r..%g.%s@x", &f), "AnneMarie.Smith");
    }

    #[test]
    fn replace_with_illegal_character_is_ignored_and_noted() {
        let tp = t("SMTP:%r_ %d@x");
        assert_eq!(tp.notes.len(), 1);
        let f = RecipientFields {
            display: "a_b c",
            alias: "abc",
            ..Default::default()
        };
        assert_eq!(
            tp.expand_local(&f, Profile::E2007, &ExpandSettings::default())
                .local,
            "a_bc"
        );
    }

    #[test]
    fn later_replace_for_same_character_overrides() {
        let f = RecipientFields {
            display: "a b",
            alias: "x",
            ..Default::default()
        };
        assert_eq!(local("SMTP:%r _%r -%d@x", &f), "a-b");
        // No chaining: ' '→'_' and '_'→'-' are applied once each.
        let g = RecipientFields {
            display: "a b_c",
            alias: "x",
            ..Default::default()
        };
        assert_eq!(local("SMTP:%r _%r_-%d@x", &g), "a_b-c");
    }

    #[test]
    fn cyrillic_only_name_falls_back_to_alias_with_warning() {
        let f = RecipientFields {
            given: "Игорь",
            surname: "Черджиев",
            initials: "Ч",
            display: "Игорь Черджиев",
            alias: "chergik",
        };
        let e =
            t("SMTP:%g.%s@rian.ru").expand_local(&f, Profile::E2007, &ExpandSettings::default());
        assert_eq!(e.local, "chergik");
        assert!(e.valid && e.warned());
        assert_eq!(
            e.fallback,
            Some(Rejected {
                output: ".".to_string(),
                reason: LocalPartError::LeadingDot
            })
        );
    }

    #[test]
    fn missing_given_name_falls_back_to_alias() {
        let f = RecipientFields {
            surname: "Smith",
            alias: "jsmith",
            ..Default::default()
        };
        let e = t("SMTP:%g.%s@x").expand_local(&f, Profile::E2007, &ExpandSettings::default());
        assert_eq!(e.local, "jsmith");
        assert_eq!(e.fallback.map(|r| r.output), Some(".Smith".to_string()));
    }

    #[test]
    fn unusable_alias_gives_invalid_expansion() {
        let f = RecipientFields {
            alias: "Иван",
            ..Default::default()
        };
        let e = t("SMTP:%g@x").expand_local(&f, Profile::E2007, &ExpandSettings::default());
        assert!(!e.valid);
        let r = t("SMTP:%g@x").expand_retry(
            &f,
            Profile::E2007,
            &ExpandSettings::default(),
            3,
            DuplicateBase::Alias,
        );
        assert!(!r.valid);
    }

    #[test]
    fn too_long_output_falls_back_and_retry_truncates_base() {
        let long = "a".repeat(70);
        let f = RecipientFields {
            given: &long,
            alias: &long,
            ..Default::default()
        };
        let tp = t("SMTP:%g@x");
        let e = tp.expand_local(&f, Profile::E2007, &ExpandSettings::default());
        assert_eq!(
            e.fallback.map(|r| r.reason),
            Some(LocalPartError::TooLong(70))
        );
        assert_eq!(e.local.len(), 64);
        let r = tp.expand_retry(
            &f,
            Profile::E2007,
            &ExpandSettings::default(),
            12,
            DuplicateBase::Alias,
        );
        assert_eq!(r.local, format!("{}12", "a".repeat(62)));
        assert!(r.valid);
    }

    #[test]
    fn duplicate_base_template_appends_to_template_output() {
        let tp = t("SMTP:%g.%s@contoso.com");
        let r = tp.expand_retry(
            &JOSE,
            Profile::E2007,
            &ExpandSettings::default(),
            2,
            DuplicateBase::Template,
        );
        assert_eq!(r.local, "Jose.MuellerLuedenscheidt2");
        assert_eq!(
            "template".parse::<DuplicateBase>(),
            Ok(DuplicateBase::Template)
        );
        assert_eq!(DuplicateBase::Alias.as_str(), "alias");
    }

    #[test]
    fn blanks_around_template_are_trimmed_and_case_kept() {
        let tp = t("  Smtp:%m@Contoso.COM \t");
        assert_eq!(tp.kind, "Smtp");
        assert!(!tp.primary);
        assert_eq!(tp.domain(), Some("Contoso.COM"));
        assert_eq!(tp.as_str(), "Smtp:%m@Contoso.COM");
        assert_eq!(tp.address("x"), "Smtp:x@Contoso.COM");
    }

    #[test]
    fn percent_percent_is_a_literal_percent() {
        let f = RecipientFields {
            alias: "a",
            ..Default::default()
        };
        assert_eq!(local("SMTP:%m%%x@d", &f), "a%x");
    }

    #[test]
    fn parse_errors_say_what_and_where() {
        let e = err("SMTP:%g.%q@x");
        assert_eq!(
            (e.column, e.kind.clone()),
            (9, TemplateErrorKind::UnknownToken('q'))
        );
        assert!(e.to_string().contains("`%q`"));
        assert_eq!(err("EDK:%g%").kind, TemplateErrorKind::PercentAtEnd);
        assert_eq!(err("EDK:%g%").column, 7);
        assert_eq!(err("EDK:%3").kind, TemplateErrorKind::PercentAtEnd);
        assert_eq!(err("SMTP:%r_").kind, TemplateErrorKind::ReplaceMissingChars);
        assert_eq!(err("EDK:%r_").column, 5);
        let lit = err("  SMTP:John Smith@x");
        assert_eq!(
            (lit.column, lit.kind),
            (12, TemplateErrorKind::IllegalLiteral(' '))
        );
        assert_eq!(err("SMTP:%g.%s").kind, TemplateErrorKind::MissingDomain);
        assert_eq!(err("SMTP:%g@").kind, TemplateErrorKind::EmptyDomain);
        assert_eq!(
            err("SMTP:%g@a@b").kind,
            TemplateErrorKind::BadDomainChar('@')
        );
        assert_eq!(err("%g@x").kind, TemplateErrorKind::MissingType);
        assert_eq!(err(":%g@x").kind, TemplateErrorKind::MissingType);
        assert_eq!(err("   ").kind, TemplateErrorKind::Empty);
        assert_eq!(err("SMTP:%0g@x").kind, TemplateErrorKind::ZeroCount);
        assert_eq!(
            err("SMTP:%2r..@x").kind,
            TemplateErrorKind::CountNotAllowed('r')
        );
        assert_eq!(err("SM TP:%g@x").kind, TemplateErrorKind::BadTypeChar(' '));
    }

    #[test]
    fn x400_template_errors_point_into_the_site_part() {
        let e = err("X400:c=US;a= ;zz=1;");
        assert_eq!(e.column, 15);
        assert!(matches!(e.kind, TemplateErrorKind::X400(_)));
    }

    #[test]
    fn replace_operand_may_be_at_sign() {
        let f = RecipientFields {
            display: "a@b",
            alias: "x",
            ..Default::default()
        };
        assert_eq!(full("SMTP:%r@_%d@x.com", &f), "SMTP:a_b@x.com");
    }

    proptest! {
        #[test]
        fn generated_local_parts_are_dot_atoms_or_alias_fallback(
            given in any::<String>(), surname in any::<String>(),
            display in any::<String>(), alias in "[a-zA-Z0-9.]{0,80}",
            n in 0u32..200,
        ) {
            let f = RecipientFields { given: &given, surname: &surname, initials: "", display: &display, alias: &alias };
            for tpl in ["SMTP:%g.%s@x", "SMTP:%1g%s@x", "SMTP:%r _%d@x", "SMTP:@x", "SMTP:%g.%r''%s@x"] {
                let tp = t(tpl);
                for base in [DuplicateBase::Alias, DuplicateBase::Template] {
                    let e = tp.expand_retry(&f, Profile::E2007, &ExpandSettings::default(), n, base);
                    if e.valid {
                        prop_assert!(is_valid_local_part(&e.local), "{tpl}: {:?}", e.local);
                    }
                    if e.fallback.is_some() {
                        let fb = alias_fallback(&alias, Profile::E2007);
                        prop_assert!(e.local.starts_with(fb.chars().take(50).collect::<String>().as_str()));
                    }
                }
                let e = tp.expand_local(&f, Profile::E2007, &ExpandSettings::default());
                prop_assert!(e.valid || validate_local_part(&alias_fallback(&alias, Profile::E2007)).is_err());
            }
        }
    }
}
