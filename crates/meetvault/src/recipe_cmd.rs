//! `meetvault recipe check FILE` and `meetvault recipe list [DIR]`: validate platform recipes
//! without a server. Exit 2 when a recipe is invalid, each problem naming its line and field.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use meetvault_recipe::{Recipe, RecipeError, RecipeSet};
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum RecipeCommand {
    /// Validate one recipe file (TOML, or JSON by its `.json` extension). Exit 0 when valid,
    /// 2 with every problem (line and field) when not.
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the recipes in a directory (default ./recipes) with their hosts; exit 2 if any
    /// is invalid or two recipes clash.
    List {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command; `Ok(false)` when a recipe was invalid (already reported).
pub fn run(command: &RecipeCommand) -> anyhow::Result<bool> {
    match command {
        RecipeCommand::Check { file, json } => Ok(check(file, *json)),
        RecipeCommand::List { dir, json } => {
            list(dir.as_deref().unwrap_or(Path::new("recipes")), *json)
        }
    }
}

fn problems_json(error: &RecipeError) -> serde_json::Value {
    match error {
        RecipeError::Parse {
            line,
            column,
            message,
        } => json!([{"line": line, "column": column, "path": null, "message": message}]),
        RecipeError::Invalid(problems) => json!(
            problems
                .iter()
                .map(|p| json!({
                    "line": p.line, "column": null, "path": p.problem.path,
                    "message": p.problem.message,
                }))
                .collect::<Vec<_>>()
        ),
    }
}

fn error_lines(error: &RecipeError) -> Vec<String> {
    match error {
        RecipeError::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
        parse @ RecipeError::Parse { .. } => vec![parse.to_string()],
    }
}

fn check(file: &Path, json: bool) -> bool {
    let result = Recipe::from_path(file);
    match (&result, json) {
        (Ok(r), true) => println!(
            "{}",
            json!({"file": file, "valid": true, "name": r.name(), "version": r.file().version})
        ),
        (Ok(r), false) => println!(
            "ok: {} is a valid recipe ({} version {})",
            file.display(),
            r.name(),
            r.file().version
        ),
        (Err(e), true) => println!(
            "{}",
            json!({"file": file, "valid": false, "errors": problems_json(e)})
        ),
        (Err(e), false) => {
            for line in error_lines(e) {
                eprintln!("error: {}: {line}", file.display());
            }
        }
    }
    result.is_ok()
}

fn list(dir: &Path, json: bool) -> anyhow::Result<bool> {
    let files = meetvault_recipe::recipe_files(dir)?;
    let mut rows = Vec::new();
    let mut all_valid = true;
    for file in &files {
        match Recipe::from_path(file) {
            Ok(r) => {
                let hosts = if r.file().test_platform {
                    vec!["(test platform: origins from configuration)".to_owned()]
                } else {
                    r.file().urls.hosts.clone()
                };
                if !json {
                    println!(
                        "{:<18} v{:<3} {:<48} {}",
                        r.name(),
                        r.file().version,
                        hosts.join(", "),
                        file.display()
                    );
                }
                rows.push(json!({"file": file, "valid": true, "name": r.name(),
                    "version": r.file().version, "hosts": hosts}));
            }
            Err(e) => {
                all_valid = false;
                if !json {
                    for line in error_lines(&e) {
                        eprintln!("error: {}: {line}", file.display());
                    }
                }
                rows.push(json!({"file": file, "valid": false, "errors": problems_json(&e)}));
            }
        }
    }
    let mut clash = None;
    if all_valid && let Err(e) = RecipeSet::load_dir(dir) {
        all_valid = false;
        if !json {
            eprintln!("error: {e}");
        }
        clash = Some(e.to_string());
    }
    if json {
        println!("{}", json!({"dir": dir, "recipes": rows, "error": clash}));
    }
    Ok(all_valid)
}
