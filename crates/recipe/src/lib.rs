//! Platform recipes: a meeting platform described as a declarative file (TOML or JSON) — its
//! URL patterns, join steps, state detectors, chat and participant scrapers and how tracks map
//! to participants — parsed into typed structs ([`RecipeFile`]), validated into a [`Recipe`],
//! loaded from a directory into a [`RecipeSet`] that matches meeting URLs ([`MeetingUrl`]), and
//! compiled into small JavaScript expressions a bot evaluates in the page ([`js`]).
//!
//! A leaf crate: no I/O beyond reading recipe files, no browser, no server. It must never
//! depend on core, http or store, and never hold a special case for one platform: adding a
//! platform is adding a file.

pub mod js;
mod locate;
mod model;
mod set;
mod url;
mod validate;

use std::path::Path;

pub use crate::model::{
    ActiveSpeaker, Chat, ChatMessages, Detectors, Field, FillValue, Key, Matcher, Participants,
    RecipeFile, Step, TrackMapping, UrlPatterns,
};
pub use crate::set::{BUILTIN, LoadError, RecipeSet, recipe_files};
pub use crate::url::{MeetingUrl, MeetingUrlError, TestOrigins, host_matches, is_internal_name};
pub use crate::validate::{MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, Problem};

/// Why a recipe file is refused: it does not parse (with the line), or it parses and means
/// something wrong (each problem with its field, and its line when known).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipeError {
    #[error("{}", parse_message(*line, *column, message))]
    Parse {
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<Located>),
}

fn parse_message(line: Option<usize>, column: Option<usize>, message: &str) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: {message}"),
        _ => message.to_owned(),
    }
}

fn invalid_message(problems: &[Located]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A problem with the line of the field it names, when the source had one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Located {
    pub line: Option<usize>,
    #[serde(flatten)]
    pub problem: Problem,
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.problem),
            None => write!(f, "{}", self.problem),
        }
    }
}

/// The states a detector recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DetectorKind {
    WaitingRoom,
    Admitted,
    Denied,
    Removed,
    MeetingEnded,
    MeetingNotFound,
    /// The chat panel is open.
    ChatPanel,
}

impl DetectorKind {
    pub const ALL: [DetectorKind; 7] = [
        DetectorKind::WaitingRoom,
        DetectorKind::Admitted,
        DetectorKind::Denied,
        DetectorKind::Removed,
        DetectorKind::MeetingEnded,
        DetectorKind::MeetingNotFound,
        DetectorKind::ChatPanel,
    ];

    /// The order in which a bot asks the detectors where it stands: endings first (a page
    /// that says "denied" may still show lobby text), then admitted, then the waiting room.
    pub const STATE_ORDER: [DetectorKind; 6] = [
        DetectorKind::MeetingNotFound,
        DetectorKind::Denied,
        DetectorKind::Removed,
        DetectorKind::MeetingEnded,
        DetectorKind::Admitted,
        DetectorKind::WaitingRoom,
    ];

    /// The field name in a recipe (`waiting_room`).
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorKind::WaitingRoom => "waiting_room",
            DetectorKind::Admitted => "admitted",
            DetectorKind::Denied => "denied",
            DetectorKind::Removed => "removed",
            DetectorKind::MeetingEnded => "meeting_ended",
            DetectorKind::MeetingNotFound => "meeting_not_found",
            DetectorKind::ChatPanel => "chat_panel",
        }
    }
}

/// A recipe that parsed and validated, with its URL path patterns compiled.
#[derive(Debug, Clone)]
pub struct Recipe {
    file: RecipeFile,
    paths: Vec<regex::Regex>,
}

impl Recipe {
    /// Parses and validates a TOML recipe.
    pub fn from_toml_str(text: &str) -> Result<Self, RecipeError> {
        let file: RecipeFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| locate::line_col(text, s.start))
                .map_or((None, None), |(l, c)| (Some(l), Some(c)));
            RecipeError::Parse {
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        Self::from_file(file).map_err(|e| match e {
            RecipeError::Invalid(problems) => RecipeError::Invalid(
                problems
                    .into_iter()
                    .map(|p| Located {
                        line: locate::toml_line(text, &p.problem.path),
                        problem: p.problem,
                    })
                    .collect(),
            ),
            other => other,
        })
    }

    /// Parses and validates a JSON recipe (the form a bot receives in its spec).
    pub fn from_json_str(text: &str) -> Result<Self, RecipeError> {
        let file: RecipeFile = serde_json::from_str(text).map_err(|e| RecipeError::Parse {
            line: Some(e.line()),
            column: Some(e.column()),
            message: e.to_string(),
        })?;
        Self::from_file(file)
    }

    /// Reads a recipe file: `.json` as JSON, anything else as TOML.
    pub fn from_path(path: &Path) -> Result<Self, RecipeError> {
        let text = std::fs::read_to_string(path).map_err(|e| RecipeError::Parse {
            line: None,
            column: None,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        if path.extension().is_some_and(|e| e == "json") {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        }
    }

    /// Validates parsed recipe data.
    pub fn from_file(file: RecipeFile) -> Result<Self, RecipeError> {
        let problems = validate::problems(&file);
        if !problems.is_empty() {
            return Err(RecipeError::Invalid(
                problems
                    .into_iter()
                    .map(|problem| Located {
                        line: None,
                        problem,
                    })
                    .collect(),
            ));
        }
        let paths = file
            .urls
            .paths
            .iter()
            .map(|p| {
                let body = p.strip_prefix('^').unwrap_or(p);
                let body = body.strip_suffix('$').unwrap_or(body);
                regex::Regex::new(&format!("^(?:{body})$"))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| {
                RecipeError::Invalid(vec![Located {
                    line: None,
                    problem: Problem {
                        path: "urls.paths".into(),
                        message: format!("not a regular expression: {e}"),
                    },
                }])
            })?;
        Ok(Self { file, paths })
    }

    /// The recipe's data.
    pub fn file(&self) -> &RecipeFile {
        &self.file
    }

    /// The platform id (`google-meet`).
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// The recipe as JSON (what the bot's spec carries).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.file).unwrap_or_default()
    }

    /// Whether `url` is one of this platform's meeting links.
    pub fn matches(&self, url: &MeetingUrl) -> bool {
        self.matches_host(url) && self.matches_path(url.path())
    }

    fn matches_host(&self, url: &MeetingUrl) -> bool {
        if self.file.test_platform {
            return url.is_test_platform();
        }
        !url.is_test_platform()
            && self
                .file
                .urls
                .hosts
                .iter()
                .any(|pattern| host_matches(pattern, url.host()))
    }

    fn matches_path(&self, path: &str) -> bool {
        self.paths.iter().any(|re| re.is_match(path))
    }

    /// The matchers of one detector (empty for an optional detector not given).
    pub fn detector(&self, kind: DetectorKind) -> &[Matcher] {
        let d = &self.file.detect;
        match kind {
            DetectorKind::WaitingRoom => &d.waiting_room,
            DetectorKind::Admitted => &d.admitted,
            DetectorKind::Denied => &d.denied,
            DetectorKind::Removed => &d.removed,
            DetectorKind::MeetingEnded => &d.meeting_ended,
            DetectorKind::MeetingNotFound => &d.meeting_not_found,
            DetectorKind::ChatPanel => &self.file.chat.panel,
        }
    }
}

/// The JSON Schema of recipe files, as committed in `docs/recipe.schema.json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RecipeFile)).unwrap_or_default()
}

#[cfg(test)]
mod schema_tests;
#[cfg(test)]
mod tests;
