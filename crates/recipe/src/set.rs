//! The recipes a server knows, loaded from a directory (`*.toml` and `*.json`), and the one
//! question asked of them: which platform is this meeting URL on?

use std::path::{Path, PathBuf};

use crate::url::{MeetingUrl, MeetingUrlError, TestOrigins};
use crate::{Recipe, RecipeError};

/// Why a recipe directory cannot be loaded. Names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read recipe directory {}: {source}", path.display())]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {error}", path.display())]
    File { path: PathBuf, error: RecipeError },
    #[error("two recipes are named {name:?}: {} and {}", first.display(), second.display())]
    DuplicateName {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("recipes {first:?} and {second:?} both claim host {host}")]
    SharedHost {
        host: String,
        first: String,
        second: String,
    },
}

/// The recipes built into the binary (`recipes/*.toml` at build time), as `(file name, text)`.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "google-meet.toml",
        include_str!("../../../recipes/google-meet.toml"),
    ),
    (
        "microsoft-teams.toml",
        include_str!("../../../recipes/microsoft-teams.toml"),
    ),
    (
        "testmeet.toml",
        include_str!("../../../recipes/testmeet.toml"),
    ),
    ("zoom.toml", include_str!("../../../recipes/zoom.toml")),
];

/// A validated set of recipes: unique names, no host claimed twice.
#[derive(Debug, Clone, Default)]
pub struct RecipeSet {
    recipes: Vec<Recipe>,
}

/// The recipe files in `dir` (`*.toml`, `*.json`), sorted by name.
pub fn recipe_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let io = |source| LoadError::Dir {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let recipe = path.extension().is_some_and(|e| e == "toml" || e == "json");
        if recipe && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

impl RecipeSet {
    /// Loads every recipe file in `dir`; one bad file fails the load, naming it.
    pub fn load_dir(dir: &Path) -> Result<Self, LoadError> {
        let mut named: Vec<(PathBuf, Recipe)> = Vec::new();
        for path in recipe_files(dir)? {
            let recipe = Recipe::from_path(&path).map_err(|error| LoadError::File {
                path: path.clone(),
                error,
            })?;
            if let Some((first, _)) = named.iter().find(|(_, r)| r.name() == recipe.name()) {
                return Err(LoadError::DuplicateName {
                    name: recipe.name().to_owned(),
                    first: first.clone(),
                    second: path,
                });
            }
            named.push((path, recipe));
        }
        Self::new(named.into_iter().map(|(_, r)| r).collect())
    }

    /// The recipes built into the binary.
    pub fn builtin() -> Result<Self, LoadError> {
        let mut recipes = Vec::with_capacity(BUILTIN.len());
        for (name, text) in BUILTIN {
            recipes.push(
                Recipe::from_toml_str(text).map_err(|error| LoadError::File {
                    path: PathBuf::from(name),
                    error,
                })?,
            );
        }
        Self::new(recipes)
    }

    /// The built-in recipes, with those in `dir` (if given) added; a recipe in `dir` with a
    /// built-in's name replaces it, so a platform's recipe can be fixed without a release.
    pub fn builtin_and_dir(dir: Option<&Path>) -> Result<Self, LoadError> {
        let builtin = Self::builtin()?;
        let Some(dir) = dir else {
            return Ok(builtin);
        };
        let local = Self::load_dir(dir)?;
        let mut recipes: Vec<Recipe> = builtin
            .recipes
            .into_iter()
            .filter(|b| local.get(b.name()).is_none())
            .collect();
        recipes.extend(local.recipes);
        Self::new(recipes)
    }

    /// A set of already validated recipes; refuses two recipes claiming the same host.
    pub fn new(recipes: Vec<Recipe>) -> Result<Self, LoadError> {
        for (i, a) in recipes.iter().enumerate() {
            for b in &recipes[i + 1..] {
                if let Some(host) = a
                    .file()
                    .urls
                    .hosts
                    .iter()
                    .find(|h| b.file().urls.hosts.contains(h))
                {
                    return Err(LoadError::SharedHost {
                        host: host.clone(),
                        first: a.name().to_owned(),
                        second: b.name().to_owned(),
                    });
                }
            }
        }
        Ok(Self { recipes })
    }

    /// Every recipe, in load order.
    pub fn recipes(&self) -> &[Recipe] {
        &self.recipes
    }

    /// The recipe named `name`.
    pub fn get(&self, name: &str) -> Option<&Recipe> {
        self.recipes.iter().find(|r| r.name() == name)
    }

    /// Parses `input` and finds its platform: the answer to "may a bot join this URL, and
    /// how". Every refusal says what is wrong with the URL.
    pub fn match_url(
        &self,
        input: &str,
        test: &TestOrigins,
    ) -> Result<(MeetingUrl, &Recipe), MeetingUrlError> {
        let url = MeetingUrl::parse(input, test)?;
        if let Some(recipe) = self.recipes.iter().find(|r| r.matches(&url)) {
            return Ok((url, recipe));
        }
        let on_host = self.recipes.iter().find(|r| {
            r.file().test_platform == url.is_test_platform()
                && (url.is_test_platform()
                    || r.file()
                        .urls
                        .hosts
                        .iter()
                        .any(|h| crate::host_matches(h, url.host())))
        });
        Err(match on_host {
            Some(recipe) => MeetingUrlError::NotAMeetingPath {
                platform: recipe.name().to_owned(),
                path: url.path().to_owned(),
            },
            None => MeetingUrlError::UnknownHost(url.host().to_owned()),
        })
    }
}
