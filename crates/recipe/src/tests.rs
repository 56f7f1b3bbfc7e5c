//! Parsing, validation and URL matching of recipes, on the shipped recipes and on broken
//! copies of them.

use super::*;

const TESTMEET: &str = include_str!("../../../recipes/testmeet.toml");
const MEET: &str = include_str!("../../../recipes/google-meet.toml");
const TEAMS: &str = include_str!("../../../recipes/microsoft-teams.toml");
const ZOOM: &str = include_str!("../../../recipes/zoom.toml");

fn shipped() -> RecipeSet {
    RecipeSet::builtin().unwrap()
}

/// The problems of `text`, as `line: path: message` strings.
fn invalid(text: &str) -> Vec<String> {
    match Recipe::from_toml_str(text) {
        Err(RecipeError::Invalid(problems)) => problems.iter().map(ToString::to_string).collect(),
        other => panic!("expected validation problems, got {other:?}"),
    }
}

#[test]
fn the_shipped_recipes_are_valid_and_round_trip_through_json() {
    for recipe in shipped().recipes() {
        let json = recipe.to_json().to_string();
        let again = Recipe::from_json_str(&json).unwrap();
        assert_eq!(again.file(), recipe.file(), "{}", recipe.name());
    }
}

#[test]
fn unknown_fields_are_refused_with_their_line() {
    let text = TESTMEET.replace("timeout_ms = 15000", "timeout_ms = 15000\nselectr = \"x\"");
    match Recipe::from_toml_str(&text) {
        Err(e @ RecipeError::Parse { line: Some(_), .. }) => {
            let message = e.to_string();
            assert!(message.contains("selectr"), "{message}");
            assert!(message.starts_with("line "), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_step_actions_are_refused() {
    let text = TESTMEET.replace("action = \"wait_for\"", "action = \"hover\"");
    let e = Recipe::from_toml_str(&text).unwrap_err().to_string();
    assert!(e.contains("hover"), "{e}");
}

#[test]
fn empty_selectors_name_their_field_and_line() {
    let text = TESTMEET.replace("selector = \"button#join\"", "selector = \"  \"");
    let problems = invalid(&text);
    let line = TESTMEET
        .lines()
        .position(|l| l.contains("button#join"))
        .unwrap()
        + 1;
    assert_eq!(
        problems,
        [format!("line {line}: join[5].selector: must not be empty")]
    );
}

#[test]
fn timeouts_are_bounded() {
    let problems = invalid(&TESTMEET.replace("timeout_ms = 15000", "timeout_ms = 0"));
    assert!(
        problems[0].contains("join[1].timeout_ms: 0 is out of range"),
        "{problems:?}"
    );
    let problems = invalid(&TESTMEET.replace("timeout_ms = 15000", "timeout_ms = 3600000"));
    assert!(problems[0].contains("join[1].timeout_ms"), "{problems:?}");
}

#[test]
fn unbalanced_selectors_and_bad_regexes_are_refused() {
    let problems =
        invalid(&TESTMEET.replace("body[data-state='joined']", "body[data-state='joined'"));
    assert!(
        problems[0].contains("detect.admitted[0].selector") && problems[0].contains("unclosed"),
        "{problems:?}"
    );
    let problems = invalid(&TESTMEET.replace("{1,64}$", "{1,64$"));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("urls.paths[0]: not a regular expression")),
        "{problems:?}"
    );
}

#[test]
fn a_detector_needs_something_to_look_for() {
    let problems = invalid(&TESTMEET.replace(
        "denied = [{ selector = \"#notice[data-reason='denied']\" }]",
        "denied = [{}]",
    ));
    assert!(
        problems[0].contains("detect.denied[0]: needs a `selector`, a `text` or a `pattern`"),
        "{problems:?}"
    );
    let problems = invalid(&TESTMEET.replace(
        "denied = [{ selector = \"#notice[data-reason='denied']\" }]",
        "denied = []",
    ));
    assert!(problems[0].contains("detect.denied"), "{problems:?}");
}

#[test]
fn the_first_join_step_navigates() {
    let text = TESTMEET.replacen(
        "action = \"navigate\"\ntimeout_ms = 30000\n",
        "action = \"click\"\nselector = \"a\"\ntimeout_ms = 300\n",
        1,
    );
    let problems = invalid(&text);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("join[0]: the first join step must be `navigate`")),
        "{problems:?}"
    );
}

#[test]
fn chat_send_must_fill_then_send() {
    let text = TESTMEET.replace("value = \"chat_message\"", "value = \"bot_name\"");
    let problems = invalid(&text);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("chat.send[0].value: must be `chat_message` here")),
        "{problems:?}"
    );
}

#[test]
fn stream_id_mapping_needs_a_stream_id_field() {
    let text = TESTMEET.replace("stream_id = { attribute = \"data-stream-id\" }\n", "");
    let problems = invalid(&text);
    assert!(
        problems.iter().any(|p| p.contains("tracks.kind")),
        "{problems:?}"
    );
}

#[test]
fn real_platforms_name_hosts_and_test_platforms_do_not() {
    let problems = invalid(&TESTMEET.replace("hosts = []", "hosts = [\"meet.example.com\"]"));
    assert!(problems[0].contains("urls.hosts"), "{problems:?}");
    let problems =
        invalid(&MEET.replace("hosts = [\"meet.google.com\"]", "hosts = [\"10.0.0.1\"]"));
    assert!(problems[0].contains("urls.hosts[0]"), "{problems:?}");
}

#[test]
fn meeting_urls_find_their_platform() {
    let set = shipped();
    let none = TestOrigins::none();
    for (url, platform) in [
        ("https://meet.google.com/abc-defg-hij", "google-meet"),
        (
            "https://meet.google.com/abc-defg-hij?authuser=0",
            "google-meet",
        ),
        (
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=x",
            "microsoft-teams",
        ),
        (
            "https://teams.live.com/meet/9312345678901",
            "microsoft-teams",
        ),
        ("https://us02web.zoom.us/j/81234567890?pwd=abc", "zoom"),
        ("https://zoom.us/j/81234567890", "zoom"),
        ("https://app.zoom.us/wc/81234567890/join", "zoom"),
    ] {
        let (_, recipe) = set
            .match_url(url, &none)
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(recipe.name(), platform, "{url}");
    }
}

#[test]
fn look_alike_hosts_match_no_platform() {
    let set = shipped();
    for url in [
        "https://meet.google.com.evil.com/abc-defg-hij",
        "https://evilmeet.google.com/abc-defg-hij",
        "https://meet-google.com/abc-defg-hij",
        "https://evilzoom.us/j/81234567890",
        "https://zoom.us.evil.com/j/81234567890",
        "https://xn--mt-kmc.google.com/abc-defg-hij",
        "https://mеet.google.com/abc-defg-hij",
    ] {
        assert!(
            matches!(
                set.match_url(url, &TestOrigins::none()),
                Err(MeetingUrlError::UnknownHost(_))
            ),
            "{url}"
        );
    }
}

#[test]
fn a_platform_host_with_a_non_meeting_path_is_named() {
    let set = shipped();
    let e = set
        .match_url("https://meet.google.com/landing", &TestOrigins::none())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "is on google-meet but is not a meeting link (path /landing)"
    );
    for home in [
        "https://teams.microsoft.com/v2/",
        "https://zoom.us/",
        "https://meet.google.com/",
    ] {
        assert!(
            matches!(
                set.match_url(home, &TestOrigins::none()),
                Err(MeetingUrlError::NotAMeetingPath { .. })
            ),
            "{home}"
        );
    }
}

#[test]
fn test_platform_urls_match_only_on_configured_origins() {
    let set = shipped();
    let test = TestOrigins::parse(&["http://127.0.0.1:4000"]).unwrap();
    let (url, recipe) = set
        .match_url("http://127.0.0.1:4000/r/room-1?host=k", &test)
        .unwrap();
    assert_eq!(recipe.name(), "testmeet");
    assert_eq!(url.as_str(), "http://127.0.0.1:4000/r/room-1?host=k");
    assert!(matches!(
        set.match_url("http://127.0.0.1:4001/r/room-1", &test),
        Err(MeetingUrlError::PlainHttp)
    ));
    assert!(matches!(
        set.match_url("https://127.0.0.1:4000/r/room-1", &test),
        Err(MeetingUrlError::IpAddress { .. })
    ));
    assert!(matches!(
        set.match_url("http://127.0.0.1:4000/elsewhere", &test),
        Err(MeetingUrlError::NotAMeetingPath { .. })
    ));
}

#[test]
fn two_recipes_may_not_claim_one_host() {
    let copy = MEET.replace("name = \"google-meet\"", "name = \"meet-copy\"");
    let e = RecipeSet::new(vec![
        Recipe::from_toml_str(MEET).unwrap(),
        Recipe::from_toml_str(&copy).unwrap(),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("meet.google.com"), "{e}");
}

#[test]
fn a_directory_loads_and_a_bad_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("testmeet.toml"), TESTMEET).unwrap();
    std::fs::write(
        dir.path().join("zoom.json"),
        Recipe::from_toml_str(ZOOM).unwrap().to_json().to_string(),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a recipe").unwrap();
    let set = RecipeSet::load_dir(dir.path()).unwrap();
    let names: Vec<_> = set.recipes().iter().map(Recipe::name).collect();
    assert_eq!(names, ["testmeet", "zoom"]);
    std::fs::write(dir.path().join("broken.toml"), "name = 3").unwrap();
    let e = RecipeSet::load_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("broken.toml"), "{e}");
}

#[test]
fn every_recipe_file_in_the_repository_is_built_in() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../recipes");
    let files: Vec<String> = recipe_files(std::path::Path::new(dir))
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let builtin: Vec<&str> = BUILTIN.iter().map(|(name, _)| *name).collect();
    assert_eq!(files, builtin, "add the new recipe to set::BUILTIN");
    let names: Vec<_> = shipped()
        .recipes()
        .iter()
        .map(|r| r.name().to_owned())
        .collect();
    assert_eq!(
        names,
        ["google-meet", "microsoft-teams", "testmeet", "zoom"]
    );
    for text in [TESTMEET, MEET, TEAMS] {
        assert!(BUILTIN.iter().any(|(_, t)| *t == text));
    }
}

#[test]
fn a_recipe_directory_fixes_a_built_in_recipe_and_adds_platforms() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = ZOOM.replace("version = 1", "version = 2");
    assert_ne!(fixed, ZOOM, "the zoom recipe names its version");
    std::fs::write(dir.path().join("zoom.toml"), &fixed).unwrap();
    let other = TESTMEET.replace("name = \"testmeet\"", "name = \"othermeet\"");
    std::fs::write(dir.path().join("othermeet.toml"), other).unwrap();
    let set = RecipeSet::builtin_and_dir(Some(dir.path())).unwrap();
    assert_eq!(set.get("zoom").unwrap().file().version, 2);
    assert!(set.get("othermeet").is_some());
    assert_eq!(set.recipes().len(), 5);
    assert_eq!(RecipeSet::builtin_and_dir(None).unwrap().recipes().len(), 4);
    std::fs::write(dir.path().join("bad.toml"), "name = 3").unwrap();
    let e = RecipeSet::builtin_and_dir(Some(dir.path())).unwrap_err();
    assert!(e.to_string().contains("bad.toml"), "{e}");
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/recipe.schema.json");
    let generated = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/recipe.schema.json differs from the types: run `UPDATE_SNAPSHOTS=1 cargo test -p \
         meetvault-recipe` and commit it"
    );
}

#[test]
fn the_schema_refuses_unknown_fields_and_lists_step_actions() {
    let schema = json_schema();
    assert_eq!(schema["additionalProperties"], false);
    let text = schema.to_string();
    for action in [
        "navigate",
        "wait_for",
        "fill",
        "click",
        "click_if_present",
        "toggle_off",
        "press",
    ] {
        assert!(text.contains(&format!("\"{action}\"")), "{action}");
    }
}

/// Everything the testmeet recipe compiles to, in one text: the prelude once, then each
/// expression with the prelude elided.
fn testmeet_scripts() -> String {
    let recipe = Recipe::from_toml_str(TESTMEET).unwrap();
    let elide = |e: &str| e.replace(js::PRELUDE, "/* prelude */");
    let mut out = format!(
        "// prelude (every expression starts with it)\n{}\n",
        js::PRELUDE
    );
    for kind in DetectorKind::ALL {
        out += &format!(
            "\n// detect {}\n{}\n",
            kind.as_str(),
            elide(&recipe.detector_js(kind))
        );
    }
    out += &format!(
        "\n// chat messages\n{}\n",
        elide(&recipe.chat_messages_js())
    );
    out += &format!("\n// participants\n{}\n", elide(&recipe.participants_js()));
    let steps = recipe
        .join_steps("Recorder")
        .into_iter()
        .map(|s| ("join", s))
        .chain(
            recipe
                .chat_send_steps("hello")
                .into_iter()
                .map(|s| ("chat send", s)),
        );
    for (i, (what, step)) in steps.enumerate() {
        out += &format!(
            "\n// step {i} ({what}): navigate={} key={:?} timeout={:?} optional={}\n{}\n",
            step.navigate,
            step.key,
            step.timeout,
            step.optional,
            step.expression.as_deref().map(elide).unwrap_or_default()
        );
    }
    out
}

#[test]
fn the_testmeet_scripts_match_their_snapshot() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/testmeet.js");
    let generated = testmeet_scripts();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "the generated page scripts changed (first difference at line {}): review it, then \
             run `UPDATE_SNAPSHOTS=1 cargo test -p meetvault-recipe --lib` and commit \
             tests/snapshots/testmeet.js",
            first + 1
        );
    }
}

#[test]
fn hostile_strings_enter_scripts_only_as_json_literals() {
    let hostile = "\"; alert(1); \"\u{2028}</script>";
    let js = js::detector(&[Matcher {
        selector: Some(hostile.into()),
        text: Some(hostile.into()),
        pattern: None,
    }]);
    assert!(!js.contains("\"; alert(1); \""), "{js}");
    assert!(js.contains(r#"\"; alert(1); \"\u2028</script>"#), "{js}");
    let recipe = Recipe::from_toml_str(TESTMEET).unwrap();
    let steps = recipe.join_steps(hostile);
    let fill = steps[2].expression.as_deref().unwrap();
    assert!(
        fill.contains(r#"const value = "\"; alert(1); \"\u2028</script>";"#),
        "{fill}"
    );
}
