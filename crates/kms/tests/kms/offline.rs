//! What needs no server: an endpoint nobody listens on, and what `Debug` may show.

use std::time::{Duration, Instant};

use meetvault_kms::{AwsKms, KmsError};
use url::Url;

use crate::{SECRET_ACCESS_KEY, SESSION_TOKEN, context, free_port, settings};

#[tokio::test]
async fn an_endpoint_with_nothing_listening_is_unreachable_at_once() {
    let endpoint = Url::parse(&format!("http://127.0.0.1:{}", free_port())).unwrap();
    let kms = AwsKms::new(settings(&endpoint)).unwrap();

    let started = Instant::now();
    let error = kms
        .generate_data_key("alias/anything", &context(&[("vault", "v-1")]))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a refused connection must fail at once, took {:?}",
        started.elapsed()
    );
    let text = error.to_string();
    let debug = format!("{error:?}");
    assert!(matches!(error, KmsError::Unreachable(_)), "{debug}");
    assert!(
        text.contains(&format!("127.0.0.1:{}", endpoint.port().unwrap())),
        "the message names the endpoint: {text}"
    );
    for secret in [SECRET_ACCESS_KEY, SESSION_TOKEN] {
        assert!(!text.contains(secret) && !debug.contains(secret), "{debug}");
    }
}

#[test]
fn debug_never_shows_the_secret_or_the_token() {
    let endpoint = Url::parse("http://127.0.0.1:9").unwrap();
    let settings = settings(&endpoint);
    let settings_debug = format!("{settings:?}");
    let kms = AwsKms::new(settings.clone()).unwrap();
    let client_debug = format!("{kms:?} {:?}", kms.clone());
    for debug in [&settings_debug, &client_debug] {
        assert!(!debug.contains(SECRET_ACCESS_KEY), "{debug}");
        assert!(!debug.contains(SESSION_TOKEN), "{debug}");
        // Still useful: it says which endpoint and which access key.
        assert!(
            debug.contains("127.0.0.1:9") && debug.contains("AKIDEXAMPLE"),
            "{debug}"
        );
    }
}
