//! Loading: built-in defaults < the TOML file < `MEETVAULT_*` environment (`__` nests) < flags.
//! `MEETVAULT_X_FILE=/path` reads the value of `MEETVAULT_X` from a file (for mounted secrets).
//! Unknown keys and invalid values are rejected with a message naming the key and its source.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};

use crate::Config;

pub const ENV_PREFIX: &str = "MEETVAULT_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path} does not exist")]
    MissingFile { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A value or key figment rejected; its message names the key and where it came from.
    #[error("invalid configuration: {0}")]
    Rejected(String),
    #[error("invalid configuration: `{key}` {message}")]
    Invalid { key: String, message: String },
}

/// Which configuration file to read.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// `meetvault.toml` in the working directory if it exists, else defaults only.
    Default,
    /// A file named on the command line: it must exist.
    File(PathBuf),
}

/// Values given as command-line flags: the highest layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub log_level: Option<String>,
}

/// Builds the effective configuration from every layer, given the process environment as pairs.
pub fn load(
    source: &ConfigSource,
    env: impl IntoIterator<Item = (String, String)>,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env.into_iter().collect();
    let mut figment = Figment::from(Serialized::defaults(Config::default()));

    let path = match source {
        ConfigSource::Default => {
            Some(crate::default_config_path().to_path_buf()).filter(|p| p.exists())
        }
        ConfigSource::File(path) if path.exists() => Some(path.clone()),
        ConfigSource::File(path) => {
            return Err(ConfigError::MissingFile { path: path.clone() });
        }
    };
    if let Some(path) = &path {
        // Check readability first so an unreadable file is a clear error, not a parse error.
        std::fs::File::open(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        figment = figment.merge(Toml::file_exact(path));
    }

    // The conventional variable, below MEETVAULT_RATE_LIMIT__REDIS_URL in precedence.
    if let Some((_, url)) = env.iter().find(|(k, v)| k == "REDIS_URL" && !v.is_empty()) {
        figment = figment.merge(Serialized::default("rate_limit.redis_url", url));
    }
    let plain: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !k.ends_with("_FILE"))
        .cloned()
        .collect();
    figment = figment.merge(env_provider(plain));
    for (key, file) in env
        .iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k.ends_with("_FILE"))
    {
        figment = figment.merge(file_env_value(key, Path::new(file))?);
    }

    if let Some(listen) = overrides.listen {
        figment = figment.merge(Serialized::default("server.listen", listen));
    }
    if let Some(dir) = &overrides.data_dir {
        figment = figment.merge(Serialized::default("data_dir", dir));
    }
    if let Some(url) = &overrides.database_url {
        figment = figment.merge(Serialized::default("database.url", url));
    }
    if let Some(level) = &overrides.log_level {
        figment = figment.merge(Serialized::default("log.level", level));
    }

    let config: Config = figment
        .extract()
        .map_err(|e| ConfigError::Rejected(describe(e)))?;
    config.validate()?;
    Ok(config)
}

/// `MEETVAULT_SERVER__LISTEN=…` → `server.listen`. Numbers, booleans and `[a, b]` arrays are
/// parsed; anything that would not survive the round trip (`0123`, `1e3`) stays the exact text.
fn env_provider(vars: Vec<(String, String)>) -> Figment {
    use figment::value::Value;
    let mut figment = Figment::new();
    for (key, raw) in vars {
        let parsed: Value = raw.parse().unwrap_or_else(|_| Value::from(raw.clone()));
        let keep_parsed = match &parsed {
            Value::Array(..) | Value::Dict(..) => true,
            Value::Num(_, n) => {
                n.to_u128().map(|v| v.to_string()) == Some(raw.clone())
                    || n.to_i128().map(|v| v.to_string()) == Some(raw.clone())
            }
            Value::Bool(_, b) => b.to_string() == raw,
            _ => false,
        };
        let value = if keep_parsed {
            parsed
        } else {
            Value::from(raw)
        };
        figment = figment.merge(Named::new(
            format!("environment variable {key}"),
            &key,
            value,
        ));
    }
    figment
}

fn env_key_path(key: &str) -> String {
    key.trim_start_matches(ENV_PREFIX)
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(".")
}

fn file_env_value(key: &str, file: &Path) -> Result<Figment, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let value = text.trim_end_matches(['\n', '\r']).to_owned();
    let plain = key.trim_end_matches("_FILE");
    Ok(Figment::from(Named::new(
        format!("file named by environment variable {key}"),
        plain,
        value.into(),
    )))
}

/// One value at a key path, with a source name that figment's errors will quote.
struct Named {
    name: String,
    dict: figment::value::Dict,
}

impl Named {
    fn new(name: String, env_key: &str, value: figment::value::Value) -> Self {
        let dict = figment::util::nest(&env_key_path(env_key), value)
            .into_dict()
            .unwrap_or_default();
        Self { name, dict }
    }
}

impl figment::Provider for Named {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(self.name.clone())
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        Ok(figment::Profile::Default.collect(self.dict.clone()))
    }
}

/// figment's message, with the `default.` profile prefix removed from key paths.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| e.to_string().replace("\"default.", "\""))
        .collect::<Vec<_>>()
        .join("; ")
}
